#pragma once

#include <schsim/core/verdict.hpp>
#include <schsim/reports/matrix.hpp>

#include <string>
#include <vector>

/**
 * @file
 * @brief `schsim merge`: shard outputs (`--shard I/N`) back into the run one process would have
 * made. Pure functions over run results: the directory reading is the CLI's.
 */
namespace schsim::reports {

/// One shard's run and where it came from (a directory, for messages).
struct shard_run {
  std::string source;
  verdict::run_result run;
};

/**
 * @brief The unsharded run the shards add up to: its cases in the unsharded order (the plan's
 * scenario order, repetitions together), the earliest start, the shards' common command line.
 *
 * A run without shard information counts as shard 1/1 of its own scenarios. Throws
 * std::invalid_argument naming the inputs when the shards do not add up: different shard counts,
 * plans (scenario selections), schsim versions or command lines; a shard number given twice or
 * missing; a scenario in two shards, in none, or in a shard it was not assigned to.
 */
auto merge_shard_runs(const std::vector<shard_run>& shards) -> verdict::run_result;

/// One `schsim matrix` output directory: each client's run, in matrix order.
struct matrix_shard {
  std::string source;
  std::vector<matrix_input> clients;
};

/**
 * @brief Each client's merged run, clients in the order they first appear in `shards`. Every
 * client's shards go through merge_shard_runs, and every client must have run the same plan.
 * Throws std::invalid_argument as merge_shard_runs does.
 */
auto merge_matrix_shards(const std::vector<matrix_shard>& shards) -> std::vector<matrix_input>;

}  // namespace schsim::reports
