#include "subscriptions.hpp"

#include <schsim/core/cluster/slots.hpp>
#include <schsim/harness/workload.hpp>
#include <schsim/simulator/pubsub.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace sc = schsim::scenario;

namespace {

auto uppercase_name(std::string s) -> std::string {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return s;
}

struct subscription_command {
  bool subscribe = false;
  sc::subscribe_kind kind = sc::subscribe_kind::channel;
};

auto subscription_command_of(const std::string& name) -> std::optional<subscription_command> {
  const auto n = uppercase_name(name);
  if (n == "SUBSCRIBE") return subscription_command{true, sc::subscribe_kind::channel};
  if (n == "PSUBSCRIBE") return subscription_command{true, sc::subscribe_kind::pattern};
  if (n == "SSUBSCRIBE") return subscription_command{true, sc::subscribe_kind::shard};
  if (n == "UNSUBSCRIBE") return subscription_command{false, sc::subscribe_kind::channel};
  if (n == "PUNSUBSCRIBE") return subscription_command{false, sc::subscribe_kind::pattern};
  if (n == "SUNSUBSCRIBE") return subscription_command{false, sc::subscribe_kind::shard};
  return std::nullopt;
}

/// A MOVING or SMIGRATED written to `c` at or before `t` (for another connection than the one
/// whose subscription ended, only while the MOVING's time, or 1 s, has not run out by `t`).
auto handoff_push_before(const conn_record& c, std::int64_t t, bool same_connection)
    -> const tl::event* {
  for (const auto* p : c.pushes) {
    const auto& push = std::get<tl::push_written>(p->what);
    if (p->t_ns > t || (push.name != "MOVING" && push.name != "SMIGRATED")) continue;
    const std::int64_t valid_ns = push.time_s.value_or(1) * 1'000'000'000;
    if (same_connection || t - p->t_ns <= valid_ns) return p;
  }
  return nullptr;
}

/// Why the server's side explains the end of a subscription at `t` on `c`, if it does: the
/// server closed it, or a handoff was announced to it, or to another connection of the client to
/// the same endpoint. A client acts on the first MOVING it reads: when the subscriber's own copy
/// is queued behind the messages (a slow reader, a fragmented write), the one a command
/// connection read first is what moves the subscriber.
auto maintenance_cause(const check_input& in, const analysis& an, const conn_record& c,
                       std::int64_t t) -> std::string {
  if (c.closed_event != nullptr && c.closed_event->t_ns <= t) {
    const auto& closed = std::get<tl::connection_closed>(c.closed_event->what);
    if (closed.by == tl::close_initiator::server) {
      return fmt::format("the server closed connection {} at {} ({})", c.id,
                         at(in, c.closed_event->t_ns), closed.reason);
    }
  }
  if (const auto* p = handoff_push_before(c, t, true)) {
    return fmt::format("{} written to connection {} at {}",
                       std::get<tl::push_written>(p->what).name, c.id, at(in, p->t_ns));
  }
  for (const auto& [id, other] : an.conns) {
    if (id == c.id || other.endpoint != c.endpoint) continue;
    if (const auto* p = handoff_push_before(other, t, false)) {
      return fmt::format("{} written to connection {} (same endpoint) at {}",
                         std::get<tl::push_written>(p->what).name, id, at(in, p->t_ns));
    }
  }
  return {};
}

void end_span(subscription_span& s, std::int64_t t, std::string by) {
  s.end = t;
  s.ended_by = std::move(by);
}

/// The subscription commands of one connection, replayed in order into spans.
void spans_of(const conn_record& c, std::vector<subscription_span>& out) {
  std::vector<subscription_span> held;
  for (const auto* e : c.commands) {
    const auto& cmd = std::get<tl::command_received>(e->what);
    if (cmd.args.empty()) continue;
    if (uppercase_name(cmd.args[0]) == "RESET") {
      for (auto& s : held) end_span(s, e->t_ns, "RESET");
      out.insert(out.end(), held.begin(), held.end());
      held.clear();
      continue;
    }
    const auto sub = subscription_command_of(cmd.args[0]);
    if (!sub) continue;
    if (const auto* reply = c.reply_to(cmd.index);
        reply != nullptr && std::get<tl::reply_written>(reply->what).error) {
      continue;  // refused (-MOVED for a shard channel elsewhere, a wrong-type argument, ...)
    }
    const std::vector<std::string> names(cmd.args.begin() + 1, cmd.args.end());
    if (sub->subscribe) {
      for (const auto& name : names) {
        const bool already = std::any_of(held.begin(), held.end(), [&](const auto& s) {
          return s.kind == sub->kind && s.name == name;
        });
        if (!already) {
          held.push_back({c.id, c.endpoint, name, sub->kind, e->t_ns, forever, {}, {}});
        }
      }
      continue;
    }
    const auto ends = [&](const subscription_span& s) {
      return s.kind == sub->kind &&
             (names.empty() || std::find(names.begin(), names.end(), s.name) != names.end());
    };
    for (auto& s : held) {
      if (ends(s)) {
        end_span(s, e->t_ns, uppercase_name(cmd.args[0]));
        out.push_back(s);
      }
    }
    std::erase_if(held, ends);
  }
  for (auto& s : held) {
    if (c.closed_event != nullptr) {
      const auto& closed = std::get<tl::connection_closed>(c.closed_event->what);
      end_span(s, c.closed_event->t_ns,
               closed.by == tl::close_initiator::server
                   ? fmt::format("closed by the server ({})", closed.reason)
                   : std::string("closed by the client"));
    }
    out.push_back(s);
  }
}

/// A completed slot migration, as the server recorded it.
struct slot_move {
  std::int64_t t = 0;
  const tl::slot_migration_completed* what = nullptr;
  schsim::cluster::slot_set slots;
};

auto completed_moves(const check_input& in) -> std::vector<slot_move> {
  std::vector<slot_move> out;
  for (const auto& e : in.events) {
    if (const auto* m = std::get_if<tl::slot_migration_completed>(&e.what)) {
      auto parsed = schsim::cluster::parse_slot_set(m->slots);
      if (auto* slots = std::get_if<schsim::cluster::slot_set>(&parsed)) {
        out.push_back({e.t_ns, m, std::move(*slots)});
      }
    }
  }
  return out;
}

/// A shard subscription ends where its channel's slot leaves the node: Redis (and the
/// simulator, when the migration completes) drops it and pushes `sunsubscribe` to the
/// subscriber, which must subscribe again on the new owner. The server ended it: that is the
/// maintenance event. True when `s` ended so.
auto ended_by_slot_move(const check_input& in, const std::vector<slot_move>& moves,
                        subscription_span& s) -> bool {
  if (s.kind != sc::subscribe_kind::shard) return false;
  const auto slot = schsim::cluster::key_slot(s.name);
  for (const auto& m : moves) {  // recording order: the first move after the start ends it
    if (m.t < s.start || m.t >= s.end || m.what->from != s.endpoint || !m.slots.contains(slot)) {
      continue;
    }
    end_span(s, m.t, "sunsubscribe from the server");
    s.cause = fmt::format("slot {} moved from {} to {} at {}", slot, m.what->from, m.what->to,
                          at(in, m.t));
    return true;
  }
  return false;
}

auto find_spans(const check_input& in, const analysis& an) -> std::vector<subscription_span> {
  std::vector<subscription_span> spans;
  const auto moves = completed_moves(in);
  for (const auto& [id, c] : an.conns) {
    const auto first = spans.size();
    spans_of(c, spans);
    for (auto i = first; i < spans.size(); ++i) {
      if (ended_by_slot_move(in, moves, spans[i])) continue;
      if (spans[i].end != forever) spans[i].cause = maintenance_cause(in, an, c, spans[i].end);
    }
  }
  std::sort(spans.begin(), spans.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  return spans;
}

/// Uncovered stretches of one channel after `from`: the complement of the spans covering it.
void channel_gaps(const std::vector<subscription_span>& spans, const std::string& channel,
                  std::int64_t from, std::int64_t until, std::vector<subscription_gap>& out) {
  std::vector<const subscription_span*> covering;
  for (const auto& s : spans) {
    if (s.covers(channel) && s.end > from) covering.push_back(&s);
  }
  std::int64_t covered_until = from;
  const subscription_span* last = nullptr;
  for (const auto* s : covering) {  // sorted by start
    if (s->start > covered_until && covered_until < until) {
      out.push_back({covered_until, s->start, last, {channel}});
    }
    if (s->end > covered_until) {
      covered_until = s->end;
      last = s;
    }
  }
  if (covered_until < until) {
    out.push_back({covered_until, std::nullopt, last, {channel}});
  }
}

/// One gap per maintenance event rather than one per channel: overlapping gaps merge.
auto merge_gaps(std::vector<subscription_gap> gaps) -> std::vector<subscription_gap> {
  std::sort(gaps.begin(), gaps.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  std::vector<subscription_gap> merged;
  for (auto& g : gaps) {
    if (!merged.empty()) {
      auto& m = merged.back();
      const auto m_end = m.end.value_or(forever);
      if (g.start <= m_end) {
        if (!g.end || (m.end && *g.end > *m.end)) m.end = g.end;
        m.channels.insert(m.channels.end(), g.channels.begin(), g.channels.end());
        continue;
      }
    }
    merged.push_back(std::move(g));
  }
  return merged;
}

auto first_held(const std::vector<subscription_span>& spans,
                const std::vector<std::string>& channels) -> std::optional<std::int64_t> {
  std::int64_t latest = 0;
  for (const auto& ch : channels) {
    const auto it =
        std::find_if(spans.begin(), spans.end(), [&](const auto& s) { return s.covers(ch); });
    if (it == spans.end()) return std::nullopt;
    latest = std::max(latest, it->start);
  }
  return latest;
}

/// The publisher's messages (connection 0), with their holders, writes and reports.
auto find_published(const check_input& in, const std::vector<subscription_span>& spans)
    -> std::vector<published_message> {
  std::map<std::int64_t, published_message> by_seq;
  for (const auto& e : in.events) {
    if (const auto* p = std::get_if<tl::pubsub_published>(&e.what); p && e.conn == 0 && p->seq) {
      auto& m = by_seq[*p->seq];
      m = published_message{*p->seq, p->channel, e.t_ns, &e, {}, {}, {}};
      for (const auto& s : spans) {
        if (s.covers(p->channel) && s.held_at(e.t_ns) &&
            std::find(m.holders.begin(), m.holders.end(), s.conn) == m.holders.end()) {
          m.holders.push_back(s.conn);
        }
      }
    } else if (const auto* d = std::get_if<tl::pubsub_delivered>(&e.what); d && d->seq) {
      if (const auto it = by_seq.find(*d->seq); it != by_seq.end()) {
        it->second.written.push_back(&e);
      }
    }
  }
  std::vector<published_message> out;
  out.reserve(by_seq.size());
  for (auto& [seq, m] : by_seq) out.push_back(std::move(m));
  return out;
}

void match_reports(const check_input& in, pubsub_facts& f) {
  std::map<std::string, std::pair<std::int64_t, std::size_t>> last_on_channel;
  const auto& reports = in.driver.pubsub.messages;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    const auto it = r.seq
                        ? std::lower_bound(f.published.begin(), f.published.end(), *r.seq,
                                           [](const auto& m, std::int64_t s) { return m.seq < s; })
                        : f.published.end();
    if (it == f.published.end() || it->seq != *r.seq || it->channel != r.channel) {
      f.unknown_reports.push_back(i);
      continue;
    }
    it->reports.push_back(i);
    auto [last, inserted] = last_on_channel.try_emplace(r.channel, *r.seq, i);
    if (!inserted) {
      if (*r.seq <= last->second.first) f.out_of_order.emplace_back(last->second.second, i);
      last->second = {*r.seq, i};
    }
  }
}

}  // namespace

auto subscription_span::covers(std::string_view channel) const -> bool {
  return kind == sc::subscribe_kind::pattern ? simulator::glob_match(name, channel, false)
                                             : name == channel;
}

auto find_pubsub(const check_input& in, const analysis& an) -> pubsub_facts {
  pubsub_facts f;
  if (!in.scn.load.pubsub) return f;
  f.active = true;
  f.channels = workload_channels(in.scn.load);
  f.spans = find_spans(in, an);
  f.first_held = first_held(f.spans, f.channels);
  f.judged_until =
      an.end_ns -
      std::chrono::duration_cast<std::chrono::nanoseconds>(pubsub_unjudged_tail).count();
  f.published = find_published(in, f.spans);
  if (f.first_held) {
    std::vector<subscription_gap> gaps;
    for (const auto& ch : f.channels)
      channel_gaps(f.spans, ch, *f.first_held, f.judged_until, gaps);
    f.gaps = merge_gaps(std::move(gaps));
  }
  match_reports(in, f);
  return f;
}

}  // namespace schsim::harness::detail
