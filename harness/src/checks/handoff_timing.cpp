// handoff_timing: per MOVING seq, the client reconnected where and when it was told, moved its
// traffic and closed its old connections itself; traffic ended on expect.final_endpoint.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;

namespace {

// An in-flight command may reach the old socket just after the first one reached the new
// endpoint; later than this is a command written after the client had moved.
constexpr std::int64_t old_write_slack_ns = 50'000'000;

/// Findings and evidence for one MOVING seq.
struct seq_judge {
  const check_input& in;
  const moving_episode& m;
  v::check_result& r;
  std::vector<const tl::event*>& evidence;
  std::string label;

  /// With an endpoint: a new connection to it handshaken within the grace.
  void judge_new_endpoint() const {
    // The bound applied, and where it comes from: the scenario's own, else the MOVING's grace.
    const double grace_ms = in.scn.expect.handoff_within ? to_ms(*in.scn.expect.handoff_within)
                                                         : static_cast<double>(m.time_s) * 1000.0;
    const auto bound = in.scn.expect.handoff_within
                           ? fmt::format("expect.handoff_within = {:.0f} ms", grace_ms)
                           : fmt::format("the MOVING's time = {} s", m.time_s);
    const auto& target = m.destination();
    if (m.fresh.empty()) {
      v::add_finding(r, "no_new_connection",
                     fmt::format("{}: no connection to {} was opened", label, target));
      return;
    }
    if (!m.ready_at) {
      const bool expect_maint =
          in.scn.client.protocol == 3 && in.scn.client.mode != scenario::sch_mode::disabled;
      v::add_finding(r, "new_connection_not_handshaken",
                     fmt::format("{}: connection #{} to {} was opened but never handshaken{}",
                                 label, m.fresh.front()->id, target,
                                 expect_maint ? " (no CLIENT MAINT_NOTIFICATIONS ON)" : ""));
      evidence.push_back(m.fresh.front()->opened_event);
      return;
    }
    const double after = ms_between(m.at, *m.ready_at);
    r.figures.push_back({fmt::format("seq{}.handshaken_after", m.seq), after, "ms"});
    r.tolerances.push_back({fmt::format("seq{}.handshaken_after", m.seq), 0.0, grace_ms, "ms",
                            fmt::format("within {}", bound)});
    if (after >= grace_ms) {
      v::add_finding(
          r, "handshaken_past_grace",
          fmt::format(
              "{}: connection #{} to {} handshaken {:.1f} ms after MOVING, past the bound ({})",
              label, m.ready_conn->id, target, after, bound));
    }
    for (const auto* e : m.ready_conn->maints) {
      evidence.push_back(e);
    }
    if (m.ready_conn->opened_event != nullptr) {
      evidence.push_back(m.ready_conn->opened_event);
    }
  }

  /// Null endpoint: a reconnect to the same address after time/2.
  void judge_null_endpoint() const {
    const double tol = in.scn.expect.timeout_tolerance;
    const double half_ms = static_cast<double>(m.time_s) * 1000.0 / 2;
    r.tolerances.push_back({fmt::format("seq{}.reconnect_after", m.seq), half_ms * (1 - tol),
                            half_ms * (1 + tol), "ms",
                            fmt::format("time/2 = {:.0f} ms +-{:.0f}%", half_ms, tol * 100)});
    const auto* first = m.first_fresh;
    if (first == nullptr) {
      v::add_finding(r, "null_moving.no_reconnect",
                     fmt::format("{} (null endpoint): no new connection to {} was opened", label,
                                 m.destination()));
      return;
    }
    const double after = ms_between(m.at, first->opened);
    r.figures.push_back({fmt::format("seq{}.reconnect_after", m.seq), after, "ms"});
    if (!v::within(r.tolerances.back(), after)) {
      v::add_finding(
          r, after < half_ms ? "null_moving.reconnected_early" : "null_moving.reconnected_late",
          fmt::format(
              "{} (null endpoint): reconnected {:.1f} ms after MOVING, expected time/2 = {:.0f} ms "
              "+-{:.0f}%",
              label, after, half_ms, tol * 100));
    }
    if (first->opened_event != nullptr) {
      evidence.push_back(first->opened_event);
    }
  }

  /// One handoff per connection told: a client that reconnects again and again for one seq (a
  /// duplicate handled twice, or a loop) has not handled the seq.
  void judge_handoff_count() const {
    r.figures.push_back(
        {fmt::format("seq{}.handoffs", m.seq), static_cast<double>(m.handoffs), ""});
    r.tolerances.push_back({fmt::format("seq{}.handoffs", m.seq), 0.0,
                            static_cast<double>(m.handoffs_allowed) + 1, "",
                            fmt::format("one new connection to {} per connection told ({})",
                                        m.destination(), m.handoffs_allowed)});
    if (m.handoffs > m.handoffs_allowed) {
      v::add_finding(
          r, "seq_handled_twice",
          fmt::format("{}: {} connections to {} opened for this one seq before {}, told on {} "
                      "connection{}: "
                      "the seq was handled more than once",
                      label, m.handoffs, m.destination(),
                      m.forced_close_event != nullptr ? "the forced close" : "the grace ended",
                      m.handoffs_allowed, m.handoffs_allowed == 1 ? "" : "s"));
      for (std::size_t k = 0; k < std::min<std::size_t>(m.fresh.size(), 4); ++k) {
        if (m.fresh[k]->opened_event != nullptr) {
          evidence.push_back(m.fresh[k]->opened_event);
        }
      }
    }
  }

