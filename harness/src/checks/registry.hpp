#pragma once
// Internal: the one table of checks (id, meaning, capability, critical, predicate) and what the
// predicates share. Each predicate lives in its own file next to this one and judges only the
// run's episodes (episodes.hpp).

#include <schsim/harness/checks.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "../episodes.hpp"

namespace schsim::harness::detail {

using check_predicate = verdict::check_result (*)(const check_input&, const episodes&);

struct check_entry {
  std::string_view id;
  std::string_view meaning;  ///< one line, as in docs/reports.md
  /// Capability the client must declare for the check to be judged (driver-protocol.md);
  /// empty if none. Without it the check is unsupported, never failed.
  std::string_view capability;
  /// False: reported, never failing a case, unless the scenario sets a bound (latency with
  /// expect.max_latency).
  bool critical = true;
  check_predicate judge = nullptr;
};

/// Every check, in report order.
auto check_registry() -> const std::vector<check_entry>&;
auto find_check(std::string_view id) -> const check_entry*;

auto judge_zero_dropped(const check_input& in, const episodes& ep) -> verdict::check_result;
auto judge_handshake(const check_input& in, const episodes& ep) -> verdict::check_result;
auto judge_timeout_relaxation(const check_input& in, const episodes& ep) -> verdict::check_result;
auto judge_handoff_timing(const check_input& in, const episodes& ep) -> verdict::check_result;
auto judge_no_leaks(const check_input& in, const episodes& ep) -> verdict::check_result;
auto judge_latency(const check_input& in, const episodes& ep) -> verdict::check_result;
auto judge_topology_refresh(const check_input& in, const episodes& ep) -> verdict::check_result;
auto judge_removed_node_traffic(const check_input& in, const episodes& ep) -> verdict::check_result;
auto judge_pubsub_continuity(const check_input& in, const episodes& ep) -> verdict::check_result;
auto judge_blocking_commands(const check_input& in, const episodes& ep) -> verdict::check_result;
auto judge_transactions(const check_input& in, const episodes& ep) -> verdict::check_result;

/// A result with the check's id and meaning from the registry.
auto start_result(std::string_view id) -> verdict::check_result;

/// The check applied to the scenario but found nothing to judge: it says what was missing and is
/// never a pass (a case whose critical check judged nothing is not shown conformant).
auto judged_nothing(verdict::check_result& r, std::string why) -> verdict::check_result&;
/// The scenario never creates what the check judges (or the client was never meant to receive
/// it): the check does not apply.
auto not_applicable(verdict::check_result& r, std::string why) -> verdict::check_result&;

/// Whether the client opts in to maintenance pushes: RESP3, not `mode = "disabled"`, and an
/// endpoint that takes the opt-in (HELLO 3 and CLIENT MAINT_NOTIFICATIONS answered).
auto client_opts_in(const scenario::scenario& scn) -> bool;
/// Whether a send step's push reaches the client at all: it goes only to connections that opted
/// in, unless the step targets every connection.
auto reaches_client(const scenario::scenario& scn, const scenario::send_action& send) -> bool;
/// Whether a step of the (expanded) scenario sends the client a notification of this kind.
auto scenario_delivers(const scenario::scenario& scn, maint::kind k) -> bool;

/// No notification of kind `k` reached the client: not applicable when the scenario sends none,
/// or none that reaches this client (it does not opt in); else judged nothing.
auto none_delivered(verdict::check_result& r, const scenario::scenario& scn, maint::kind k)
    -> verdict::check_result&;

/// Fails with the findings (summary: the first, and how many more, unless set), else passes
/// with `pass_summary`.
auto fail_or_pass(verdict::check_result& r, std::string pass_summary) -> verdict::check_result&;

inline auto to_ms(std::chrono::milliseconds d) -> double { return static_cast<double>(d.count()); }

}  // namespace schsim::harness::detail
