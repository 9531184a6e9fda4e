#include <schsim/core/scenario/limits.hpp>
#include <schsim/harness/workload.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>

namespace schsim::harness {

namespace {

auto upper(std::string s) -> std::string {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

/// Everything that carries an id embeds it as "<marker><id>" so the server's record can be
/// matched without parsing the key layout.
constexpr std::string_view ctr_marker = "ctr:";
constexpr std::string_view value_marker = "v";
constexpr std::string_view ping_marker = "ping:";

auto make_args(std::string_view command, std::uint64_t id, const scenario::workload& w,
               std::mt19937_64& rng) -> std::vector<std::string> {
  const std::uint64_t keys = std::max<std::uint64_t>(w.keys, 1);
  const auto shared_key = [&] { return w.key_prefix + "key:" + std::to_string(rng() % keys); };
  const std::string name = upper(std::string(command));
  if (name == "INCR") {
    return {name, w.key_prefix + std::string(ctr_marker) + std::to_string(id)};
  }
  if (name == "SET") {
    std::string value = std::string(value_marker) + std::to_string(id) + ":";
    if (value.size() < w.value_size) {
      value.append(w.value_size - value.size(), 'x');
    }
    return {name, shared_key(), value};
  }
  if (name == "PING") {
    return {name, w.key_prefix + std::string(ping_marker) + std::to_string(id)};
  }
  return {name, shared_key()};
}

}  // namespace

auto make_schedule(const scenario::workload& w, std::chrono::milliseconds run_length,
                   std::uint64_t seed) -> std::vector<scheduled_command> {
  using std::chrono::nanoseconds;
  std::mt19937_64 rng(seed);
  const std::chrono::milliseconds length =
      w.duration ? std::min(*w.duration, run_length) : run_length;
  const auto end = nanoseconds(length);

  std::vector<scheduled_command> out;
  std::uint64_t total_weight = 0;
  for (const auto& m : w.mix) {
    total_weight += m.weight;
  }
  if (w.rate > 0 && total_weight > 0) {
    const auto step = nanoseconds(static_cast<std::int64_t>(1e9 / w.rate));
    for (nanoseconds t = step; t < end && out.size() < scenario::limits::max_commands_per_run;
         t += step) {
      // A hand-rolled weighted pick: std distributions differ between standard libraries, and
      // the same seed must give the same schedule everywhere.
      std::uint64_t pick = rng() % total_weight;
      std::string_view command = w.mix.front().command;
      for (const auto& m : w.mix) {
        if (pick < m.weight) {
          command = m.command;
          break;
        }
        pick -= m.weight;
      }
      out.push_back({0, make_args(command, 0, w, rng), t, "load"});
    }
  }
  if (w.probe && w.probe->interval.count() > 0) {
    for (nanoseconds t = w.probe->interval;
         t < end && out.size() < scenario::limits::max_commands_per_run; t += w.probe->interval) {
      out.push_back({0, make_args(w.probe->command, 0, w, rng), t, "probe"});
    }
  }
  std::stable_sort(
      out.begin(), out.end(),
      [](const scheduled_command& a, const scheduled_command& b) { return a.offset < b.offset; });
  // Ids follow intended time, then the id-carrying arguments are rebuilt with the final id.
  std::uint64_t id = 0;
  for (auto& c : out) {
    c.id = ++id;
    const std::string name = c.args.front();
    if (name == "INCR") {
      c.args[1] = w.key_prefix + std::string(ctr_marker) + std::to_string(c.id);
    } else if (name == "SET") {
      std::string value = std::string(value_marker) + std::to_string(c.id) + ":";
      if (value.size() < w.value_size) {
        value.append(w.value_size - value.size(), 'x');
      }
      c.args[2] = value;
    } else if (name == "PING") {
      c.args[1] = w.key_prefix + std::string(ping_marker) + std::to_string(c.id);
    }
  }
  return out;
}

auto command_identity(const std::vector<std::string>& args) -> std::optional<std::string> {
  if (args.size() < 2) {
    return std::nullopt;
  }
  const std::string name = upper(args[0]);
  if (name == "INCR") {
    const auto pos = args[1].rfind(ctr_marker);
    if (pos != std::string::npos) {
      return "incr:" + args[1].substr(pos + ctr_marker.size());
    }
  } else if (name == "SET" && args.size() >= 3) {
    const auto colon = args[2].find(':');
    if (args[2].rfind(value_marker, 0) == 0 && colon != std::string::npos) {
      return "set:" + args[2].substr(value_marker.size(), colon - value_marker.size());
    }
  } else if (name == "PING") {
    const auto pos = args[1].rfind(ping_marker);
    if (pos != std::string::npos) {
      return "ping:" + args[1].substr(pos + ping_marker.size());
    }
  }
  return std::nullopt;
}

auto workload_channels(const scenario::workload& w) -> std::vector<std::string> {
  std::vector<std::string> out;
  if (w.pubsub) {
    for (std::uint32_t i = 0; i < w.pubsub->channels; ++i) {
      out.push_back(fmt::format("{}chan:{}", w.key_prefix, i));
    }
  }
  return out;
}

auto workload_subscription(const scenario::workload& w) -> std::vector<std::string> {
  if (w.pubsub && w.pubsub->kind == scenario::subscribe_kind::pattern) {
    return {w.key_prefix + "chan:*"};
  }
  return workload_channels(w);
}

auto workload_blocking_keys(const scenario::workload& w) -> std::vector<std::string> {
  std::vector<std::string> out;
  if (w.blocking) {
    for (std::uint32_t i = 0; i < w.blocking->keys; ++i) {
      out.push_back(fmt::format("{}{{blk}}:{}", w.key_prefix, i));
    }
  }
  return out;
}

auto transaction_key(const scenario::workload& w, std::uint64_t id, std::uint32_t i)
    -> std::string {
  return fmt::format("{}tx:{{{}}}:k{}", w.key_prefix, id, i);
}

auto make_transaction_schedule(const scenario::workload& w, std::chrono::milliseconds run_length)
    -> std::vector<scheduled_transaction> {
  std::vector<scheduled_transaction> out;
  if (!w.transactions || w.transactions->rate <= 0) {
    return out;
  }
  const auto& t = *w.transactions;
  const std::chrono::nanoseconds end(w.duration ? std::min(*w.duration, run_length) : run_length);
  // Bounded like the commands: a scenario built in code is never validated.
  const auto most = scenario::limits::max_commands_per_run / (t.size + 3);
  for (std::uint64_t n = 1; out.size() < most; ++n) {
    const std::chrono::nanoseconds offset(
        static_cast<std::int64_t>(static_cast<double>(n) * 1e9 / t.rate));
    if (offset >= end) {
      break;
    }
    scheduled_transaction tx{n, {}, {}, offset};
    for (std::uint32_t i = 1; i <= t.size; ++i) {
      auto key = transaction_key(w, n, i);
      if (t.watch) {
        tx.watch.push_back(key);
      }
      tx.commands.push_back({"INCR", std::move(key)});
    }
    out.push_back(std::move(tx));
  }
  return out;
}

auto parse_transaction_key(std::string_view key) -> std::optional<transaction_key_parts> {
  // The marker is searched from the end: the prefix is the scenario's and may hold anything.
  constexpr std::string_view marker = "tx:{";
  const auto at = key.rfind(marker);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  auto rest = key.substr(at + marker.size());
  transaction_key_parts parts;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), parts.id);
  rest.remove_prefix(static_cast<std::size_t>(p - rest.data()));
  if (ec != std::errc{} || !rest.starts_with("}:k")) {
    return std::nullopt;
  }
  rest.remove_prefix(3);
  auto [q, ec2] = std::from_chars(rest.data(), rest.data() + rest.size(), parts.index);
  if (ec2 != std::errc{} || q != rest.data() + rest.size()) {
    return std::nullopt;
  }
  return parts;
}

}  // namespace schsim::harness
