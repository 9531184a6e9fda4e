#include "transaction_facts.hpp"

#include <schsim/harness/workload.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

namespace schsim::harness::detail {

namespace tl = schsim::timeline;

namespace {

auto uppercase(std::string s) -> std::string {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return s;
}

auto command_at(const conn_record& c, std::uint64_t index) -> const tl::event* {
  const auto it = std::find_if(c.commands.begin(), c.commands.end(), [&](const auto* e) {
    return std::get<tl::command_received>(e->what).index == index;
  });
  return it != c.commands.end() ? *it : nullptr;
}

auto refused(const analysis& an, const conn_record& c, const tl::event* e) -> bool {
  const auto* reply = c.reply_to(std::get<tl::command_received>(e->what).index);
  return an.redirects.contains(e) ||
         (reply != nullptr && std::get<tl::reply_written>(reply->what).error);
}

/// The transaction and INCR number (0 for a WATCH) a command names, if it is one of ours.
auto transaction_part(const tl::command_received& cmd)
    -> std::optional<std::pair<std::uint64_t, std::uint32_t>> {
  if (cmd.args.size() < 2) return std::nullopt;
  const auto name = uppercase(cmd.args[0]);
  if (name != "INCR" && name != "WATCH") return std::nullopt;
  const auto key = parse_transaction_key(cmd.args[1]);
  if (!key) return std::nullopt;
  return std::pair{key->id, name == "WATCH" ? 0U : key->index};
}

auto block_transaction(const server_block& b) -> std::optional<std::uint64_t> {
  for (const auto* q : b.queued) {
    if (const auto part = transaction_part(std::get<tl::command_received>(q->what))) {
      return part->first;
    }
  }
  return std::nullopt;
}

/// The blocks transaction_ended reports, each with its MULTI and queued commands.
void ended_blocks(const check_input& in, const analysis& an, std::vector<server_block>& out) {
  for (const auto& e : in.events) {
    const auto* t = std::get_if<tl::transaction_ended>(&e.what);
    const auto conn = an.conns.find(e.conn);
    if (t == nullptr || conn == an.conns.end()) continue;
    server_block b;
    b.conn = e.conn;
    b.endpoint = e.endpoint;
    b.multi_index = t->multi_index;
    b.end_index = t->end_index;
    b.ended = &e;
    b.multi = command_at(conn->second, t->multi_index);
    for (const auto i : t->commands) {
      if (const auto* q = command_at(conn->second, i)) b.queued.push_back(q);
    }
    out.push_back(std::move(b));
  }
}

/// A MULTI the server accepted whose block nothing ended before the record did: everything the
/// connection sent after it was queued, never run.
void open_blocks(const analysis& an, std::vector<server_block>& out) {
  const auto ended = out;
  for (const auto& [id, c] : an.conns) {
    const auto in_ended = [&, conn = id](std::uint64_t index) {
      return std::any_of(ended.begin(), ended.end(), [&](const auto& b) {
        return b.conn == conn && (b.multi_index == index || b.spans(index));
      });
    };
    for (const auto* e : c.commands) {
      const auto& cmd = std::get<tl::command_received>(e->what);
      if (cmd.args.empty() || uppercase(cmd.args[0]) != "MULTI" || in_ended(cmd.index) ||
          refused(an, c, e)) {
        continue;
      }
      server_block b{id, c.endpoint, cmd.index, std::nullopt, e, nullptr, {}, std::nullopt};
      for (const auto* later : c.commands) {
        const auto i = std::get<tl::command_received>(later->what).index;
        if (i > cmd.index && !refused(an, c, later)) b.queued.push_back(later);
      }
      out.push_back(std::move(b));
      break;  // everything after it belongs to this block
    }
  }
}

auto spanned(const std::vector<server_block>& blocks, std::uint64_t conn, std::uint64_t index)
    -> bool {
  return std::any_of(blocks.begin(), blocks.end(),
                     [&](const auto& b) { return b.conn == conn && b.spans(index); });
}

/// Where each transaction's WATCH and INCRs arrived, and which INCRs ran outside a block.
void trace_arrivals(const analysis& an, const std::vector<server_block>& blocks,
                    const std::map<std::uint64_t, std::size_t>& by_id,
                    std::vector<transaction_episode>& eps) {
  for (const auto& [conn, c] : an.conns) {
    for (const auto* e : c.commands) {
      const auto& cmd = std::get<tl::command_received>(e->what);
      const auto part = transaction_part(cmd);
      const auto it = part ? by_id.find(part->first) : by_id.end();
      if (it == by_id.end()) continue;
      auto& ep = eps[it->second];
      ep.arrivals.push_back(e);
      auto seq = std::find_if(ep.per_conn.begin(), ep.per_conn.end(),
                              [&, id = conn](const auto& p) { return p.first == id; });
      if (seq == ep.per_conn.end()) {
        ep.per_conn.emplace_back(conn, std::vector<std::uint32_t>{});
        seq = std::prev(ep.per_conn.end());
      }
      seq->second.push_back(part->second);
      if (part->second != 0 && !spanned(blocks, conn, cmd.index) && !refused(an, c, e)) {
        ep.outside_multi.push_back(e);
      }
    }
  }
}

/// The blocks of each transaction, the keys' increments and the connections it was split on.
void judge_shapes(const std::vector<server_block>& blocks,
                  const std::map<std::uint64_t, std::size_t>& by_id,
                  std::vector<transaction_episode>& eps) {
  for (const auto& b : blocks) {
    const auto it = b.tx ? by_id.find(*b.tx) : by_id.end();
    if (it == by_id.end()) continue;
    eps[it->second].blocks.push_back(&b);
    if (b.executed()) eps[it->second].executed.push_back(&b);
  }
  for (auto& ep : eps) {
    std::map<std::uint32_t, std::size_t> increments;
    for (const auto* b : ep.executed) {
      for (const auto* q : b->queued) {
        const auto part = transaction_part(std::get<tl::command_received>(q->what));
        if (part && part->first == ep.outcome->id && part->second != 0) ++increments[part->second];
      }
    }
    for (const auto* e : ep.outside_multi) {
      ++increments[transaction_part(std::get<tl::command_received>(e->what))->second];
    }
    for (const auto& [key, n] : increments) ep.most_increments = std::max(ep.most_increments, n);
    // The whole sequence: WATCH (when asked), then INCR k1 .. kS.
    std::vector<std::uint32_t> whole;
    if (!ep.outcome->watch.empty()) whole.push_back(0);
    for (std::uint32_t i = 1; i <= ep.outcome->commands.size(); ++i) whole.push_back(i);
    if (ep.per_conn.size() < 2) continue;
    for (const auto& [conn, seq] : ep.per_conn) {
      if (seq.size() > whole.size() || !std::equal(seq.begin(), seq.end(), whole.begin())) {
        ep.split_conns.push_back(conn);
      }
    }
  }
}

/// The command of a transaction whose reply the client waited on last: the EXEC of its last
/// block (arrived with the block's MULTI), or its last WATCH when that came later (a client
/// sends WATCH alone and waits for its reply before MULTI).
struct awaited_reply {
  const conn_record* conn = nullptr;
  std::uint64_t index = 0;  ///< the command whose reply it waited for
  std::int64_t arrived = 0;
  const char* what = "";
};

auto last_awaited(const analysis& an, const transaction_episode& t)
    -> std::optional<awaited_reply> {
  std::optional<awaited_reply> out;
  if (!t.blocks.empty() && t.blocks.back()->multi != nullptr) {
    // A block nothing ended (EXEC never came): the last command of it that did.
    const auto& b = *t.blocks.back();
    const auto last = b.end_index ? *b.end_index
                      : b.queued.empty()
                          ? b.multi_index
                          : std::get<tl::command_received>(b.queued.back()->what).index;
    out = awaited_reply{&an.conns.at(b.conn), last, b.multi->t_ns, "EXEC"};
  }
  for (const auto* e : t.arrivals) {
    const auto& cmd = std::get<tl::command_received>(e->what);
    if (uppercase(cmd.args[0]) == "WATCH" && (!out || e->t_ns > out->arrived)) {
      out = awaited_reply{&an.conns.at(e->conn), cmd.index, e->t_ns, "WATCH"};
    }
  }
  return out;
}

/// How long the server held the awaited reply: as written; else, when the client gave up first,
/// the reply delay in force when the command arrived; nullopt when unknown (no delay in force,
/// but an earlier reply on the connection was still unwritten: it waited behind that one).
auto held_ms(const analysis& an, const awaited_reply& w) -> std::optional<double> {
  if (const auto* reply = w.conn->reply_to(w.index)) return ms_between(w.arrived, reply->t_ns);
  for (const auto& d : an.delays) {
    if (d.endpoint == w.conn->endpoint && d.start <= w.arrived && w.arrived < d.end) {
      return d.delay_ms;
    }
  }
  const bool behind = std::any_of(w.conn->commands.begin(), w.conn->commands.end(), [&](auto* e) {
    const auto i = std::get<tl::command_received>(e->what).index;
    const auto* r = i < w.index ? w.conn->reply_to(i) : nullptr;
    return i < w.index && (r == nullptr || r->t_ns > w.arrived);
  });
  return behind ? std::nullopt : std::optional<double>{0.0};
}

/// A timed-out transaction whose awaited reply (EXEC's, or WATCH's) the server held (latency,
/// stall) at least about as long as the timeout that applied where it arrived.
auto provoked_held_reply(const check_input& in, const analysis& an, const transaction_episode& t)
    -> std::string {
  const auto w = last_awaited(an, t);
  if (!w) return {};
  const auto held = held_ms(an, *w);
  const auto reply_at =
      held && !std::isinf(*held) ? w->arrived + static_cast<std::int64_t>(*held * 1e6) : forever;
  const auto where = held ? classify(in, an, *w->conn, w->arrived, reply_at) : zone::ambiguous;
  const auto normal = static_cast<double>(in.scn.client.timeout.count());
  const auto bound =
      where == zone::relaxed
          ? static_cast<double>(
                in.scn.client.relaxed_timeout.value_or(in.scn.client.timeout).count())
          : normal;
  // Within 10% of the bound a correct timeout cannot be told from a wrong one (judge_delays).
  if (where == zone::ambiguous || (held && *held >= bound * 0.9)) {
    return fmt::format("the server held its {} reply {} ({} timeout {:.0f} ms)", w->what,
                       !held               ? std::string("behind earlier held replies")
                       : std::isinf(*held) ? std::string("with a stall")
                                           : fmt::format("{:.0f} ms", *held),
                       where == zone::relaxed  ? "relaxed"
                       : where == zone::normal ? "normal"
                                               : "either",
                       bound);
  }
  return {};
}

/// A timed-out transaction none of whose commands reached the server, handed over while replies
/// were delayed (or still held by a delay that had ended): it waited in the client behind them
/// (for a pooled connection, or the handshake of a new one), as zero_dropped excuses a command.
auto provoked_unreceived(const check_input& in, const analysis& an, const transaction_episode& t)
    -> std::string {
  const auto& o = *t.outcome;
  if (!t.arrivals.empty() || !t.blocks.empty()) return {};
  for (const auto& d : an.delays) {
    const auto held_until = d.end == forever || std::isinf(d.delay_ms)
                                ? forever
                                : d.end + static_cast<std::int64_t>(d.delay_ms * 1e6);
    if (o.done_ns >= d.start && o.sent_ns <= held_until) {
      return fmt::format(
          "none of its commands reached the server: it waited behind replies on {} delayed "
          "from {}",
          d.endpoint, at(in, d.start));
    }
  }
  return {};
}

/// A timed-out transaction the scenario's reply delays made time out.
auto provoked_timeout(const check_input& in, const analysis& an, const transaction_episode& t)
    -> std::string {
  if (!t.outcome->completed || t.outcome->ok || t.outcome->error_class != "timeout") return {};
  auto why = provoked_held_reply(in, an, t);
  return why.empty() ? provoked_unreceived(in, an, t) : why;
}

constexpr std::int64_t fin_transit_ns = 50'000'000;

/// A transaction that failed while the server closed a connection of the client under it: a
/// block in flight then may or may not have run, and failing it is the honest answer (the
/// scenario's close, or its forced close to a client that did not move, caused it).
auto cut_by_server_close(const check_input& in, const analysis& an, const transaction_episode& t)
    -> std::string {
  const auto& o = *t.outcome;
  if (!o.completed || o.ok || o.error_class != "connection") return {};
  for (const auto& [id, c] : an.conns) {
    const auto* closed = c.closed_event;
    if (closed == nullptr ||
        std::get<tl::connection_closed>(closed->what).by != tl::close_initiator::server) {
      continue;
    }
    // A close shortly before the block was handed over counts too: the client may write on a
    // socket whose FIN it has not read yet (the 50 ms transit removed_node_traffic allows a push).
    if (closed->t_ns >= o.sent_ns - fin_transit_ns && closed->t_ns <= o.done_ns) {
      return fmt::format("the server closed connection {} at {} while it was in flight", id,
                         at(in, closed->t_ns));
    }
  }
  return {};
}

}  // namespace

auto server_block::executed() const -> bool {
  return ended != nullptr && std::get<tl::transaction_ended>(ended->what).result ==
                                 tl::transaction_ended::outcome::executed;
}

auto server_block::spans(std::uint64_t index) const -> bool {
  return multi_index < index && (!end_index || index <= *end_index);
}

auto find_transactions(const check_input& in, const analysis& an) -> transaction_facts {
  transaction_facts f;
  if (!in.scn.load.transactions) return f;
  f.active = true;
  ended_blocks(in, an, f.blocks);
  open_blocks(an, f.blocks);
  for (auto& b : f.blocks) b.tx = block_transaction(b);
  std::map<std::uint64_t, std::size_t> by_id;
  for (const auto& t : in.driver.transactions) {
    by_id.emplace(t.id, f.transactions.size());
    f.transactions.push_back({&t, {}, {}, {}, {}, {}, {}, 0, {}});
  }
  trace_arrivals(an, f.blocks, by_id, f.transactions);
  judge_shapes(f.blocks, by_id, f.transactions);
  for (auto& t : f.transactions) {
    t.provoked = provoked_timeout(in, an, t);
    if (t.provoked.empty()) t.provoked = cut_by_server_close(in, an, t);
  }
  return f;
}

}  // namespace schsim::harness::detail
