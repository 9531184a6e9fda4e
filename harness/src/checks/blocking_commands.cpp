// blocking_commands: the workload's blocking consumer through maintenance; every element the
// server pushed reaches the application exactly once, and no call hangs.
#include <fmt/format.h>

#include <algorithm>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;

// Named, not anonymous: unity builds put this file beside pubsub_continuity's helpers.
namespace blocking_check {

/// Findings of one rule itemised up to this many; the rest are counted in one more.
constexpr std::size_t itemised_per_rule = 8;

struct rule_counter {
  std::map<std::string, std::size_t> seen;
  auto itemise(const std::string& rule) -> bool { return ++seen[rule] <= itemised_per_rule; }
  void summarise(v::check_result& r) const {
    for (const auto& [rule, n] : seen) {
      if (n > itemised_per_rule) v::add_finding(r, rule, fmt::format("{} {} in all", n, rule));
    }
  }
};

/// Why an element the application never got is gone, or nullopt when the client is excused
/// (the server closed the connection before the reply carrying it was written, or the scenario
/// held that reply past the call's deadline).
auto why_lost(const check_input& in, const analysis& an, const pushed_element& el)
    -> std::optional<std::string> {
  if (reply_held_past_deadline(in, an, el)) return std::nullopt;
  if (const auto* w = el.written()) {
    const auto& p = std::get<tl::list_popped>(w->what);
    return fmt::format(
        "popped by command #{} of connection {} and written whole at {}, never "
        "handed to the application",
        p.command, w->conn, at(in, w->t_ns));
  }
  if (el.popped.empty()) {
    return std::string("never popped: still in the list when the run ended");
  }
  const auto* e = el.popped.front();
  if (lost_to_server_close(an, *e)) return std::nullopt;
  return fmt::format(
      "popped by command #{} of connection {}, whose reply was not yet written when the client "
      "closed the connection ({}): lost with it",
      std::get<tl::list_popped>(e->what).command, e->conn, at(in, e->t_ns));
}

/// lost and duplicated; returns how many elements were owed and how many excused.
auto judge_elements(const check_input& in, const episodes& ep, v::check_result& r,
                    rule_counter& count, std::vector<const tl::event*>& evidence)
    -> std::pair<std::size_t, std::size_t> {
  const auto& f = ep.blocking;
  const auto& reports = in.driver.blocking.reports;
  std::size_t owed = 0;
  std::size_t excused = 0;
  for (const auto& el : f.pushed) {
    if (el.at > f.judged_until) continue;
    ++owed;
    if (el.reports.empty()) {
      const auto why = why_lost(in, ep.an, el);
      if (!why) {
        ++excused;
      } else if (count.itemise("lost")) {
        v::add_finding(
            r, "lost",
            fmt::format("seq:{} pushed to {} at {}: {}", el.seq, el.key, at(in, el.at), *why));
        evidence.push_back(el.event);
        evidence.insert(evidence.end(), el.popped.begin(), el.popped.end());
      }
    } else if (el.reports.size() > 1 && count.itemise("duplicated")) {
      v::add_finding(r, "duplicated",
                     fmt::format("seq:{} handed to the application {} times (at {} and {}); the "
                                 "server popped it {} time(s)",
                                 el.seq, el.reports.size(), at(in, reports[el.reports[0]].t_ns),
                                 at(in, reports[el.reports[1]].t_ns), el.popped.size()));
      evidence.insert(evidence.end(), el.popped.begin(), el.popped.end());
    }
  }
  return {owed, excused};
}

void judge_unknown(const check_input& in, const episodes& ep, v::check_result& r,
                   rule_counter& count) {
  const auto& reports = in.driver.blocking.reports;
  for (const auto i : ep.blocking.unknown_reports) {
    if (count.itemise("unknown_element")) {
      v::add_finding(
          r, "unknown_element",
          fmt::format("the client handed the application \"{}\" from {} at {}, which "
                      "the server never wrote to it",
                      reports[i].element.substr(0, 64), reports[i].key, at(in, reports[i].t_ns)));
    }
  }
}

void judge_hung(const check_input& in, const episodes& ep, v::check_result& r,
                rule_counter& count) {
  const auto& f = ep.blocking;
  for (const auto& h : f.hung) {
    if (!count.itemise("hung")) continue;
    const auto until = h.answered_ns.value_or(ep.an.end_ns);
    const std::string maintenance = h.maintenance.empty()
                                        ? std::string("no maintenance push meanwhile")
                                        : "while pending: " + join(h.maintenance);
    v::add_finding(r, "hung",
                   fmt::format("a {} sent at {} {} {:.0f} ms later (at most {:.0f} ms: its "
                               "timeout plus the relaxed timeout); {}",
                               to_string(in.scn.load.blocking->command), at(in, h.sent_ns),
                               h.answered_ns ? "was answered" : "was still pending",
                               ms_between(h.sent_ns, until),
                               static_cast<double>(f.allowed_ns) / 1e6, maintenance));
  }
}

auto count_reports(const check_input& in, block_report::kind k) -> double {
  const auto& reports = in.driver.blocking.reports;
  return static_cast<double>(
      std::count_if(reports.begin(), reports.end(), [&](const auto& r) { return r.what == k; }));
}

auto longest_call_ms(const check_input& in) -> double {
  double longest = 0;
  for (const auto& r : in.driver.blocking.reports) {
    longest = std::max(longest, ms_between(r.sent_ns, r.t_ns));
  }
  return longest;
}

}  // namespace blocking_check

