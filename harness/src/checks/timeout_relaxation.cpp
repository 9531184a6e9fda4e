// timeout_relaxation: delayed replies succeed inside a window (relaxed timeout) and time out in
// [T, (1+tol)T) outside every window.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;

namespace {

struct relaxation_tally {
  std::size_t relaxed_ok = 0;
  std::size_t normal_timeouts = 0;
  std::size_t unjudged = 0;
  std::vector<double> relaxed_waits;
  std::vector<double> timeout_waits;
  std::vector<const tl::event*> evidence;
};

auto label_of(const check_input& in, const delay_judgement& j) -> std::string {
  const auto& cmd = *j.command;
  return fmt::format("#{} {} (received {} on {} #{}, reply delayed {})", cmd.id, join(cmd.args),
                     at(in, j.received->t_ns), j.conn->endpoint, j.conn->id,
                     std::isinf(j.delay_ms) ? std::string("until released")
                                            : fmt::format("{:.0f} ms", j.delay_ms));
}

auto zone_name(const delay_judgement& j) -> const char* {
  return j.where == zone::relaxed ? "inside a maintenance window" : "outside any window";
}
auto timeout_name(const delay_judgement& j) -> const char* {
  return j.where == zone::relaxed ? "relaxed" : "normal";
}
/// The broken rule's id: the timeout that applied and what went wrong ("normal.timed_out_late").
auto broken_rule(const delay_judgement& j, std::string_view what) -> std::string {
  return fmt::format("{}.{}", timeout_name(j), what);
}
/// Where the bound applied comes from (the scenario's client settings).
auto bound_source(const delay_judgement& j) -> const char* {
  return j.where == zone::relaxed ? "client.relaxed_timeout" : "client.timeout";
}

auto waited_ms(const v::command_outcome& cmd) -> double {
  return cmd.completed ? ms_between(cmd.sent_ns, cmd.done_ns) : 0;
}

/// A delay below the timeout that applied: the command must have succeeded.
void judge_should_succeed(const check_input& in, const delay_judgement& j, v::check_result& r,
                          relaxation_tally& t) {
  const auto& cmd = *j.command;
  if (!cmd.completed || !cmd.ok) {
    v::add_finding(
        r, broken_rule(j, cmd.completed ? "failed_before_timeout" : "no_result"),
        fmt::format(
            "{}: {} after {:.1f} ms {}, but the {} timeout {:.0f} ms ({}) exceeds the delay",
            label_of(in, j), cmd.completed ? "failed (" + cmd.error_class + ")" : "no result",
            waited_ms(cmd), zone_name(j), timeout_name(j), j.bound_ms, bound_source(j)));
    t.evidence.push_back(j.received);
  } else if (j.where == zone::relaxed) {
    ++t.relaxed_ok;
    t.relaxed_waits.push_back(waited_ms(cmd));
  }
}

/// What the server saw: the client closing the connection while the reply was held, much later
/// than its timeout.
void judge_server_side_wait(const check_input& in, const delay_judgement& j, v::check_result& r,
                            relaxation_tally& t) {
  const auto* closed_event = j.conn->closed_event;
  if (closed_event == nullptr || j.conn->closed_at() <= j.received->t_ns) {
    return;
  }
  const auto& closed = std::get<tl::connection_closed>(closed_event->what);
  const double server_wait = ms_between(j.received->t_ns, j.conn->closed_at());
  if (closed.by == tl::close_initiator::client && server_wait < j.delay_ms &&
      server_wait >= j.bound_ms * (1 + in.scn.expect.timeout_tolerance) + 50) {
    v::add_finding(
        r, broken_rule(j, "server_saw_late_give_up"),
        fmt::format("{}: the server saw the client give up only {:.1f} ms after the command",
                    label_of(in, j), server_wait));
    t.evidence.push_back(closed_event);
  }
}

/// A delay past the timeout that applied: the command must have timed out within the band.
void judge_should_time_out(const check_input& in, const delay_judgement& j, v::check_result& r,
                           relaxation_tally& t) {
  const auto& cmd = *j.command;
  const double tol = in.scn.expect.timeout_tolerance;
  if (cmd.completed && cmd.ok) {
    v::add_finding(
        r, broken_rule(j, "succeeded_past_timeout"),
        fmt::format(
            "{}: succeeded after {:.1f} ms {}, but the {} timeout {:.0f} ms ({}) should have ended "
            "the wait",
            label_of(in, j), waited_ms(cmd), zone_name(j), timeout_name(j), j.bound_ms,
            bound_source(j)));
    t.evidence.push_back(j.received);
    return;
  }
  if (!cmd.completed) {
    v::add_finding(r, broken_rule(j, "no_result"),
                   fmt::format("{}: no result; it should have timed out after {:.0f} ms",
                               label_of(in, j), j.bound_ms));
    t.evidence.push_back(j.received);
    return;
  }
  const double waited = waited_ms(cmd);
  ++t.normal_timeouts;
  t.timeout_waits.push_back(waited);
  if (waited < j.bound_ms || waited >= j.bound_ms * (1 + tol)) {
    v::add_finding(
        r, broken_rule(j, waited < j.bound_ms ? "timed_out_early" : "timed_out_late"),
        fmt::format("{}: gave up after {:.1f} ms ({}), outside [{:.0f}, {:.0f}) ms ({} x [1, 1 + "
                    "expect.timeout_tolerance {}))",
                    label_of(in, j), waited, cmd.error_class, j.bound_ms, j.bound_ms * (1 + tol),
                    bound_source(j), tol));
    t.evidence.push_back(j.received);
  }
  judge_server_side_wait(in, j, r, t);
}

void add_figures(const relaxation_tally& t, double normal, double relaxed, v::check_result& r) {
  r.figures = {{"normal_timeout", normal, "ms"},
               {"relaxed_timeout", relaxed, "ms"},
               {"relaxed_successes", static_cast<double>(t.relaxed_ok), ""},
               {"normal_timeouts", static_cast<double>(t.normal_timeouts), ""},
               {"not_judged", static_cast<double>(t.unjudged), ""}};
  if (!t.relaxed_waits.empty()) {
    r.figures.push_back({"max_wait_inside_window",
                         *std::max_element(t.relaxed_waits.begin(), t.relaxed_waits.end()), "ms"});
  }
  if (!t.timeout_waits.empty()) {
    r.figures.push_back({"min_timeout_wait",
                         *std::min_element(t.timeout_waits.begin(), t.timeout_waits.end()), "ms"});
    r.figures.push_back({"max_timeout_wait",
                         *std::max_element(t.timeout_waits.begin(), t.timeout_waits.end()), "ms"});
  }
}

auto scenario_delays_replies(const scenario::scenario& scn) -> bool {
  return std::any_of(scn.steps.begin(), scn.steps.end(), [](const auto& st) {
    return std::holds_alternative<scenario::latency_action>(st.what) ||
           std::holds_alternative<scenario::stall_action>(st.what);
  });
}

}  // namespace

