#include "analysis.hpp"

#include <schsim/core/overloaded.hpp>
#include <schsim/harness/workload.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

namespace schsim::harness::detail {

namespace tl = schsim::timeline;

auto is_opening(std::string_view name) -> bool {
  return name == "MIGRATING" || name == "FAILING_OVER" || name == "SMIGRATING";
}
auto is_closing(std::string_view name) -> bool {
  return name == "MIGRATED" || name == "FAILED_OVER" || name == "SMIGRATED";
}

namespace {

// The opening notification a closing one ends: MIGRATED ends MIGRATING, and so on.
auto opener_of(std::string_view closing) -> std::string {
  if (closing == "MIGRATED") {
    return "MIGRATING";
  }
  if (closing == "FAILED_OVER") {
    return "FAILING_OVER";
  }
  return closing == "SMIGRATED" ? "SMIGRATING" : "";
}

}  // namespace

auto conn_record::closed_at() const -> std::int64_t {
  return closed_event != nullptr ? closed_event->t_ns : forever;
}

auto conn_record::open_at(std::int64_t t) const -> bool { return opened <= t && t < closed_at(); }

auto conn_record::reply_to(std::uint64_t index) const -> const timeline::event* {
  const auto it = std::find_if(replies.begin(), replies.end(), [&](const auto* e) {
    return std::get<tl::reply_written>(e->what).index == index;
  });
  return it != replies.end() ? *it : nullptr;
}

auto parse_redirection(std::string_view reply_summary) -> std::optional<redirection> {
  redirection r;
  if (reply_summary.starts_with("-MOVED ")) {
    reply_summary.remove_prefix(7);
  } else if (reply_summary.starts_with("-ASK ")) {
    r.ask = true;
    reply_summary.remove_prefix(5);
  } else {
    return std::nullopt;
  }
  const auto space = reply_summary.find(' ');
  if (space == std::string_view::npos) {
    return std::nullopt;
  }
  unsigned slot = 0;
  const auto digits = reply_summary.substr(0, space);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), slot);
  if (ec != std::errc{} || end != digits.data() + digits.size() || slot >= 16384) {
    return std::nullopt;
  }
  r.slot = static_cast<std::uint16_t>(slot);
  r.address = std::string(reply_summary.substr(space + 1));
  return r;
}

auto is_cluster_refusal(std::string_view reply_summary) -> bool {
  return parse_redirection(reply_summary).has_value() || reply_summary.starts_with("-TRYAGAIN") ||
         reply_summary.starts_with("-CROSSSLOT") || reply_summary.starts_with("-CLUSTERDOWN");
}

auto is_setup_command(const std::vector<std::string>& args) -> bool {
  if (args.empty()) {
    return true;
  }
  std::string name = args[0];
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return name == "HELLO" || name == "AUTH" || name == "CLIENT" || name == "SELECT" ||
         name == "READONLY" || name == "READWRITE" || name == "ASKING" || name == "CLUSTER" ||
         name == "COMMAND" || name == "QUIT";
}

