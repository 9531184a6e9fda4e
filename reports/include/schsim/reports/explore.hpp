#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

/**
 * @file
 * @brief `schsim explore`'s summary page: how many generated cases ran, and for each failure
 * the minimal scenario it shrank to, whether it is deterministic or a race, and links to the
 * case pages of the original and the minimal run.
 *
 * Plain data in, one self-contained HTML page out (no script, no network), tested with
 * hand-made summaries.
 */
namespace schsim::reports {

struct explore_failure {
  std::string case_id;  ///< the generated case, e.g. "explore-7-12"
  std::string outcome;  ///< failed, crashed or hung
  std::string check;    ///< the check that failed (empty for a crash or hang)
  /// The rules the check's findings broke (check_result::violations); the minimal scenario
  /// breaks at least one of them again.
  std::vector<std::string> violations;
  std::string summary;  ///< the check's (or the outcome's) one-line summary
  std::size_t original_steps = 0;
  std::size_t minimal_steps = 0;
  std::size_t shrink_attempts = 0;
  bool shrink_budget_exhausted = false;
  std::vector<std::string> changes;  ///< accepted simplifications, in order
  /// "deterministic" or "race", from `confirmed` of `confirm_runs` runs of the minimal file.
  std::string classification;
  std::size_t confirmed = 0;
  std::size_t confirm_runs = 0;
  std::string original_file;  ///< relative to the summary page
  std::string minimal_file;   ///< relative to the summary page
  std::string minimal_toml;   ///< the minimal scenario's text, shown on the page
  std::string original_page;  ///< case page of the original failing run, relative
  std::string minimal_page;   ///< case page of a failing run of the minimal scenario, relative
  std::string reproduce;      ///< the command that reproduces it
  /// Other failing cases not shrunk: the same kind of failure, or (without --keep-going) any
  /// case that failed while the first failure stopped the exploration.
  std::vector<std::string> same_failure_cases;
};

struct explore_summary {
  std::string schsim_version;
  std::string started_at;
  std::string command_line;
  std::string client;
  std::uint64_t seed = 0;
  std::string profile;
  std::string stopped_because;  ///< "first failure", "budget 10m spent", "500 cases run", ...
  std::size_t cases_run = 0;
  std::size_t passed = 0;
  std::size_t unsupported = 0;
  std::size_t failed = 0;  ///< cases that failed, crashed or hung
  double explore_seconds = 0;
  double shrink_seconds = 0;
  std::vector<explore_failure> failures;
};

auto to_html_explore(const explore_summary& s) -> std::string;

}  // namespace schsim::reports