  void judge_traffic_moved() const {
    if (m.moved_at) {
      r.figures.push_back(
          {fmt::format("seq{}.traffic_moved_after", m.seq), ms_between(m.at, *m.moved_at), "ms"});
    } else if (m.traffic_after && (m.target || !m.fresh.empty())) {
      v::add_finding(
          r, "traffic_not_moved",
          fmt::format("{}: no command reached {} on a new connection", label, m.destination()));
    }
  }

  /// Nothing written to an old connection after traffic moved; each closed by the client.
  void judge_old_connection(const conn_record& c, std::int64_t end_ns) const {
    if (m.moved_at) {
      const auto late = std::find_if(c.data.begin(), c.data.end(), [&](const auto* e) {
        return e->t_ns > *m.moved_at + old_write_slack_ns;
      });
      if (late != c.data.end()) {
        v::add_finding(r, "old_connection_used_after_move",
                       fmt::format("{}: command [{}] written to the old connection #{} at {}, "
                                   "after traffic had moved at "
                                   "{}",
                                   label, join(std::get<tl::command_received>((*late)->what).args),
                                   c.id, at(in, (*late)->t_ns), at(in, *m.moved_at)));
        evidence.push_back(*late);
      }
    }
    if (c.closed_event == nullptr) {
      if (c.opened < m.at && end_ns >= m.forced_close_at) {
        v::add_finding(r, "old_connection_left_open",
                       fmt::format("{}: old connection #{} was never closed", label, c.id));
      }
      return;
    }
    evidence.push_back(c.closed_event);
    if (std::get<tl::connection_closed>(c.closed_event->what).by == tl::close_initiator::server) {
      v::add_finding(
          r, "old_connection_force_closed",
          fmt::format(
              "{}: the server had to force-close the old connection #{} at {}; the client never "
              "closed it",
              label, c.id, at(in, c.closed_at())));
    } else {
      r.figures.push_back({fmt::format("seq{}.old_conn{}_closed_after", m.seq, c.id),
                           ms_between(m.at, c.closed_at()), "ms"});
    }
  }
};

/// expect.final_endpoint: where the last command went (with no traffic, where the connections
/// open at the end are).
void judge_final_endpoint(const check_input& in, const episodes& ep, v::check_result& r) {
  const tl::event* last = nullptr;
  for (const auto& [id, c] : ep.an.conns) {
    if (!c.data.empty() && (last == nullptr || c.data.back()->t_ns > last->t_ns)) {
      last = c.data.back();
    }
  }
  std::set<std::string> final_endpoints;
  if (last != nullptr) {
    final_endpoints.insert(last->endpoint);
  } else {
    for (const auto& [id, c] : ep.an.conns) {
      if (c.open_at(ep.an.end_ns)) {
        final_endpoints.insert(c.endpoint);
      }
    }
  }
  if (final_endpoints.size() != 1 || *final_endpoints.begin() != in.scn.expect.final_endpoint) {
    v::add_finding(r, "wrong_final_endpoint",
                   fmt::format("{} ended on {}, expected {}",
                               last != nullptr ? "traffic" : "the open connections",
                               final_endpoints.empty()
                                   ? std::string("no endpoint")
                                   : fmt::format("{}", fmt::join(final_endpoints, " and ")),
                               in.scn.expect.final_endpoint));
  }
}

}  // namespace

auto judge_handoff_timing(const check_input& in, const episodes& ep) -> v::check_result {
  auto r = start_result(handoff_timing_id);
  if (ep.movings.empty() && in.scn.expect.final_endpoint.empty()) {
    return none_delivered(r, in.scn, maint::kind::moving);
  }
  std::vector<const tl::event*> evidence;
  std::vector<std::string> notes;  // observations that do not fail the check
  for (const auto& m : ep.movings) {
    evidence.push_back(m.pushes.front());
    const seq_judge judge{in, m, r, evidence,
                          fmt::format("MOVING seq {} at {}", m.seq, at(in, m.at))};
    if (m.target && !m.target_known) {
      notes.push_back(fmt::format("{}: target {} is not a simulated endpoint; not judged",
                                  judge.label, m.target_text));
      continue;
    }
    if (m.target) {
      judge.judge_new_endpoint();
    } else {
      judge.judge_null_endpoint();
    }
    judge.judge_handoff_count();
    judge.judge_traffic_moved();
    for (const auto conn_id : m.conns) {
      judge.judge_old_connection(ep.an.conns.at(conn_id), ep.an.end_ns);
    }
    if (m.forced_close_event != nullptr) {
      evidence.push_back(m.forced_close_event);
    }
  }
  if (!in.scn.expect.final_endpoint.empty()) {
    judge_final_endpoint(in, ep, r);
  }
  r.excerpt = excerpt(evidence, 24);
  fail_or_pass(r, fmt::format("{} MOVING event{} handled within the grace", ep.movings.size(),
                              ep.movings.size() == 1 ? "" : "s"));
  r.findings.insert(r.findings.end(), notes.begin(), notes.end());
  return r;
}

}  // namespace schsim::harness::detail