namespace {

// A data command on its connection, and among the arrivals of its identity (or, without one,
// of its exact arguments).
void record_command(analysis& an, conn_record& c, const tl::event& e,
                    const tl::command_received& d) {
  c.commands.push_back(&e);
  if (is_setup_command(d.args)) {
    return;
  }
  c.data.push_back(&e);
  if (auto id = command_identity(d.args)) {
    an.arrivals[*id].push_back(&e);
  } else {
    an.untied_arrivals[d.args].push_back(&e);
  }
}

// A closing notification ends the open windows of its opener; when it ends more than one, the
// time after it is an overlap tail until the next closing one.
void close_relax_windows(conn_record& c, std::int64_t t, std::string_view closing) {
  for (auto& tail : c.overlap_tails) {
    if (tail.end == forever) {
      tail.end = t;
    }
  }
  const auto opener = opener_of(closing);
  int open = 0;
  for (std::size_t i = 0; i < c.relax_windows.size(); ++i) {
    if (c.relax_windows[i].end == forever && c.relax_openers[i] == opener) {
      c.relax_windows[i].end = t;
      ++open;
    }
  }
  if (open > 1) {
    c.overlap_tails.push_back({t, forever});
  }
}

void record_push(analysis& an, conn_record& c, const tl::event& e, const tl::push_written& d) {
  c.pushes.push_back(&e);
  if (is_opening(d.name)) {
    c.relax_windows.push_back({e.t_ns, forever});
    c.relax_openers.push_back(d.name);
  } else if (is_closing(d.name)) {
    close_relax_windows(c, e.t_ns, d.name);
  } else if (d.name == "MOVING") {
    if (!c.moving_at) {
      c.moving_at = e.t_ns;
    }
    if (!an.first_moving || e.t_ns < *an.first_moving) {
      an.first_moving = e.t_ns;
    }
  }
}

// An event of a connection, into its record (opened on its first event).
void record_connection_event(analysis& an, const tl::event& e) {
  auto& c = an.conns[e.conn];
  if (c.id == 0) {
    c.id = e.conn;
    c.endpoint = e.endpoint;
    c.opened = e.t_ns;
  }
  std::visit(overloaded{
                 [&](const tl::connection_opened&) {
                   c.opened = e.t_ns;
                   c.opened_event = &e;
                 },
                 [&](const tl::connection_closed&) {
                   if (c.closed_event == nullptr) {
                     c.closed_event = &e;
                   }
                 },
                 [&](const tl::hello&) { c.hellos.push_back(&e); },
                 [&](const tl::maint_handshake&) { c.maints.push_back(&e); },
                 [&](const tl::tls_handshake&) { c.tls = &e; },
                 [&](const tl::command_received& d) { record_command(an, c, e, d); },
                 [&](const tl::reply_written&) { c.replies.push_back(&e); },
                 [&](const tl::cluster_redirect& d) {
                   // Recorded right after the command it answers, on the same connection.
                   if (!c.commands.empty()) {
                     an.redirects[c.commands.back()] = {d.what == tl::cluster_redirect::kind::ask,
                                                        d.slot, d.address};
                   }
                 },
                 [&](const tl::push_written& d) { record_push(an, c, e, d); },
                 [](const auto&) {},
             },
             e.what);
}

// A command a cluster node answered with -MOVED/-ASK (or refused otherwise) was not executed
// there: it counts as an arrival, never as an execution. The other arrivals are receipts.
void separate_refusals(analysis& an) {
  std::set<const tl::event*> refused;
  for (auto& [id, c] : an.conns) {
    for (const auto* e : c.data) {
      const auto* reply = c.reply_to(std::get<tl::command_received>(e->what).index);
      const auto* written = reply != nullptr ? &std::get<tl::reply_written>(reply->what) : nullptr;
      if (!an.redirects.contains(e) && written != nullptr && written->error) {
        if (auto r = parse_redirection(written->summary)) {
          an.redirects[e] = std::move(*r);
        }
      }
      if (an.redirects.contains(e) ||
          (written != nullptr && written->error && is_cluster_refusal(written->summary))) {
        c.redirected.push_back(e);
        refused.insert(e);
      }
    }
  }
  for (const auto& [identity, arrived] : an.arrivals) {
    for (const auto* e : arrived) {
      if (!refused.contains(e)) {
        an.receipts[identity].push_back(e);
      }
    }
  }
}

// Reply delays: latency and stall steps as they actually ran, per endpoint; each one lasts
// until the next latency/stall/release step on the same endpoint.
auto reply_delays(const check_input& in, const analysis& an) -> std::vector<delay_interval> {
  struct change {
    std::int64_t t;
    std::string endpoint;
    double delay_ms;
    std::string step;
  };
  std::vector<change> changes;
  for (const auto& [id, ev] : an.step_runs) {
    const auto* st = in.scn.find_step(id);
    if (st == nullptr) {
      continue;
    }
    if (const auto* lat = std::get_if<scenario::latency_action>(&st->what)) {
      changes.push_back({ev->t_ns, lat->endpoint, static_cast<double>(lat->delay.count()), id});
    } else if (const auto* stall = std::get_if<scenario::stall_action>(&st->what)) {
      changes.push_back({ev->t_ns, stall->endpoint, INFINITY, id});
    } else if (const auto* rel = std::get_if<scenario::release_action>(&st->what)) {
      changes.push_back({ev->t_ns, rel->endpoint, 0.0, id});
    }
  }
  std::sort(changes.begin(), changes.end(),
            [](const change& a, const change& b) { return a.t < b.t; });
  std::vector<delay_interval> delays;
  for (const auto& ch : changes) {
    for (auto& d : delays) {
      if (d.endpoint == ch.endpoint && d.end == forever) {
        d.end = ch.t;
      }
    }
    if (ch.delay_ms > 0) {
      delays.push_back({ch.endpoint, ch.t, forever, ch.delay_ms, ch.step});
    }
  }
  return delays;
}

}  // namespace

