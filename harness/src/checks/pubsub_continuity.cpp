// pubsub_continuity: the workload's subscription survives maintenance; every message published
// while it was held reaches the application exactly once, in order per channel.
#include <fmt/format.h>

#include <algorithm>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;

namespace {

/// Findings of one rule itemised up to this many; the rest are counted in one more.
constexpr std::size_t itemised_per_rule = 8;

auto resubscribe_grace_ns(const check_input& in) -> std::int64_t {
  const auto grace = in.scn.expect.resubscribe_within.value_or(default_resubscribe_within);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(grace).count();
}

auto conn_list(const std::vector<std::uint64_t>& conns) -> std::string {
  std::string out;
  for (const auto c : conns) out += fmt::format("{}{}", out.empty() ? "" : ", ", c);
  return out;
}

/// A holder's connection ended (closed by the server) before the message was written whole to
/// it: the message went down with the connection, which the client could not prevent.
auto cut_by_server_close(const analysis& an, const published_message& m) -> bool {
  return std::all_of(m.holders.begin(), m.holders.end(), [&](std::uint64_t conn) {
    const auto& c = an.conns.at(conn);
    const bool written = std::any_of(m.written.begin(), m.written.end(),
                                     [&](const auto* e) { return e->conn == conn; });
    return !written && c.closed_event != nullptr &&
           std::get<tl::connection_closed>(c.closed_event->what).by == tl::close_initiator::server;
  });
}

struct rule_counter {
  std::map<std::string, std::size_t> seen;
  /// True while the rule has room for another itemised finding.
  auto itemise(const std::string& rule) -> bool { return ++seen[rule] <= itemised_per_rule; }
  void summarise(v::check_result& r, std::string_view what) const {
    for (const auto& [rule, n] : seen) {
      if (n > itemised_per_rule) {
        v::add_finding(r, rule, fmt::format("{} {} in all", n, what));
      }
    }
  }
};

void judge_messages(const check_input& in, const episodes& ep, v::check_result& r,
                    std::vector<const tl::event*>& evidence) {
  const auto& f = ep.pubsub;
  const auto& reports = in.driver.pubsub.messages;
  rule_counter count;
  for (const auto& m : f.published) {
    if (m.at < *f.first_held || m.at > f.judged_until || m.holders.empty()) continue;
    if (m.reports.empty() && !cut_by_server_close(ep.an, m)) {
      if (count.itemise("lost")) {
        v::add_finding(r, "lost",
                       fmt::format("seq:{} on {} published at {} while connection {} held the "
                                   "subscription ({}), never handed to the application",
                                   m.seq, m.channel, at(in, m.at), conn_list(m.holders),
                                   m.written.empty() ? "not yet written when the run ended"
                                                     : fmt::format("written whole at {}",
                                                                   at(in, m.written[0]->t_ns))));
        evidence.push_back(m.event);
        if (!m.written.empty()) evidence.push_back(m.written[0]);
      }
    } else if (m.reports.size() > 1 && count.itemise("duplicated")) {
      v::add_finding(
          r, "duplicated",
          fmt::format("seq:{} on {} handed to the application {} times (at {} and "
                      "{}); {} connection(s) held the subscription when it was "
                      "published ({}), so the server sent it {} time(s)",
                      m.seq, m.channel, m.reports.size(), at(in, reports[m.reports[0]].t_ns),
                      at(in, reports[m.reports[1]].t_ns), m.holders.size(), conn_list(m.holders),
                      m.written.size()));
      evidence.push_back(m.event);
      for (const auto* w : m.written) evidence.push_back(w);
    }
  }
  count.summarise(r, "messages");
}

void judge_reports(const check_input& in, const episodes& ep, v::check_result& r) {
  const auto& f = ep.pubsub;
  const auto& reports = in.driver.pubsub.messages;
  rule_counter count;
  for (const auto i : f.unknown_reports) {
    if (count.itemise("unknown_message")) {
      v::add_finding(r, "unknown_message",
                     fmt::format("the client handed the application a message the server never "
                                 "published: channel \"{}\", payload \"{}\" at {}",
                                 reports[i].channel, reports[i].payload.substr(0, 64),
                                 at(in, reports[i].t_ns)));
    }
  }
  for (const auto& [earlier, later] : f.out_of_order) {
    if (count.itemise("out_of_order")) {
      v::add_finding(
          r, "out_of_order",
          fmt::format("on {}: seq:{} handed over at {} after seq:{} at {}", reports[later].channel,
                      reports[later].seq.value_or(0), at(in, reports[later].t_ns),
                      reports[earlier].seq.value_or(0), at(in, reports[earlier].t_ns)));
    }
  }
  count.summarise(r, "reports");
}

auto messages_in(const pubsub_facts& f, std::int64_t from, std::int64_t to) -> std::size_t {
  return static_cast<std::size_t>(
      std::count_if(f.published.begin(), f.published.end(),
                    [&](const auto& m) { return m.at >= from && m.at < to && m.holders.empty(); }));
}

/// Each gap after the first subscription: explained by maintenance and short enough, or a
/// finding. Returns the longest explained gap and how many messages fell in such gaps.
auto judge_gaps(const check_input& in, const episodes& ep, v::check_result& r,
                std::vector<const tl::event*>& evidence) -> std::pair<double, std::size_t> {
  const auto& f = ep.pubsub;
  const auto grace = resubscribe_grace_ns(in);
  double longest_ms = 0;
  std::size_t lost_in_windows = 0;
  for (const auto& g : f.gaps) {
    const auto end = g.end.value_or(f.judged_until);
    const auto lost = messages_in(f, g.start, end);
    const std::string channels =
        g.channels.size() == 1 ? g.channels[0] : fmt::format("{} channels", g.channels.size());
    const std::string how = g.ended != nullptr
                                ? fmt::format("connection {}'s subscription ended at {} ({})",
                                              g.ended->conn, at(in, g.start), g.ended->ended_by)
                                : fmt::format("the subscription ended at {}", at(in, g.start));
    const std::string again = g.end ? fmt::format("held again at {}", at(in, *g.end))
                                    : std::string("never held again before the end");
    if (g.ended != nullptr) {
      const auto& c = ep.an.conns.at(g.ended->conn);
      if (c.closed_event != nullptr) evidence.push_back(c.closed_event);
    }
    if (g.ended == nullptr || g.ended->cause.empty()) {
      v::add_finding(r, "dropped_without_maintenance",
                     fmt::format("{} on {} with no maintenance event to explain it; {}; {} "
                                 "message(s) published in between were lost",
                                 how, channels, again, lost));
    } else if (end - g.start > grace) {
      // A gap still open when the judged part of the run ended is judged only once it has
      // outlasted the grace: until then the client may yet take the subscription again.
      v::add_finding(r, "not_resubscribed",
                     fmt::format("{} on {} after {}; {} ({:.0f} ms, more than the {:.0f} ms "
                                 "allowed); {} message(s) published in between were lost",
                                 how, channels, g.ended->cause, again, ms_between(g.start, end),
                                 static_cast<double>(grace) / 1e6, lost));
    } else {
      longest_ms = std::max(longest_ms, ms_between(g.start, end));
      lost_in_windows += lost;
    }
  }
  return {longest_ms, lost_in_windows};
}

/// The subscription itself: asked for, confirmed by the driver, seen by the server.
auto judge_subscription(const check_input& in, const episodes& ep, v::check_result& r) -> bool {
  const auto& sub = in.driver.pubsub;
  if (!sub.subscribed) {
    v::add_finding(
        r, "subscribe_failed",
        fmt::format("the client did not subscribe: {} {}", sub.error_class, sub.message));
    return false;
  }
  if (!ep.pubsub.first_held) {
    v::add_finding(r, "never_subscribed",
                   fmt::format("the driver answered subscribed at {}, but the server never saw "
                               "a subscription covering every workload channel ({})",
                               at(in, sub.at_ns), join(ep.pubsub.channels)));
    return false;
  }
  return true;
}

}  // namespace

