#pragma once

#include <schsim/harness/suite.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

/**
 * @file
 * @brief `--shard I/N`: a deterministic split of a suite's scenarios over N workers, balanced by
 * the scenarios' declared durations, so CI can fan a suite or matrix out and merge the results.
 *
 * The split is longest-processing-time-first (LPT) greedy: scenarios sorted by declared
 * `duration`, longest first, ties broken by id (ascending); each goes to the shard with the least
 * total duration so far, ties to the lowest shard number. It depends only on the ids and
 * durations of the whole selection, so every worker computes the same split without talking to
 * the others. Every scenario lands in exactly one shard; a shard may be empty when N exceeds the
 * number of scenarios. Repetitions (`--repeat`) of a scenario stay in its shard.
 */
namespace schsim::harness {

/// Shard `index` (1-based) of `count`.
struct shard_spec {
  int index = 1;
  int count = 1;
  friend auto operator==(const shard_spec&, const shard_spec&) -> bool = default;
};

/// Parses "I/N" (1 <= I <= N <= 1000). Throws std::invalid_argument saying what is wrong.
auto parse_shard(std::string_view text) -> shard_spec;

/// One scenario as the split sees it.
struct shard_item {
  std::string id;
  std::int64_t duration_ms = 0;
};

/// The shard (1-based) of each item, in input order, by the LPT rule above. `count` >= 1.
auto assign_shards(const std::vector<shard_item>& items, int count) -> std::vector<int>;

/// The cases of shard `shard`, in their input order.
auto select_shard(const std::vector<suite_case>& cases, shard_spec shard)
    -> std::vector<suite_case>;

}  // namespace schsim::harness