auto analyze(const check_input& in) -> analysis {
  analysis an;
  for (const auto& cmd : in.driver.commands) {
    if (auto id = command_identity(cmd.args)) {
      an.commands_by_identity.emplace(std::move(*id), &cmd);
    }
  }
  for (const auto& e : in.events) {
    an.end_ns = std::max(an.end_ns, e.t_ns);
    if (const auto* step = std::get_if<tl::step_executed>(&e.what)) {
      an.step_runs.emplace(step->step, &e);
    } else if (e.conn != 0) {
      record_connection_event(an, e);
    }
  }
  an.end_ns = in.driver.shutdown_ns > 0 ? in.driver.shutdown_ns : an.end_ns;
  separate_refusals(an);
  an.delays = reply_delays(in, an);
  return an;
}

// `reply_at`: when the server wrote the reply (or would have). A window that closes while the
// command waits, before its normal timeout (with the tolerance) ran out, leaves either outcome
// right: a client may restore the normal timeout of a pending read as it relaxes it, and then
// times out when a client that never relaxed would.
auto classify(const check_input& in, const analysis& an, const conn_record& c, std::int64_t t,
              std::int64_t reply_at) -> zone {
  const auto normal_wait = static_cast<std::int64_t>(
      static_cast<double>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(in.scn.client.timeout).count()) *
      (1 + in.scn.expect.timeout_tolerance));
  const auto post_handoff =
      std::chrono::duration_cast<std::chrono::nanoseconds>(in.scn.client.post_handoff_relaxed)
          .count();
  // Inside a window first: another window that ended just before does not make it ambiguous.
  for (const auto& w : c.relax_windows) {
    if (w.start <= t && t < w.end) {
      return w.end < reply_at && w.end < t + normal_wait ? zone::ambiguous : zone::relaxed;
    }
  }
  for (const auto& w : c.relax_windows) {
    // Clients may keep the relaxed timeout a while after the window (go-redis post-handoff,
    // Lettuce's grace): neither outcome is wrong there.
    if (w.end <= t && t < w.end + post_handoff) {
      return zone::ambiguous;
    }
  }
  if (c.moving_at && *c.moving_at <= t) {
    return zone::ambiguous;
  }
  if (std::any_of(c.overlap_tails.begin(), c.overlap_tails.end(),
                  [&](const auto& tail) { return tail.start <= t && t < tail.end; })) {
    return zone::ambiguous;
  }
  // A window that opens, or a MOVING that arrives, while the command still waits and before its
  // normal timeout (with the tolerance) has run out: clients relax the connection's pending
  // reads too (go-redis and redis-py move the socket's deadline), so either outcome is right.
  const auto relaxes_while_waiting = [&](std::int64_t at) {
    return t < at && at < t + normal_wait;
  };
  if (std::any_of(c.relax_windows.begin(), c.relax_windows.end(),
                  [&](const auto& w) { return relaxes_while_waiting(w.start); }) ||
      (c.moving_at && relaxes_while_waiting(*c.moving_at))) {
    return zone::ambiguous;
  }
  if (an.first_moving && *an.first_moving <= c.opened && t < c.opened + post_handoff) {
    return zone::ambiguous;
  }
  return zone::normal;
}

