#pragma once
// What `run`, `suite` and `matrix` share: loading the built-in scenarios and running cases with
// progress, summary and reports.

#include <schsim/core/verdict.hpp>
#include <schsim/harness/suite.hpp>
#include <schsim/reports/matrix.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::app {

/// Defined in cmd_run.cpp: runs the cases, prints progress and summary, writes the reports to
/// `out_dir` and returns the exit code. `result_out`, when set, receives the run.
/// `shard`, when set, is stamped into the run (its reports then say which part they hold).
auto execute_cases(const std::vector<harness::suite_case>& cases, harness::suite_options options,
                   const std::string& out_dir, bool verbose, const std::string& command_line,
                   verdict::run_result* result_out = nullptr,
                   const verdict::shard_info* shard = nullptr) -> int;

/// Defined in cmd_run.cpp: the exit code of a run of these cases (docs/reports.md): a bad driver
/// beats a schsim bug, which beats a crash or hang, a failure, then unsupported.
auto run_exit_code(const std::vector<verdict::case_result>& results) -> int;

/// Defined in cmd_suite.cpp: with `shard_arg` ("I/N", empty: no sharding), keeps only that
/// shard's cases (harness/shard.hpp) and sets `shard`, printing the split. Prints what went
/// wrong under `command` and returns usage_error, or ok.
auto apply_shard(const std::string& shard_arg, std::string_view command,
                 std::vector<harness::suite_case>& cases, std::optional<verdict::shard_info>& shard)
    -> int;

/// Defined in cmd_suite.cpp: with `profile_name` "legacy" (harness/profile.hpp), replaces the
/// cases by their legacy form and drops the scenarios that make no sense without SCH, printing
/// each with its reason; "sch" keeps them as written. Prints what went wrong under `command` and
/// returns usage_error (an unknown profile, or no case left), or ok.
auto apply_profile(const std::string& profile_name, std::string_view command,
                   std::vector<harness::suite_case>& cases) -> int;

/// Defined in cmd_matrix.cpp: reads the baseline `path` (none when empty; a missing file is fine
/// when `update`) into `base`; prints what is wrong under `command` and returns usage_error, or
/// ok.
auto load_baseline(const std::string& path, bool update, std::string_view command,
                   reports::baseline& base) -> int;

/// Where and how a matrix ends: its directory, and the baseline it is held to or rewrites.
struct matrix_outcome {
  std::string command;  ///< for messages: "schsim matrix" or "schsim merge"
  std::string out;
  std::string baseline;
  bool update_baseline = false;
  std::optional<verdict::shard_info> shard;
};

/// Defined in cmd_matrix.cpp: builds the matrix of `runs` (each client's reports already
/// written under `outcome.out`), writes matrix.json, matrix.xml and index.html, prints the
/// summary and the cells that differ from `base`, and returns the matrix's exit code.
auto finish_matrix(const std::vector<reports::matrix_input>& runs, const std::string& command_line,
                   const matrix_outcome& outcome, const reports::baseline& base) -> int;

/// Default cases at once for `suite` and `matrix`: twice the cores (2 to 16). A case spends
/// nearly all its time waiting on its scenario's timers (the built-in suite against the
/// reference client: 151 s of wall time for 6 s of CPU at -j 1), so cores / 2 left
/// both cores idle; verdicts held over 10 repeats at -j 4 on 2 cores (bench/RESULTS.md).
auto default_case_jobs() -> int;

/// Defined in cmd_suite.cpp: the scenarios in `dir` (empty: the built-in ones) that match
/// `filters`, in file order. Prints what went wrong under `command` and returns usage_error, or
/// ok.
auto load_suite_cases(const std::string& dir, const std::vector<std::string>& filters,
                      const std::string& command, std::vector<harness::suite_case>& cases) -> int;

}  // namespace schsim::app
