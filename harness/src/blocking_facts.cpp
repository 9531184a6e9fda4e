#include "blocking_facts.hpp"

#include <schsim/harness/workload.hpp>
#include <schsim/simulator/pubsub.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace schsim::harness::detail {

namespace tl = schsim::timeline;

// Named, not anonymous: unity builds put this file beside pubsub_continuity's helpers.
namespace blocking_build {

auto ns_of(std::chrono::milliseconds d) -> std::int64_t {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

/// The longest a call may wait: its own timeout, then the client's read timeout (relaxed, as a
/// maintenance window may have opened meanwhile) with the scenario's tolerance.
auto allowed_ns(const check_input& in) -> std::int64_t {
  const auto& b = *in.scn.load.blocking;
  if (b.timeout <= 0) return 0;
  const auto client = std::max(in.scn.client.timeout,
                               in.scn.client.relaxed_timeout.value_or(in.scn.client.timeout));
  const auto read_ns = static_cast<double>(ns_of(client)) * (1.0 + in.scn.expect.timeout_tolerance);
  return static_cast<std::int64_t>(b.timeout * 1e9 + read_ns) + ns_of(blocking_hang_slack);
}

/// The producer's elements (connection 0), with every pop of them on a client connection.
auto find_pushed(const check_input& in) -> std::vector<pushed_element> {
  std::map<std::int64_t, pushed_element> by_seq;
  for (const auto& e : in.events) {
    if (const auto* p = std::get_if<tl::list_pushed>(&e.what); p && p->producer) {
      if (const auto seq = simulator::payload_seq(p->element)) {
        by_seq[*seq] = pushed_element{*seq, p->key, e.t_ns, &e, {}, {}};
      }
    } else if (const auto* o = std::get_if<tl::list_popped>(&e.what); o && e.conn != 0) {
      const auto seq = simulator::payload_seq(o->element);
      if (const auto it = seq ? by_seq.find(*seq) : by_seq.end(); it != by_seq.end()) {
        it->second.popped.push_back(&e);
      }
    }
  }
  std::vector<pushed_element> out;
  out.reserve(by_seq.size());
  for (auto& [seq, el] : by_seq) out.push_back(std::move(el));
  return out;
}

void match_reports(const check_input& in, blocking_facts& f) {
  const auto& reports = in.driver.blocking.reports;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    if (r.what != block_report::kind::popped) continue;
    const auto it =
        r.seq ? std::lower_bound(f.pushed.begin(), f.pushed.end(), *r.seq,
                                 [](const auto& el, std::int64_t s) { return el.seq < s; })
              : f.pushed.end();
    // Only what the server wrote to the client can reach the application.
    if (it == f.pushed.end() || it->seq != *r.seq || it->written() == nullptr) {
      f.unknown_reports.push_back(i);
      continue;
    }
    it->reports.push_back(i);
  }
}

/// Maintenance pushes written to any client connection in [from, to].
auto maintenance_between(const check_input& in, const analysis& an, std::int64_t from,
                         std::int64_t to) -> std::vector<std::string> {
  std::vector<std::string> out;
  for (const auto& [id, c] : an.conns) {
    for (const auto* p : c.pushes) {
      if (p->t_ns >= from && p->t_ns <= to) {
        out.push_back(fmt::format("{} to connection {} at {}",
                                  std::get<tl::push_written>(p->what).name, id, at(in, p->t_ns)));
      }
    }
  }
  return out;
}

/// Calls answered too late, and the one still pending at the end if it has waited too long.
/// The consumer issues its next call as soon as one is answered (driver-protocol.md).
auto find_hung(const check_input& in, const analysis& an, std::int64_t allowed)
    -> std::vector<hung_call> {
  std::vector<hung_call> out;
  const auto& b = in.driver.blocking;
  if (allowed == 0 || !b.started) return out;
  for (std::size_t i = 0; i < b.reports.size(); ++i) {
    const auto& r = b.reports[i];
    if (r.t_ns - r.sent_ns > allowed) {
      out.push_back({r.sent_ns, r.t_ns, i, maintenance_between(in, an, r.sent_ns, r.t_ns)});
    }
  }
  const auto last = b.reports.empty() ? b.at_ns : b.reports.back().t_ns;
  if (an.end_ns - last > allowed) {
    out.push_back({last, std::nullopt, std::nullopt, maintenance_between(in, an, last, an.end_ns)});
  }
  return out;
}

}  // namespace blocking_build

