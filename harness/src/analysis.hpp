#pragma once
// Internal: the server timeline indexed once for every check (per connection, per command
// identity, per scenario step), plus the reply-delay judgement shared by zero_dropped and
// timeout_relaxation.

#include <schsim/harness/checks.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace schsim::harness::detail {

inline constexpr std::int64_t forever = std::numeric_limits<std::int64_t>::max();

/// A cluster redirection: a -MOVED or -ASK reply such as "-MOVED 3999 127.0.0.1:30001".
struct redirection {
  bool ask = false;  ///< -ASK (one-shot, during a migration); false: -MOVED
  std::uint16_t slot = 0;
  std::string address;
};

struct interval {
  std::int64_t start = 0;
  std::int64_t end = forever;
};

struct conn_record {
  std::uint64_t id = 0;
  std::string endpoint;
  std::int64_t opened = 0;
  const timeline::event* opened_event = nullptr;
  const timeline::event* closed_event = nullptr;
  std::vector<const timeline::event*> hellos;
  std::vector<const timeline::event*> maints;
  /// The connection's tls_handshake (TLS endpoints, or a ClientHello to a plaintext one).
  const timeline::event* tls = nullptr;
  std::vector<const timeline::event*> commands;  ///< every command received
  std::vector<const timeline::event*> data;      ///< commands that are not connection setup
  std::vector<const timeline::event*> pushes;
  std::vector<const timeline::event*> replies;
  /// Data commands the server answered with a cluster redirection or refusal (-MOVED, -ASK,
  /// -TRYAGAIN, -CROSSSLOT, -CLUSTERDOWN): received, but not executed.
  std::vector<const timeline::event*> redirected;
  std::vector<interval> relax_windows;  ///< opening to closing maintenance notification
  /// The opening notification of each relax window (same index), e.g. "MIGRATING": a closing
  /// notification ends only the windows its own kind opened.
  std::vector<std::string> relax_openers;
  /// From a closing notification that ended overlapping windows (two openings, one closing) to
  /// the next closing one: a client may still count the other window as open, or not.
  std::vector<interval> overlap_tails;
  std::optional<std::int64_t> moving_at;  ///< first MOVING written to it

  [[nodiscard]] auto closed_at() const -> std::int64_t;
  [[nodiscard]] auto open_at(std::int64_t t) const -> bool;
  /// The reply_written event answering command `index`, or nullptr when none was written.
  [[nodiscard]] auto reply_to(std::uint64_t index) const -> const timeline::event*;
};

/// A reply delay the server imposed on an endpoint (latency or stall step).
struct delay_interval {
  std::string endpoint;
  std::int64_t start = 0;
  std::int64_t end = forever;
  double delay_ms = 0;  ///< infinity for a stall
  std::string step;
};

enum class zone { relaxed, normal, ambiguous };

enum class expectation { succeed, time_out, unjudged };

/// One command whose reply the server delayed, and what its timeouts should have done.
struct delay_judgement {
  const verdict::command_outcome* command = nullptr;
  const timeline::event* received = nullptr;
  const conn_record* conn = nullptr;
  zone where = zone::ambiguous;
  double delay_ms = 0;
  double bound_ms = 0;  ///< the timeout that applies in this zone
  expectation expect = expectation::unjudged;
};

struct analysis {
  std::map<std::uint64_t, conn_record> conns;
  /// Executions of data commands carrying a workload identity, by identity: every receipt on
  /// any node except those answered with a cluster redirection (which did not execute).
  std::map<std::string, std::vector<const timeline::event*>> receipts;
  /// Every receipt of those commands, redirected ones included, in recording order: where a
  /// command first arrived is where its wait for a reply began.
  std::map<std::string, std::vector<const timeline::event*>> arrivals;
  std::map<std::string, const verdict::command_outcome*> commands_by_identity;
  /// Receipts of data commands without an identity (GET, DEL, EXISTS), by their arguments.
  std::map<std::vector<std::string>, std::vector<const timeline::event*>> untied_arrivals;
  /// Data commands (command_received events) answered -MOVED/-ASK, from the simulator's
  /// cluster_redirect events or, failing those, the reply written.
  std::map<const timeline::event*, redirection> redirects;
  /// step id -> its step_executed event (the first, if a step ran twice).
  std::map<std::string, const timeline::event*> step_runs;
  std::vector<delay_interval> delays;
  /// Time of the first MOVING anywhere, if any.
  std::optional<std::int64_t> first_moving;
  std::int64_t end_ns = 0;  ///< end of the judged period
};

auto analyze(const check_input& in) -> analysis;

/// True for commands a client sends while setting a connection up or reading the cluster's
/// topology (HELLO, AUTH, CLIENT, CLUSTER, ASKING, ...), as opposed to the workload's.
auto is_setup_command(const std::vector<std::string>& args) -> bool;
/// A notification that opens a relaxation window (MIGRATING, FAILING_OVER, SMIGRATING).
auto is_opening(std::string_view name) -> bool;
/// A notification that closes one (MIGRATED, FAILED_OVER, SMIGRATED).
auto is_closing(std::string_view name) -> bool;

auto parse_redirection(std::string_view reply_summary) -> std::optional<redirection>;

/// True for error replies with which a cluster node refuses a command without executing it.
auto is_cluster_refusal(std::string_view reply_summary) -> bool;

/// Which timeout applies to a command received on `c` at `t` whose reply the server wrote at
/// `reply_at` (forever: never): a window that closes while it waits leaves either one right.
auto classify(const check_input& in, const analysis& an, const conn_record& c, std::int64_t t,
              std::int64_t reply_at) -> zone;

/// Where the server received a workload command: by its identity, or, for a command that
/// carries none (GET, DEL, EXISTS), every data command with the same arguments received while it
/// was in flight (two equal GETs in flight at once cannot be told apart; either receipt counts).
auto receipts_in_flight(const analysis& an, const verdict::command_outcome& cmd)
    -> std::vector<const timeline::event*>;

auto judge_delays(const check_input& in, const analysis& an) -> std::vector<delay_judgement>;

/// Ids of failed commands whose failure the scenario provoked on purpose (a delay past the
/// timeout that applied) or that fell with such a command's connection.
auto expected_failures(const check_input& in, const analysis& an)
    -> std::map<std::uint64_t, std::string>;

/// Milliseconds of `t` after the run's start, e.g. "+1503.2 ms".
auto at(const check_input& in, std::int64_t t) -> std::string;

auto ms_between(std::int64_t from, std::int64_t to) -> double;

/// A time-ordered copy of `events` without duplicates, at most `limit` long.
auto excerpt(std::vector<const timeline::event*> events, std::size_t limit = 16)
    -> std::vector<timeline::event>;

auto join(const std::vector<std::string>& args) -> std::string;

}  // namespace schsim::harness::detail
