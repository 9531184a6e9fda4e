#include <schsim/harness/shard.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <numeric>
#include <stdexcept>

namespace schsim::harness {

namespace {

constexpr int max_shards = 1000;

auto parse_int(std::string_view text, int& value) -> bool {
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc{} && ptr == end && !text.empty();
}

}  // namespace

auto parse_shard(std::string_view text) -> shard_spec {
  const auto slash = text.find('/');
  shard_spec s;
  if (slash == std::string_view::npos || !parse_int(text.substr(0, slash), s.index) ||
      !parse_int(text.substr(slash + 1), s.count)) {
    throw std::invalid_argument(
        fmt::format("--shard {}: expected I/N, e.g. 2/3 for the second of three shards", text));
  }
  if (s.count < 1 || s.count > max_shards || s.index < 1 || s.index > s.count) {
    throw std::invalid_argument(fmt::format(
        "--shard {}: need 1 <= I <= N <= {} (shards are numbered from 1)", text, max_shards));
  }
  return s;
}

auto assign_shards(const std::vector<shard_item>& items, int count) -> std::vector<int> {
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (items[a].duration_ms != items[b].duration_ms) {
      return items[a].duration_ms > items[b].duration_ms;
    }
    return items[a].id < items[b].id;
  });
  std::vector<std::int64_t> load(static_cast<std::size_t>(std::max(count, 1)), 0);
  std::vector<int> shard_of(items.size(), 1);
  for (const auto i : order) {
    // min_element returns the first of equal loads: the lowest shard number.
    const auto lightest = std::min_element(load.begin(), load.end());
    *lightest += items[i].duration_ms;
    shard_of[i] = static_cast<int>(lightest - load.begin()) + 1;
  }
  return shard_of;
}

auto select_shard(const std::vector<suite_case>& cases, shard_spec shard)
    -> std::vector<suite_case> {
  std::vector<shard_item> items;
  items.reserve(cases.size());
  for (const auto& c : cases) {
    items.push_back({c.scn.meta.id, c.scn.duration.count()});
  }
  const auto shard_of = assign_shards(items, shard.count);
  std::vector<suite_case> selected;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (shard_of[i] == shard.index) {
      selected.push_back(cases[i]);
    }
  }
  return selected;
}

}  // namespace schsim::harness