auto receipts_in_flight(const analysis& an, const verdict::command_outcome& cmd)
    -> std::vector<const tl::event*> {
  if (const auto identity = command_identity(cmd.args)) {
    const auto it = an.arrivals.find(*identity);
    return it != an.arrivals.end() ? it->second : std::vector<const tl::event*>{};
  }
  std::vector<const tl::event*> out;
  const auto it = an.untied_arrivals.find(cmd.args);
  if (it == an.untied_arrivals.end()) {
    return out;
  }
  // Not yet done: the command may still be waiting at the end of the run.
  const auto until = cmd.completed ? cmd.done_ns : forever;
  for (const auto* e : it->second) {
    if (e->t_ns >= cmd.sent_ns && e->t_ns <= until) {
      out.push_back(e);
    }
  }
  return out;
}

auto judge_delays(const check_input& in, const analysis& an) -> std::vector<delay_judgement> {
  std::vector<delay_judgement> out;
  const double normal_ms = static_cast<double>(in.scn.client.timeout.count());
  const double relaxed_ms =
      in.scn.client.relaxed_timeout
          ? std::max(normal_ms, static_cast<double>(in.scn.client.relaxed_timeout->count()))
          : normal_ms;
  // Too close to the bound to tell a correct timeout from a wrong one.
  constexpr double margin = 0.1;
  // Judged where the command first arrived: a redirection held back by a reply delay is as much
  // a wait for a reply as an execution's. One rule for every command type: a command without an
  // id of its own is found by its arguments while it was in flight.
  for (const auto& command : in.driver.commands) {
    const auto arrived = receipts_in_flight(an, command);
    if (arrived.empty()) {
      continue;
    }
    const auto* received = arrived.front();
    const auto& conn = an.conns.at(received->conn);
    const auto index = std::get<tl::command_received>(received->what).index;
    const auto reply = std::find_if(conn.replies.begin(), conn.replies.end(), [&](const auto* e) {
      return std::get<tl::reply_written>(e->what).index == index;
    });
    const auto delay = std::find_if(an.delays.begin(), an.delays.end(), [&](const auto& d) {
      return d.endpoint == conn.endpoint && d.start <= received->t_ns && received->t_ns < d.end;
    });
    // Replies go out in order, so a command sent just after a delay ends may still wait behind
    // the delayed replies: what counts is when its reply was actually written.
    double delay_ms = 0;
    bool blocked = false;
    if (reply != conn.replies.end()) {
      delay_ms = ms_between(received->t_ns, (*reply)->t_ns);
    } else if (delay != an.delays.end()) {
      delay_ms = delay->delay_ms;
    } else {
      // No reply was ever written: if an earlier reply was still held when this command came,
      // it waited behind it for an unknown time.
      blocked = std::any_of(conn.commands.begin(), conn.commands.end(), [&](const auto* e) {
        const auto i = std::get<tl::command_received>(e->what).index;
        if (i >= index) {
          return false;
        }
        const auto r = std::find_if(conn.replies.begin(), conn.replies.end(), [&](const auto* w) {
          return std::get<tl::reply_written>(w->what).index == i;
        });
        return r == conn.replies.end() || (*r)->t_ns > received->t_ns;
      });
    }
    if (delay == an.delays.end() && !blocked && delay_ms < normal_ms * (1 - margin)) {
      continue;  // an ordinary fast reply
    }
    delay_judgement j;
    j.command = &command;
    j.received = received;
    j.conn = &conn;
    const auto reply_at = received->t_ns + static_cast<std::int64_t>(delay_ms * 1e6);
    j.where = blocked ? zone::ambiguous : classify(in, an, conn, received->t_ns, reply_at);
    j.delay_ms = delay_ms;
    j.bound_ms = j.where == zone::relaxed ? relaxed_ms : normal_ms;
    // A connection lost while waiting is not a timeout to judge (in-place upgrade, forced close).
    const bool lost = j.command->completed && !j.command->ok && j.command->error_class != "timeout";
    if (j.where != zone::ambiguous && !lost) {
      if (j.delay_ms < j.bound_ms * (1 - margin)) {
        j.expect = expectation::succeed;
      } else if (j.delay_ms > j.bound_ms * (1 + margin)) {
        j.expect = expectation::time_out;
      }
    }
    out.push_back(j);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.command->id < b.command->id; });
  return out;
}

