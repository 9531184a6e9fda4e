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

/// A result with the check's id and meaning from the registry.
auto start_result(std::string_view id) -> verdict::check_result;

/// Fails with the findings (summary: the first, and how many more, unless set), else passes
/// with `pass_summary`.
auto fail_or_pass(verdict::check_result& r, std::string pass_summary) -> verdict::check_result&;

inline auto to_ms(std::chrono::milliseconds d) -> double { return static_cast<double>(d.count()); }

}  // namespace schsim::harness::detail
