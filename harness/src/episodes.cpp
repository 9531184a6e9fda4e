#include "episodes.hpp"

#include <schsim/harness/workload.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace schsim::harness::detail {

namespace tl = schsim::timeline;

namespace {

auto find_commands(const check_input& in, const analysis& an) -> std::vector<command_episode> {
  std::vector<command_episode> out;
  out.reserve(in.driver.commands.size());
  for (const auto& cmd : in.driver.commands) {
    command_episode c;
    c.outcome = &cmd;
    c.identity = command_identity(cmd.args);
    if (c.identity) {
      if (const auto it = an.arrivals.find(*c.identity); it != an.arrivals.end()) {
        c.arrivals = it->second;
      }
      if (const auto it = an.receipts.find(*c.identity); it != an.receipts.end()) {
        c.executions = it->second;
      }
      for (const auto* e : c.executions) {
        const auto* reply =
            an.conns.at(e->conn).reply_to(std::get<tl::command_received>(e->what).index);
        if (reply != nullptr && (c.first_reply == nullptr || reply->t_ns < c.first_reply->t_ns)) {
          c.first_reply = reply;
        }
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

/// Every copy of every MOVING, grouped by seq.
auto group_movings(const check_input& in, const analysis& an)
    -> std::map<std::int64_t, moving_episode> {
  std::map<std::int64_t, moving_episode> by_seq;
  for (const auto& e : in.events) {
    const auto* p = std::get_if<tl::push_written>(&e.what);
    if (p == nullptr || p->name != "MOVING") {
      continue;
    }
    auto& m = by_seq[p->seq];
    if (m.pushes.empty()) {
      m.seq = p->seq;
      m.at = e.t_ns;
      m.time_s = p->time_s.value_or(0);
      m.step = p->step;
      m.from = e.endpoint;
    }
    m.pushes.push_back(&e);
    if (const auto c = an.conns.find(e.conn); c != an.conns.end() && c->second.opened <= m.at) {
      m.conns.insert(e.conn);
    }
  }
  return by_seq;
}

/// Where the MOVING's step pointed, and when its lifecycle force-closed the old connections.
void resolve_moving_target(const check_input& in, const analysis& an, moving_episode& m) {
  const auto* st = in.scn.find_step(m.step);
  const auto* send = st != nullptr ? std::get_if<scenario::send_action>(&st->what) : nullptr;
  const auto* moving = send != nullptr ? std::get_if<maint::moving>(&send->notification) : nullptr;
  if (moving != nullptr && moving->endpoint) {
    m.target_text = *moving->endpoint;
    if (in.scn.topo.find(*moving->endpoint) != nullptr) {
      m.target = *moving->endpoint;
    } else {
      const auto ep = std::find_if(in.endpoints.begin(), in.endpoints.end(),
                                   [&](const auto& r) { return r.address == *moving->endpoint; });
      m.target_known = ep != in.endpoints.end();
      m.target = m.target_known ? ep->name : *moving->endpoint;
    }
  } else if (moving == nullptr) {
    // Unknown step (raw bytes, replays): the record cannot say where it pointed.
    m.target_known = false;
    m.target_text = "unknown";
    m.target = std::string("?");
  }
  m.forced_close_at = m.at + m.time_s * 1'000'000'000;
  if (const auto run = an.step_runs.find(m.step + ".close"); run != an.step_runs.end()) {
    m.forced_close_at = run->second->t_ns;
    m.forced_close_event = run->second;
  }
}

/// What the client did after the MOVING: new connections, their handshake, moved traffic.
void follow_handoff(const check_input& in, const analysis& an, moving_episode& m) {
  const bool expect_maint =
      in.scn.client.protocol == 3 && in.scn.client.mode != scenario::sch_mode::disabled;
  const auto& target = m.destination();
  for (const auto& [id, c] : an.conns) {
    if (c.endpoint == target && c.opened > m.at && !m.conns.contains(id)) {
      m.fresh.push_back(&c);
    }
  }
  for (const auto* c : m.fresh) {
    if (const auto t = handshaken_at(*c, expect_maint); t && (!m.ready_at || *t < *m.ready_at)) {
      m.ready_at = t;
      m.ready_conn = c;
    }
    if (m.first_fresh == nullptr || c->opened < m.first_fresh->opened) {
      m.first_fresh = c;
    }
    if (!c->data.empty() && (!m.moved_at || c->data.front()->t_ns < *m.moved_at)) {
      m.moved_at = c->data.front()->t_ns;
    }
  }
  std::set<std::uint64_t> told;
  for (const auto* push : m.pushes) {
    told.insert(push->conn);
  }
  // A fresh connection that replaces one closed before it opened (a reconnect after a timeout
  // or a drop) is not a second handoff; one opened while the earlier ones are all still open is.
  auto by_open = m.fresh;
  std::sort(by_open.begin(), by_open.end(),
            [](const auto* a, const auto* b) { return a->opened < b->opened; });
  std::set<std::uint64_t> replaced;
  for (std::size_t i = 0; i < by_open.size(); ++i) {
    told.erase(by_open[i]->id);
    if (by_open[i]->opened >= m.forced_close_at) {
      continue;
    }
    const auto closed_before = std::find_if(by_open.begin(), by_open.begin() + i, [&](auto* e) {
      return e->closed_at() <= by_open[i]->opened && !replaced.contains(e->id);
    });
    if (closed_before != by_open.begin() + i) {
      replaced.insert((*closed_before)->id);
    } else {
      ++m.handoffs;
    }
  }
  m.handoffs_allowed = std::max<std::size_t>(told.size(), 1);
  m.traffic_after =
      std::any_of(in.driver.commands.begin(), in.driver.commands.end(), [&](const auto& cmd) {
        return cmd.intended_ns > m.at && cmd.intended_ns < m.forced_close_at;
      });
}

auto find_movings(const check_input& in, const analysis& an) -> std::vector<moving_episode> {
  std::vector<moving_episode> out;
  for (auto& [seq, m] : group_movings(in, an)) {
    resolve_moving_target(in, an, m);
    follow_handoff(in, an, m);
    out.push_back(std::move(m));
  }
  return out;
}

auto to_slot_set(const std::vector<maint::slot_range>& ranges) -> cluster::slot_set {
  cluster::slot_set out;
  for (const auto& r : ranges) {
    out.add(cluster::slot_range{r.first, r.last});
  }
  return out;
}

/// The SMIGRATED a scenario step sent, or nullptr (raw bytes, unknown step).
auto smigrated_of(const check_input& in, const std::string& step) -> const maint::smigrated* {
  const auto* st = in.scn.find_step(step);
  const auto* send = st != nullptr ? std::get_if<scenario::send_action>(&st->what) : nullptr;
  return send != nullptr ? std::get_if<maint::smigrated>(&send->notification) : nullptr;
}

auto find_smigrations(const check_input& in) -> std::vector<smigrated_episode> {
  std::map<std::int64_t, smigrated_episode> by_seq;
  for (const auto& e : in.events) {
    const auto* p = std::get_if<tl::push_written>(&e.what);
    if (p == nullptr || p->name != "SMIGRATED") {
      continue;
    }
    auto& m = by_seq[p->seq];
    ++m.copies;
    if (m.first != nullptr) {
      continue;
    }
    m.seq = p->seq;
    m.first = &e;
    if (const auto* smigrated = smigrated_of(in, p->step)) {
      for (const auto& entry : smigrated->entries) {
        m.moves.push_back({resolve_node(in, entry.source), resolve_node(in, entry.destination),
                           entry.source, to_slot_set(entry.slots)});
      }
    }
  }
  std::vector<smigrated_episode> out;
  for (auto& [seq, m] : by_seq) {
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first->t_ns < b.first->t_ns; });
  return out;
}

/// Slot ownership replayed in recording order (the simulator completes a migration before it
/// writes the SMIGRATED), so at each SMIGRATED the record says which source it left empty.
class removal_tracker {
 public:
  explicit removal_tracker(const check_input& in) : in_(in) {
    for (const auto& ep : in.scn.topo.endpoints) {
      owned_[ep.name] = ep.slots;
    }
  }

  void on_step(const tl::event& e, const tl::step_executed& step) {
    const auto* st = in_.scn.find_step(step.step);
    if (st == nullptr) {
      return;
    }
    if (const auto* done = std::get_if<scenario::complete_slot_migration_action>(&st->what)) {
      owned_[done->from].remove(done->slots);
      owned_[done->to].add(done->slots);
      end_removal(done->to, e.t_ns, fmt::format("step {} gave it slots again", step.step));
    } else if (const auto* begin = std::get_if<scenario::begin_slot_migration_action>(&st->what)) {
      // From here -ASK sends clients to it legitimately.
      end_removal(begin->to, e.t_ns,
                  fmt::format("step {} started migrating slots to it", step.step));
    }
  }

  void on_smigrated(const tl::event& e, const tl::push_written& p) {
    if (!seen_seqs_.insert(p.seq).second) {
      return;
    }
    const auto* smigrated = smigrated_of(in_, p.step);
    if (smigrated == nullptr) {
      return;
    }
    for (const auto& entry : smigrated->entries) {
      const auto node = resolve_node(in_, entry.source);
      if (!node.empty() && owned_[node].empty() && open_removal(node) == nullptr) {
        removals_.push_back({node, p.seq, &e, e.t_ns, forever, {}});
      }
    }
  }

  auto take() -> std::vector<node_removal> { return std::move(removals_); }

 private:
  auto open_removal(const std::string& node) -> node_removal* {
    for (auto& rm : removals_) {
      if (rm.node == node && rm.end == forever) {
        return &rm;
      }
    }
    return nullptr;
  }
  void end_removal(const std::string& node, std::int64_t t, std::string reason) {
    if (auto* rm = open_removal(node)) {
      rm->end = t;
      rm->end_reason = std::move(reason);
    }
  }

  const check_input& in_;
  std::map<std::string, cluster::slot_set> owned_;
  std::vector<node_removal> removals_;
  std::set<std::int64_t> seen_seqs_;
};

auto find_removals(const check_input& in) -> std::vector<node_removal> {
  removal_tracker tracker(in);
  for (const auto& e : in.events) {
    if (const auto* step = std::get_if<tl::step_executed>(&e.what)) {
      tracker.on_step(e, *step);
    } else if (const auto* p = std::get_if<tl::push_written>(&e.what);
               p != nullptr && p->name == "SMIGRATED") {
      tracker.on_smigrated(e, *p);
    }
  }
  return tracker.take();
}

auto find_migrations(const check_input& in) -> std::vector<slot_migration> {
  std::vector<slot_migration> out;
  for (const auto& e : in.events) {
    const auto* step = std::get_if<tl::step_executed>(&e.what);
    const auto* st = step != nullptr ? in.scn.find_step(step->step) : nullptr;
    if (st == nullptr) {
      continue;
    }
    if (const auto* begin = std::get_if<scenario::begin_slot_migration_action>(&st->what)) {
      out.push_back({begin, e.t_ns, std::nullopt});
    } else if (const auto* done =
                   std::get_if<scenario::complete_slot_migration_action>(&st->what)) {
      const auto it = std::find_if(out.begin(), out.end(), [&](const auto& m) {
        return !m.end && m.begin->from == done->from && m.begin->to == done->to &&
               m.begin->slots == done->slots;
      });
      if (it != out.end()) {
        it->end = e.t_ns;
      }
    }
  }
  return out;
}

auto find_windows(const check_input& in) -> std::vector<maintenance_window> {
  struct open_window {
    std::string endpoint;
    std::string name;
    std::int64_t seq;
    std::int64_t start;
  };
  std::vector<maintenance_window> out;
  std::vector<open_window> open;
  std::set<std::pair<std::string, std::int64_t>> seen;
  for (const auto& e : in.events) {
    const auto* p = std::get_if<tl::push_written>(&e.what);
    if (p == nullptr || !seen.insert({e.endpoint + "/" + p->name, p->seq}).second) {
      continue;
    }
    if (is_opening(p->name)) {
      open.push_back({e.endpoint, p->name, p->seq, e.t_ns});
    } else if (is_closing(p->name)) {
      for (auto it = open.begin(); it != open.end();) {
        if (it->endpoint == e.endpoint) {
          out.push_back({e.endpoint,
                         fmt::format("{} seq {} .. {} seq {}", it->name, it->seq, p->name, p->seq),
                         it->start, e.t_ns});
          it = open.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  for (const auto& w : open) {
    out.push_back({w.endpoint, fmt::format("{} seq {} (never closed)", w.name, w.seq), w.start,
                   std::nullopt});
  }
  return out;
}

}  // namespace

auto handshaken_at(const conn_record& c, bool expect_maint) -> std::optional<std::int64_t> {
  if (expect_maint) {
    for (const auto* m : c.maints) {
      if (std::get<tl::maint_handshake>(m->what).enable) {
        return m->t_ns;
      }
    }
    return std::nullopt;
  }
  if (!c.hellos.empty()) {
    return c.hellos.front()->t_ns;
  }
  if (!c.data.empty()) {
    return c.data.front()->t_ns;
  }
  return std::nullopt;
}

auto resolve_node(const check_input& in, std::string_view name_or_address) -> std::string {
  if (in.scn.topo.find(name_or_address) != nullptr) {
    return std::string(name_or_address);
  }
  const auto ep = std::find_if(in.endpoints.begin(), in.endpoints.end(),
                               [&](const auto& r) { return r.address == name_or_address; });
  return ep != in.endpoints.end() ? ep->name : std::string();
}

auto build_episodes(const check_input& in) -> episodes {
  episodes ep;
  ep.an = analyze(in);
  ep.commands = find_commands(in, ep.an);
  ep.movings = find_movings(in, ep.an);
  ep.smigrations = find_smigrations(in);
  ep.removals = find_removals(in);
  ep.migrations = find_migrations(in);
  ep.windows = find_windows(in);
  ep.delays = judge_delays(in, ep.an);
  ep.failed_on_purpose = expected_failures(in, ep.an);
  ep.pubsub = find_pubsub(in, ep.an);
  ep.blocking = find_blocking(in, ep.an);
  ep.transactions = find_transactions(in, ep.an);
  ep.cut_commands = find_cut_commands(ep.an);
  for (const auto& [id, c] : ep.an.conns) ep.data_commands_received += c.data.size();
  return ep;
}

}  // namespace schsim::harness::detail