namespace {

using failure_reasons = std::map<std::uint64_t, std::string>;
/// sent..done of each command that timed out on purpose.
using spans = std::vector<std::pair<std::int64_t, std::int64_t>>;

/// A delayed reply's command that timed out as the delay meant (or whose wait was unjudged).
void excuse_delay_timeouts(const check_input& in, const analysis& an, failure_reasons& out,
                           spans& fallout) {
  for (const auto& j : judge_delays(in, an)) {
    if ((j.expect == expectation::time_out ||
         (j.expect == expectation::unjudged && !j.command->ok)) &&
        (j.command->error_class.empty() || j.command->error_class == "timeout")) {
      out[j.command->id] = fmt::format(
          "reply delayed {} ms on purpose",
          std::isinf(j.delay_ms) ? std::string("forever") : fmt::format("{:.0f}", j.delay_ms));
      if (j.command->completed) {
        fallout.emplace_back(j.command->sent_ns, j.command->done_ns);
      }
    }
  }
}

/// Commands the server never received (any type; those it received were judged by their
/// delay): a timeout while a reply delay was in force, or while replies were still queued behind
/// it, was provoked (the command waited in the client behind the delayed ones).
void excuse_unreceived_delay_timeouts(const check_input& in, const analysis& an,
                                      failure_reasons& out) {
  for (const auto& cmd : in.driver.commands) {
    if (cmd.ok || !cmd.completed || out.contains(cmd.id) ||
        (cmd.error_class != "timeout" && !cmd.error_class.empty()) ||
        !receipts_in_flight(an, cmd).empty()) {
      continue;
    }
    for (const auto& d : an.delays) {
      const auto held_until = d.end == forever || std::isinf(d.delay_ms)
                                  ? forever
                                  : d.end + static_cast<std::int64_t>(d.delay_ms * 1e6);
      // In flight when the delay began counts too: its reply may have been the first held.
      if (cmd.done_ns >= d.start && cmd.sent_ns <= held_until) {
        out[cmd.id] = fmt::format("sent while replies on {} were delayed", d.endpoint);
        break;
      }
    }
  }
}

auto closed_by_server(const conn_record& c) -> bool {
  return c.closed_event != nullptr &&
         std::get<tl::connection_closed>(c.closed_event->what).by == tl::close_initiator::server;
}

/// A reply still unwritten when the server closed the connection was lost with it: the
/// scenario's close (a drop, a restart, a stall or a delay outlasting the connection) took it,
/// no client can read it, and retrying a command the server executed is not safe. Not so on a
/// connection told MOVING before the command arrived: a client that heeds MOVING has moved its
/// traffic off the old connection before the server closes it.
void excuse_replies_lost_with_close(const check_input& in, const analysis& an,
                                    failure_reasons& out) {
  for (const auto& cmd : in.driver.commands) {
    if (cmd.ok || !cmd.completed || out.contains(cmd.id)) {
      continue;
    }
    for (const auto* received : receipts_in_flight(an, cmd)) {
      const auto conn = an.conns.find(received->conn);
      if (conn == an.conns.end()) {
        continue;
      }
      const auto& c = conn->second;
      const auto closed = c.closed_at();
      const bool warned = c.moving_at && *c.moving_at <= received->t_ns;
      if (!closed_by_server(c) || warned || cmd.done_ns < closed ||
          c.reply_to(std::get<tl::command_received>(received->what).index) != nullptr) {
        continue;
      }
      out[cmd.id] = fmt::format(
          "received on {} #{} at {}; its reply was not yet written when the server closed the "
          "connection at {}",
          c.endpoint, c.id, at(in, received->t_ns), at(in, closed));
      break;
    }
  }
}

/// A command the client wrote as the server's FIN was on its way (handed to the client within
/// this long of the server's close, either side) and the server never read: the client could
/// not have known of a close it had not yet read, and it cannot know whether the server read
/// the command before closing, so failing it is the close's doing, not a drop.
constexpr std::int64_t fin_crossing_ns = 1'000'000;

/// docs/reports.md, zero_dropped: a command handed to the client within 1 ms of a server-side
/// close of one of its connections (not one told MOVING), that failed with a connection error
/// and was never received by the server, crossed the FIN.
void excuse_fin_crossings(const check_input& in, const analysis& an, failure_reasons& out) {
  for (const auto& cmd : in.driver.commands) {
    if (cmd.ok || !cmd.completed || out.contains(cmd.id) || cmd.error_class == "timeout" ||
        !receipts_in_flight(an, cmd).empty()) {
      continue;
    }
    for (const auto& [id, c] : an.conns) {
      const auto closed = c.closed_at();
      if (!closed_by_server(c) || (c.moving_at && *c.moving_at <= closed) ||
          cmd.sent_ns < closed - fin_crossing_ns || cmd.sent_ns > closed + fin_crossing_ns) {
        continue;
      }
      out[cmd.id] = fmt::format(
          "handed to the client {:+.3f} ms from the server's close of {} #{} at {}, and never "
          "received: it crossed the FIN (within {} ms), which the client had not read",
          ms_between(closed, cmd.sent_ns), c.endpoint, c.id, at(in, closed),
          fin_crossing_ns / 1'000'000);
      break;
    }
  }
}

/// A timeout usually costs the connection: commands sent while the timed-out one waited, and
/// just after, fail with it.
void excuse_fallout(const check_input& in, const spans& fallout, failure_reasons& out) {
  constexpr std::int64_t after_ns = 100'000'000;
  for (const auto& cmd : in.driver.commands) {
    if (cmd.ok || out.contains(cmd.id)) {
      continue;
    }
    for (const auto& [from, to] : fallout) {
      if (cmd.sent_ns >= from && cmd.sent_ns <= to + after_ns) {
        out[cmd.id] = "fell with a connection that timed out on purpose";
        break;
      }
    }
  }
}

}  // namespace

