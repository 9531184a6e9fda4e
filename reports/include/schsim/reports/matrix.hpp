#pragma once

#include <schsim/core/verdict.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/**
 * @file
 * @brief `schsim matrix`: many clients x the suite, its reports, and the baseline it is held to.
 *
 * Pure functions over run results, so the comparison and every format are tested without I/O.
 */
namespace schsim::reports {

/// One client's suite run, under the name the user gave it (also its report directory).
struct matrix_input {
  std::string name;
  verdict::run_result run;
};

/// One client x scenario: the worst outcome over its repetitions.
struct matrix_cell {
  std::string verdict;  ///< pass, fail, unsupported, crashed, hung or error
  std::vector<std::string> failed_checks;
  /// "check: summary" for each failed check, so a console line or CI log says why without the
  /// case page (which a CI run does not keep).
  std::vector<std::string> failure_summaries;
  std::string detail;  ///< the case's one-line outcome detail
  std::string link;    ///< the case page, relative to the matrix directory
};

struct matrix_client {
  std::string name;     ///< as given on the command line, e.g. "go-redis"
  std::string library;  ///< from the driver's hello
  std::string version;  ///< from the driver's hello
};

struct matrix_result {
  std::string schsim_version;
  std::string started_at;
  std::string command_line;
  std::vector<matrix_client> clients;
  std::vector<std::string> scenarios;
  std::vector<std::vector<matrix_cell>> cells;  ///< [client][scenario]; verdict empty = not run
  /// Set for a `--shard I/N` run: which part of the scenarios this matrix holds.
  std::optional<verdict::shard_info> shard;
};

/// The directory (under the matrix directory) a client's suite reports go to.
auto client_dir_name(std::string_view client) -> std::string;

/// The short verdict for a case outcome: passed -> "pass", failed -> "fail", ...
auto cell_verdict(verdict::case_outcome o) -> std::string;

auto build_matrix(const std::vector<matrix_input>& runs) -> matrix_result;
auto to_matrix_json(const matrix_result& m) -> std::string;
/// JUnit XML: one testsuite per client, one testcase per scenario.
auto to_matrix_junit(const matrix_result& m) -> std::string;
/// Self-contained HTML: clients x scenarios, each cell linking to its case page.
auto to_matrix_html(const matrix_result& m) -> std::string;

/// The verdict a cell is expected to have; `reason` is required for anything but pass.
struct baseline_entry {
  std::string verdict;
  std::string reason;
  /// Other verdicts the cell may have: a client whose outcome depends on a race of its own
  /// (`"expected": ["fail", "pass"]` in the file). Such an entry needs a reason even when it
  /// allows "pass", so nobody mistakes a known race for a stable result.
  std::vector<std::string> also{};

  /// Whether `actual` is one of the verdicts this entry allows.
  [[nodiscard]] auto allows(std::string_view actual) const -> bool;
  /// "fail", or "fail or pass" for an entry with alternatives.
  [[nodiscard]] auto describe_expected() const -> std::string;
};

/// client -> scenario -> expectation.
using baseline = std::map<std::string, std::map<std::string, baseline_entry>>;

/// Reads a baseline file's JSON text. Throws std::invalid_argument naming the bad entry (an
/// unknown verdict, or a non-pass without a reason).
auto parse_baseline(std::string_view text) -> baseline;
auto to_baseline_json(const baseline& b) -> std::string;

struct baseline_difference {
  std::string client;
  std::string scenario;
  std::string expected;  ///< empty when the baseline has no entry for the cell
  std::string actual;
  std::string reason;    ///< the baseline's reason for the expectation
  std::string observed;  ///< why this run's cell got its verdict: detail and failed checks
};

/// One line for the console, e.g. "go-redis / moving-x: expected fail, got pass (fixed?)".
auto describe(const baseline_difference& d) -> std::string;

/// The cells that ran and differ from the baseline (cells the run skipped are not compared,
/// so a --filter run can still be held to the full baseline).
auto compare_to_baseline(const matrix_result& m, const baseline& b)
    -> std::vector<baseline_difference>;

/// The reason updated_baseline gives a new or changed non-pass cell, so that someone looks at it
/// before the baseline is committed (a changed cell's old reason follows it in parentheses).
inline constexpr std::string_view unexplained_reason = "TODO: explain";

/// The baseline `m` implies: reasons kept where the verdict is unchanged, unexplained_reason for
/// new non-pass cells; entries for cells that did not run are kept as they were.
auto updated_baseline(const matrix_result& m, const baseline& old) -> baseline;

}  // namespace schsim::reports
