// topology_refresh: after each SMIGRATED no -MOVED for its slots from the source node later than
// the tolerance (the client refreshed its slot map).
#include <fmt/format.h>

#include <algorithm>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;

namespace {

struct refresh_bound {
  std::chrono::milliseconds within = default_topology_refresh_within;
  std::string_view source = "default";
};

/// expect.topology_refresh_within when the scenario sets it, else the default.
auto refresh_tolerance(const scenario::expectations& expect) -> refresh_bound {
  if (expect.topology_refresh_within) {
    return {*expect.topology_refresh_within, "expect.topology_refresh_within"};
  }
  return {};
}

/// -MOVED answers judged against one SMIGRATED.
struct per_event {
  std::size_t within = 0;
  std::vector<const tl::event*> late;
  double last_after_ms = -1;
};

/// SMIGRATEDs whose slots or source the record cannot resolve: noted, not judged.
auto unjudged_notes(const check_input& in, const std::vector<smigrated_episode>& events)
    -> std::vector<std::string> {
  std::vector<std::string> notes;
  for (const auto& ev : events) {
    if (ev.moves.empty()) {
      notes.push_back(fmt::format(
          "SMIGRATED seq {} at {}: not sent by a scenario step; its slots are unknown, not judged",
          ev.seq, at(in, ev.first->t_ns)));
    }
    for (const auto& move : ev.moves) {
      if (move.source.empty()) {
        notes.push_back(
            fmt::format("SMIGRATED seq {}: source {} is not a simulated node; not judged", ev.seq,
                        move.source_text));
      }
    }
  }
  return notes;
}

/// The latest SMIGRATED at or before `e` that moved `slot` away from `node`.
auto latest_move_away(const std::vector<smigrated_episode>& events, const tl::event& e,
                      const std::string& node, std::uint16_t slot) -> std::optional<std::size_t> {
  std::optional<std::size_t> latest;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].first->t_ns > e.t_ns) {
      break;
    }
    for (const auto& move : events[i].moves) {
      if (move.source == node && move.slots.contains(slot)) {
        latest = i;
      }
    }
  }
  return latest;
}

/// Each -MOVED for a slot, judged against the latest SMIGRATED that moved that slot away from the
/// node that answered it.
auto tally_redirects(const episodes& ep, std::int64_t tolerance_ns) -> std::vector<per_event> {
  std::vector<per_event> tally(ep.smigrations.size());
  for (const auto& [id, c] : ep.an.conns) {
    for (const auto* e : c.redirected) {
      const auto redirect = ep.an.redirects.find(e);
      if (redirect == ep.an.redirects.end() || redirect->second.ask) {
        continue;  // -ASK is the right answer while a migration is in progress
      }
      const auto latest = latest_move_away(ep.smigrations, *e, c.endpoint, redirect->second.slot);
      if (!latest) {
        continue;  // a slot no SMIGRATED announced: initial discovery, not a stale refresh
      }
      auto& t = tally[*latest];
      const auto pushed = ep.smigrations[*latest].first->t_ns;
      t.last_after_ms = std::max(t.last_after_ms, ms_between(pushed, e->t_ns));
      if (e->t_ns - pushed <= tolerance_ns) {
        ++t.within;
      } else {
        t.late.push_back(e);
      }
    }
  }
  return tally;
}

auto late_finding(const check_input& in, const smigrated_episode& ev, const per_event& t,
                  double tolerance_ms) -> std::string {
  std::string moves;
  for (const auto& m : ev.moves) {
    moves += fmt::format("{}{} -> {} slots {}", moves.empty() ? "" : "; ", m.source, m.destination,
                         m.slots.to_string());
  }
  std::string examples;
  for (std::size_t k = 0; k < std::min<std::size_t>(t.late.size(), 3); ++k) {
    const auto* e = t.late[k];
    examples += fmt::format("{}[{}] on {} #{} at {}", examples.empty() ? "" : ", ",
                            join(std::get<tl::command_received>(e->what).args), e->endpoint,
                            e->conn, at(in, e->t_ns));
  }
  return fmt::format(
      "SMIGRATED seq {} at {} ({}): {} command{} for the moved slots still reached the source "
      "and were answered -MOVED more than {:.0f} ms later, the last {:.1f} ms after it; e.g. {}",
      ev.seq, at(in, ev.first->t_ns), moves, t.late.size(), t.late.size() == 1 ? "" : "s",
      tolerance_ms, t.last_after_ms, examples);
}

}  // namespace

auto judge_topology_refresh(const check_input& in, const episodes& ep) -> v::check_result {
  auto r = start_result(topology_refresh_id);
  const auto& events = ep.smigrations;
  if (events.empty()) {
    return none_delivered(r, in.scn, maint::kind::smigrated);
  }
  const auto bound = refresh_tolerance(in.scn.expect);
  const double tolerance_ms = to_ms(bound.within);
  r.tolerances.push_back({"moved_after_tolerance", 0.0, 1.0, "",
                          fmt::format("no -MOVED for a moved slot from its source later than "
                                      "{:.0f} ms after the SMIGRATED ({})",
                                      tolerance_ms, bound.source)});
  const auto notes = unjudged_notes(in, events);
  auto tally = tally_redirects(ep, std::chrono::nanoseconds(bound.within).count());
  std::vector<const tl::event*> evidence;
  std::size_t late_total = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& ev = events[i];
    auto& t = tally[i];
    std::sort(t.late.begin(), t.late.end(),
              [](const auto* a, const auto* b) { return a->t_ns < b->t_ns; });
    r.figures.push_back(
        {fmt::format("seq{}.moved_within_tolerance", ev.seq), static_cast<double>(t.within), ""});
    r.figures.push_back({fmt::format("seq{}.moved_after_tolerance", ev.seq),
                         static_cast<double>(t.late.size()), ""});
    if (t.last_after_ms >= 0) {
      r.figures.push_back({fmt::format("seq{}.last_moved_after", ev.seq), t.last_after_ms, "ms"});
    }
    evidence.push_back(ev.first);
    if (t.late.empty()) {
      continue;
    }
    late_total += t.late.size();
    v::add_finding(r, "moved_slot_still_sent_to_source", late_finding(in, ev, t, tolerance_ms));
    for (std::size_t k = 0; k < std::min<std::size_t>(t.late.size(), 8); ++k) {
      evidence.push_back(t.late[k]);
      const auto& conn = ep.an.conns.at(t.late[k]->conn);
      if (const auto* reply =
              conn.reply_to(std::get<tl::command_received>(t.late[k]->what).index)) {
        evidence.push_back(reply);
      }
    }
  }
  r.figures.push_back({"smigrated_events", static_cast<double>(events.size()), ""});
  r.excerpt = excerpt(evidence, 24);
  fail_or_pass(r, fmt::format("{} SMIGRATED event{}: no command for a moved slot reached its "
                              "source later than {:.0f} ms after the push",
                              events.size(), events.size() == 1 ? "" : "s", tolerance_ms));
  if (late_total > 0) {
    r.summary = fmt::format(
        "{} command{} for moved slots reached the old owner later than {:.0f} ms after "
        "SMIGRATED: the client did not refresh its slot map",
        late_total, late_total == 1 ? "" : "s", tolerance_ms);
  }
  r.findings.insert(r.findings.end(), notes.begin(), notes.end());
  return r;
}

}  // namespace schsim::harness::detail
