#pragma once

#include <schsim/core/timeline/event.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/**
 * @file
 * @brief What a run of the harness concluded: the model every report renders.
 *
 * The harness fills it (checks are pure functions over the timeline and the driver's results);
 * reports only read it, so report formats can be tested with hand-made verdicts and no I/O.
 */
namespace schsim::verdict {

/// The result of one check.
enum class status {
  pass,
  fail,
  unsupported,  ///< the client lacks a capability the check needs; never counted as a failure
  skipped,      ///< the check does not apply to this scenario
  /// The check applies but the run gave it nothing to judge (e.g. no MOVING reached an opted-in
  /// connection); never a pass. Critical: the case is inconclusive.
  not_judged,
};

auto to_string(status s) -> std::string_view;
auto parse_status(std::string_view s) -> std::optional<status>;

/// A measured number, e.g. {"reconnect_after_ms", 2003.1, "ms"}.
struct figure {
  std::string name;
  double value = 0.0;
  std::string unit;
  friend auto operator==(const figure&, const figure&) -> bool = default;
};

/// The band a figure had to fall in: [low, high) where set, e.g. "timeout in [T, 1.2T)".
struct tolerance {
  std::string name;  ///< the figure it applies to
  std::optional<double> low;
  std::optional<double> high;
  std::string unit;
  std::string rule;  ///< how the band was derived, e.g. "[T, 1.2T) with T = 500 ms"
  friend auto operator==(const tolerance&, const tolerance&) -> bool = default;
};

/// True when `value` is in [low, high) (an unset bound is open).
auto within(const tolerance& band, double value) -> bool;

/// The result of one check on one case, with the evidence that decided it.
struct check_result {
  std::string id;       ///< stable id, e.g. "zero_dropped"
  std::string meaning;  ///< one line: what passing means
  status outcome = status::skipped;
  std::string summary;  ///< one line: why it passed or failed
  std::vector<std::string>
      findings;  ///< individual violations or observations, most important first
  /// The rules the findings broke, each once, as stable ids ("normal.timed_out_late"): what
  /// makes two failures of one check the same finding (schsim explore's shrinker keeps it).
  std::vector<std::string> violations;
  std::vector<figure> figures;
  std::vector<tolerance> tolerances;
  std::vector<timeline::event> excerpt;  ///< the server-side events that decided it
  bool critical = true;  ///< a non-critical failure is reported but does not fail the run
};

/// Records one violation: its text in `findings` and its rule id in `violations` (once).
void add_finding(check_result& r, std::string_view rule, std::string text);

/// One command the workload issued and what became of it (from the driver's `result`).
struct command_outcome {
  std::uint64_t id = 0;
  std::vector<std::string> args;
  std::string purpose;           ///< "load", "probe-relaxed", "probe-normal", ...
  std::int64_t intended_ns = 0;  ///< when the open-loop schedule meant it to start
  std::int64_t issued_ns = 0;    ///< when the harness wrote it to the driver
  std::int64_t sent_ns = 0;      ///< when the driver handed it to the client library
  std::int64_t done_ns = 0;      ///< when the library completed it; 0 when no result came
  bool completed = false;        ///< a result arrived
  bool ok = false;
  std::string reply;
  std::string error_class;  ///< the driver's class: timeout, connection, server, ...
  std::string message;
};

/// A shaded interval in the timeline (a maintenance window, a reply stall, a handoff grace).
struct window {
  std::string kind;   ///< "maintenance", "moving", "stall", "latency", "event"
  std::string label;  ///< e.g. "MIGRATING seq 3 .. MIGRATED seq 4"
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::string endpoint;  ///< endpoint it applies to; empty for all
};

/// What the client under test said about itself (the driver's `hello`).
struct client_info {
  std::string name;     ///< what the user asked for, e.g. "reference" or the command line
  std::string library;  ///< the driver's `client`, e.g. "node-redis"
  std::string version;
  std::string language;
  std::vector<std::string> capabilities;
  std::string reply_timeout;  ///< "command", "socket_idle" or "none"
  std::string command;        ///< the command line that ran the driver
};

/// How the driver process ended.
struct process_exit {
  bool started = false;
  std::optional<int> exit_code;
  std::optional<int> signal;
  bool killed_by_watchdog = false;
  std::string stderr_tail;
};

/// The outcome of one case (one scenario, one client, one repetition).
enum class case_outcome {
  passed,
  failed,       ///< a critical check failed
  unsupported,  ///< the client lacks what the scenario needs
  crashed,      ///< the driver died before `bye`
  hung,         ///< the watchdog ended the driver
  error,        ///< the harness could not run the case (bad scenario, port, ...)
  /// The scenario did not run as written (steps never ran, or a critical check had nothing to
  /// judge): the client was not shown conformant, so never a pass.
  inconclusive,
};

auto to_string(case_outcome o) -> std::string_view;
auto parse_case_outcome(std::string_view s) -> std::optional<case_outcome>;

/// A named endpoint of the simulated deployment, for labelling lanes.
struct endpoint_ref {
  std::string name;
  std::string address;  ///< host:port
};

struct case_result {
  std::string scenario_id;
  std::string title;
  std::string description;
  std::vector<std::string> tags;
  std::string scenario_file;
  int repetition = 0;  ///< 0-based, for --repeat
  std::uint64_t seed = 0;
  client_info client;
  case_outcome outcome = case_outcome::error;
  std::string outcome_detail;  ///< one line, e.g. "driver exited with status 1 before bye"
  std::int64_t start_ns = 0;   ///< the run's time origin (all plots are relative to it)
  std::int64_t end_ns = 0;
  std::vector<endpoint_ref> endpoints;
  std::vector<check_result> checks;
  std::vector<window> windows;
  std::vector<command_outcome> commands;
  std::vector<timeline::event> timeline;
  /// Ids of the scenario steps that never ran (a `when` never met, the run ended first); any
  /// makes the case inconclusive at best.
  std::vector<std::string> steps_not_run;
  std::vector<std::string> driver_log;  ///< protocol lines worth keeping (events, bad lines)
  process_exit process;
};

/// Which part of a split suite a run holds (`--shard I/N`), so `schsim merge` can prove the
/// shards add up to the whole selection, each scenario exactly once.
struct shard_info {
  int index = 1;  ///< 1-based
  int count = 1;
  /// Every scenario id of the unsharded selection, in the order an unsharded run has them.
  std::vector<std::string> planned;
  /// The ids this shard was assigned (a subsequence of `planned`).
  std::vector<std::string> assigned;
  friend auto operator==(const shard_info&, const shard_info&) -> bool = default;
};

/// A whole invocation of `schsim run` or `schsim suite`.
struct run_result {
  std::string schsim_version;
  std::string suite_version;
  std::string started_at;  ///< wall-clock ISO 8601, for people; never used in verdicts
  std::string command_line;
  std::vector<case_result> cases;
  /// Set by `--shard`: the command_line above is then the unsharded one.
  std::optional<shard_info> shard;
};

/// The outcome a case gets from its checks when the session itself went fine: failed when a
/// critical check failed, else inconclusive when a critical check was not judged, else
/// unsupported when every check was unsupported or skipped, else passed.
auto outcome_from_checks(const std::vector<check_result>& checks) -> case_outcome;

/// The outcome of a case whose session went fine: outcome_from_checks, except that a case with
/// steps that never ran is inconclusive unless a check failed.
auto outcome_of_case(const std::vector<check_result>& checks,
                     const std::vector<std::string>& steps_not_run) -> case_outcome;

}  // namespace schsim::verdict
