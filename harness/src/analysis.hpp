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
  std::vector<const timeline::event*> commands;  ///< every command received
  std::vector<const timeline::event*> data;      ///< commands that are not connection setup
  std::vector<const timeline::event*> pushes;
  std::vector<const timeline::event*> replies;
  std::vector<interval> relax_windows;    ///< opening to closing maintenance notification
  std::optional<std::int64_t> moving_at;  ///< first MOVING written to it

  [[nodiscard]] auto closed_at() const -> std::int64_t;
  [[nodiscard]] auto open_at(std::int64_t t) const -> bool;
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
  /// Data commands carrying a workload identity, by identity.
  std::map<std::string, std::vector<const timeline::event*>> receipts;
  std::map<std::string, const verdict::command_outcome*> commands_by_identity;
  /// step id -> its step_executed event (the first, if a step ran twice).
  std::map<std::string, const timeline::event*> step_runs;
  std::vector<delay_interval> delays;
  /// Time of the first MOVING anywhere, if any.
  std::optional<std::int64_t> first_moving;
  std::int64_t end_ns = 0;  ///< end of the judged period
};

auto analyze(const check_input& in) -> analysis;

/// True for commands a client sends while setting a connection up (HELLO, AUTH, CLIENT, ...).
auto is_setup_command(const std::vector<std::string>& args) -> bool;

auto classify(const check_input& in, const analysis& an, const conn_record& c, std::int64_t t)
    -> zone;

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