auto pushed_element::written() const -> const timeline::event* {
  const auto it = std::find_if(popped.begin(), popped.end(), [](const auto* e) {
    return std::get<tl::list_popped>(e->what).result == tl::list_popped::outcome::written;
  });
  return it != popped.end() ? *it : nullptr;
}

auto lost_to_server_close(const analysis& an, const timeline::event& popped) -> bool {
  const auto it = an.conns.find(popped.conn);
  if (it == an.conns.end() || it->second.closed_event == nullptr) return false;
  return std::get<tl::connection_closed>(it->second.closed_event->what).by ==
         tl::close_initiator::server;
}

auto reply_held_past_deadline(const check_input& in, const analysis& an, const pushed_element& el)
    -> std::optional<std::string> {
  const auto& b = *in.scn.load.blocking;
  if (el.popped.empty() || b.timeout <= 0) return std::nullopt;  // no deadline to pass
  const auto* e = el.popped.front();
  const auto c = an.conns.find(e->conn);
  if (c == an.conns.end()) return std::nullopt;
  const auto index = std::get<tl::list_popped>(e->what).command;
  const auto call = std::find_if(
      c->second.commands.begin(), c->second.commands.end(),
      [&](const auto* r) { return std::get<tl::command_received>(r->what).index == index; });
  if (call == c->second.commands.end()) return std::nullopt;
  // Served when both the call and the element were there.
  const auto popped_at = std::max(el.at, (*call)->t_ns);
  const auto delay = std::find_if(an.delays.begin(), an.delays.end(), [&](const auto& d) {
    return d.endpoint == c->second.endpoint && d.start <= popped_at && popped_at < d.end;
  });
  if (delay == an.delays.end() || delay->delay_ms <= 0) return std::nullopt;
  // The normal timeout unless surely relaxed: when in doubt the client is given the benefit.
  const auto& windows = c->second.relax_windows;
  const bool relaxed = std::any_of(windows.begin(), windows.end(), [&](const auto& w) {
    return w.start <= popped_at && popped_at < w.end;
  });
  const auto read = relaxed ? in.scn.client.relaxed_timeout.value_or(in.scn.client.timeout)
                            : in.scn.client.timeout;
  const double deadline_ms = b.timeout * 1000.0 + static_cast<double>(read.count());
  const double reply_ms = ms_between((*call)->t_ns, popped_at) + delay->delay_ms;
  if (reply_ms <= deadline_ms) return std::nullopt;
  const auto held = std::isinf(reply_ms)
                        ? std::string("until the stall ended")
                        : fmt::format("{:.0f} ms after the call was sent", reply_ms);
  return fmt::format(
      "step {} held the reply of command #{} of connection {} {}, past the "
      "{:.0f} ms any client may wait for it (its timeout plus the read timeout)",
      delay->step, index, e->conn, held, deadline_ms);
}

auto find_blocking(const check_input& in, const analysis& an) -> blocking_facts {
  using namespace blocking_build;  // NOLINT(google-build-using-namespace): this file's helpers
  blocking_facts f;
  if (!in.scn.load.blocking) return f;
  f.active = true;
  f.keys = workload_blocking_keys(in.scn.load);
  f.allowed_ns = allowed_ns(in);
  f.judged_until = an.end_ns - ns_of(blocking_unjudged_tail);
  f.pushed = find_pushed(in);
  match_reports(in, f);
  f.hung = find_hung(in, an, f.allowed_ns);
  return f;
}

}  // namespace schsim::harness::detail