auto judge_blocking_commands(const check_input& in, const episodes& ep) -> v::check_result {
  using namespace blocking_check;  // NOLINT(google-build-using-namespace): this file's helpers
  auto r = start_result(blocking_commands_id);
  const auto& f = ep.blocking;
  if (!f.active) return not_applicable(r, "the scenario has no [workload.blocking]");
  const auto& consumer = in.driver.blocking;
  if (!consumer.asked) {
    return judged_nothing(r, "the client never connected, so it was not asked to block");
  }
  if (!consumer.started) {
    v::add_finding(r, "block_failed",
                   fmt::format("the client did not start its blocking consumer: {} {}",
                               consumer.error_class, consumer.message));
    return fail_or_pass(r, "");
  }
  rule_counter count;
  std::vector<const tl::event*> evidence;
  const auto [owed, excused] = judge_elements(in, ep, r, count, evidence);
  judge_unknown(in, ep, r, count);
  judge_hung(in, ep, r, count);
  count.summarise(r);
  const double allowed_ms = static_cast<double>(f.allowed_ns) / 1e6;
  r.figures = {{"elements_pushed", static_cast<double>(f.pushed.size()), ""},
               {"elements_owed", static_cast<double>(owed), ""},
               {"elements_popped", count_reports(in, block_report::kind::popped), ""},
               {"elements_excused", static_cast<double>(excused), ""},
               {"calls_timed_out", count_reports(in, block_report::kind::timed_out), ""},
               {"calls_failed", count_reports(in, block_report::kind::failed), ""},
               {"longest_call", longest_call_ms(in), "ms"}};
  if (f.allowed_ns > 0) {
    r.tolerances = {{"longest_call", std::nullopt, allowed_ms, "ms",
                     "workload.blocking.timeout + client.relaxed_timeout"}};
  }
  r.excerpt = excerpt(evidence);
  if (owed == 0 && r.findings.empty()) {
    return judged_nothing(r, "the producer pushed no element to judge");
  }
  return fail_or_pass(
      r, fmt::format("{} elements pushed, each popped and handed over exactly once ({} excused: "
                     "lost with a connection the server closed or a reply the scenario held past "
                     "the call's deadline); the longest call took {:.1f} ms",
                     owed - excused, excused, longest_call_ms(in)));
}

}  // namespace schsim::harness::detail
