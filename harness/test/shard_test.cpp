#include <schsim/harness/shard.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace shard_test {
namespace {

using namespace schsim;

TEST(Shard, ParsesIOverN) {
  EXPECT_EQ(harness::parse_shard("2/3"), (harness::shard_spec{2, 3}));
  EXPECT_EQ(harness::parse_shard("1/1"), (harness::shard_spec{1, 1}));
  for (const auto* bad : {"0/3", "4/3", "3", "a/3", "1/", "/3", "1/0", "1/3x", "-1/3", "1/1001"}) {
    EXPECT_THROW(harness::parse_shard(bad), std::invalid_argument) << bad;
  }
}

TEST(Shard, LongestFirstToTheLightestShardTiesByName) {
  // Sorted: f 6000, a 5000, b 5000, c 2500, d 2500, e 2500 (ties by id).
  // f -> 1; a -> 2; b -> 3; c -> 2 (5000 < 6000, lowest of 2 and 3); d -> 3; e -> 1.
  const std::vector<harness::shard_item> items{{"a", 5000}, {"b", 5000}, {"c", 2500},
                                               {"d", 2500}, {"e", 2500}, {"f", 6000}};
  EXPECT_EQ(harness::assign_shards(items, 3), (std::vector<int>{2, 3, 2, 3, 1, 1}));
  // The input order does not matter, only ids and durations.
  std::vector<harness::shard_item> reversed(items.rbegin(), items.rend());
  EXPECT_EQ(harness::assign_shards(reversed, 3), (std::vector<int>{1, 1, 3, 2, 3, 2}));
  EXPECT_EQ(harness::assign_shards(items, 1), (std::vector<int>(6, 1)));
  // More shards than scenarios: some shards are empty, each scenario still in exactly one.
  EXPECT_EQ(harness::assign_shards({{"x", 1}, {"y", 1}}, 4), (std::vector<int>{1, 2}));
}

TEST(Shard, EveryCaseInExactlyOneShardAndTheLoadsBalanced) {
  std::vector<harness::suite_case> cases;
  for (int i = 0; i < 40; ++i) {
    harness::suite_case c;
    c.scn.meta.id = "s" + std::to_string(i);
    c.scn.duration = std::chrono::milliseconds(2000 + 500 * (i % 9));
    cases.push_back(std::move(c));
  }
  std::vector<std::string> seen;
  std::vector<std::int64_t> loads;
  for (int i = 1; i <= 3; ++i) {
    const auto part = harness::select_shard(cases, {i, 3});
    std::int64_t load = 0;
    std::string previous;
    for (const auto& c : part) {
      seen.push_back(c.scn.meta.id);
      load += c.scn.duration.count();
    }
    loads.push_back(load);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen.size(), cases.size());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
  // LPT's bound: no shard exceeds the lightest by more than the longest scenario (6 s).
  EXPECT_LE(
      *std::max_element(loads.begin(), loads.end()) - *std::min_element(loads.begin(), loads.end()),
      6000);
}

}  // namespace
}  // namespace shard_test