auto judge_pubsub_continuity(const check_input& in, const episodes& ep) -> v::check_result {
  auto r = start_result(pubsub_continuity_id);
  const auto& f = ep.pubsub;
  if (!f.active) {
    return not_applicable(r, "the scenario has no [workload.pubsub]");
  }
  if (!in.driver.pubsub.asked) {
    return judged_nothing(r, "the client never connected, so it was not asked to subscribe");
  }
  if (!judge_subscription(in, ep, r)) {
    return fail_or_pass(r, "");
  }
  std::vector<const tl::event*> evidence;
  judge_messages(in, ep, r, evidence);
  judge_reports(in, ep, r);
  const auto [longest_gap_ms, lost_in_windows] = judge_gaps(in, ep, r, evidence);
  const auto owed = std::count_if(f.published.begin(), f.published.end(), [&](const auto& m) {
    return m.at >= *f.first_held && m.at <= f.judged_until && !m.holders.empty();
  });
  const double grace_ms = static_cast<double>(resubscribe_grace_ns(in)) / 1e6;
  r.figures = {{"messages_published", static_cast<double>(f.published.size()), ""},
               {"messages_owed", static_cast<double>(owed), ""},
               {"messages_reported", static_cast<double>(in.driver.pubsub.messages.size()), ""},
               {"subscription_gaps", static_cast<double>(f.gaps.size()), ""},
               {"longest_gap", longest_gap_ms, "ms"},
               {"lost_in_gaps", static_cast<double>(lost_in_windows), ""}};
  r.tolerances = {{"longest_gap", std::nullopt, grace_ms, "ms", "expect.resubscribe_within"}};
  r.excerpt = excerpt(evidence);
  if (owed == 0 && r.findings.empty()) {
    return judged_nothing(r, "no message was published while the client held its subscription");
  }
  return fail_or_pass(
      r, fmt::format("{} messages published while subscribed, each handed over exactly once and "
                     "in order; {} gap(s) after maintenance, the longest {:.1f} ms (at most "
                     "{:.0f}), {} message(s) published in them",
                     owed, f.gaps.size(), longest_gap_ms, grace_ms, lost_in_windows));
}

}  // namespace schsim::harness::detail