auto expected_failures(const check_input& in, const analysis& an)
    -> std::map<std::uint64_t, std::string> {
  failure_reasons out;
  spans fallout;
  excuse_delay_timeouts(in, an, out, fallout);
  excuse_unreceived_delay_timeouts(in, an, out);
  excuse_replies_lost_with_close(in, an, out);
  excuse_fin_crossings(in, an, out);
  excuse_fallout(in, fallout, out);
  return out;
}

auto at(const check_input& in, std::int64_t t) -> std::string {
  return fmt::format("{:+.1f} ms", static_cast<double>(t - in.start_ns) / 1e6);
}

auto ms_between(std::int64_t from, std::int64_t to) -> double {
  return static_cast<double>(to - from) / 1e6;
}

auto excerpt(std::vector<const timeline::event*> events, std::size_t limit)
    -> std::vector<timeline::event> {
  std::sort(events.begin(), events.end(), [](const auto* a, const auto* b) {
    return a->t_ns != b->t_ns ? a->t_ns < b->t_ns : a < b;
  });
  events.erase(std::unique(events.begin(), events.end()), events.end());
  std::vector<timeline::event> out;
  for (const auto* e : events) {
    if (out.size() >= limit) {
      break;
    }
    out.push_back(*e);
  }
  return out;
}

auto join(const std::vector<std::string>& args) -> std::string {
  std::string out;
  for (const auto& a : args) {
    out += (out.empty() ? "" : " ") + a;
  }
  return out;
}

}  // namespace schsim::harness::detail