auto judge_timeout_relaxation(const check_input& in, const episodes& ep) -> v::check_result {
  auto r = start_result(timeout_relaxation_id);
  const auto& settings = in.scn.client;
  const double tol = in.scn.expect.timeout_tolerance;
  const std::string& kind = in.driver.client.reply_timeout;
  if (kind == "none") {
    r.outcome = v::status::unsupported;
    r.summary = "the client has no timeout bounding the wait for a reply (timeouts.reply = none)";
    return r;
  }
  const double normal = to_ms(settings.timeout);
  const double relaxed =
      settings.relaxed_timeout ? std::max(normal, to_ms(*settings.relaxed_timeout)) : normal;
  relaxation_tally t;
  for (const auto& j : ep.delays) {
    switch (j.expect) {
      case expectation::unjudged:
        ++t.unjudged;
        break;
      case expectation::succeed:
        judge_should_succeed(in, j, r, t);
        break;
      case expectation::time_out:
        judge_should_time_out(in, j, r, t);
        break;
    }
  }
  add_figures(t, normal, relaxed, r);
  r.tolerances = {{"timeout_wait", normal, normal * (1 + tol), "ms",
                   fmt::format("[T, {}T) with T = {:.0f} ms (client's reply timeout kind: {})",
                               1 + tol, normal, kind.empty() ? "command" : kind)}};
  r.excerpt = excerpt(t.evidence);
  if (t.relaxed_ok + t.normal_timeouts == 0 && r.findings.empty()) {
    // Without a reply delay the server cannot tell a relaxed timeout from a normal one.
    if (ep.an.delays.empty() && !scenario_delays_replies(in.scn)) {
      return not_applicable(r, "no step of the scenario delays or stalls replies");
    }
    return judged_nothing(
        r, "no command was delayed past a timeout where the outcome could be judged");
  }
  return fail_or_pass(
      r, fmt::format("{} delayed repl{} succeeded inside the window, {} timed out in [{:.0f}, "
                     "{:.0f}) ms after it",
                     t.relaxed_ok, t.relaxed_ok == 1 ? "y" : "ies", t.normal_timeouts, normal,
                     normal * (1 + tol)));
}

}  // namespace schsim::harness::detail
