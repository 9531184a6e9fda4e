#include <schsim/core/clock.hpp>
#include <schsim/refclient/cluster_client.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>

// The cluster layer is thin on purpose: every node is an ordinary pooled `client` (handshake,
// relaxation, MOVING handoffs, reconnects all as in standalone mode), and the decisions that
// are cluster-specific are in the sans-I/O pieces of cluster.hpp. This file routes commands,
// follows redirections, and performs topology_refresher's actions.

namespace schsim::refclient {

namespace asio = boost::asio;

namespace {

void add_stats(client_stats& into, const client_stats& s) {
  into.connections_opened += s.connections_opened;
  into.moving_received += s.moving_received;
  into.handoffs_started += s.handoffs_started;
  into.handoffs_completed += s.handoffs_completed;
  into.handoffs_failed += s.handoffs_failed;
  into.reconnects += s.reconnects;
  into.commands_retried += s.commands_retried;
}

/// One user command on its way through redirections.
struct routed_command {
  std::vector<std::string> args;
  std::function<void(command_result)> done;
  std::optional<std::uint16_t> slot;
  int hops = 0;
};
using routed_ptr = std::shared_ptr<routed_command>;

struct node {
  std::unique_ptr<client> pool;
  bool retiring = false;
};

}  // namespace

struct cluster_client::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor executor, resolved_config seed_config, event_sink events,
       topology_params topology, int redirects)
      : ex{std::move(executor)},
        seed_cfg{std::move(seed_config)},
        seed{seed_cfg.config.host, seed_cfg.config.port},
        sink{std::move(events)},
        refresher{topology},
        refresh_timer{ex},
        max_redirects{redirects} {}

  asio::any_io_executor ex;
  resolved_config seed_cfg;
  address seed;
  event_sink sink;
  slot_map map;
  bool map_loaded = false;
  std::map<address, node> nodes;
  topology_refresher refresher;
  asio::steady_timer refresh_timer;
  int max_redirects;
  cluster_stats stats;
  client_stats closed_node_stats;
  std::size_t next_reload_node = 0;
  bool shut_down = false;
  /// ssubscribe(): where each shard channel is held, and who hears about it.
  std::optional<shard_router> shards;
  std::function<void(pubsub_message)> on_shard_message;
  std::function<void(std::optional<command_error>)> shards_done;

  [[nodiscard]] auto broken(broken_mode m) const -> bool { return seed_cfg.config.broken.has(m); }

  void emit(std::string name, std::vector<std::pair<std::string, client_event::field>> detail) {
    if (sink) sink(client_event{std::move(name), std::move(detail)});
  }

  auto node_for(const address& a) -> client&;
  void route(const routed_ptr& op);
  void send(const routed_ptr& op, const address& target, bool asking);
  void on_result(const routed_ptr& op, const address& from, command_result result);
  void on_smigrated(const address& receiver, const maint::smigrated& sm);
  void perform(const std::vector<topology_action>& actions);
  void reload(int attempt);
  void install(slot_map fresh, const char* reason);
  void reconcile_members(const char* reason);
  void reroute_unwritten(const address& a);
  void topology_suspect();
  void retire_idle();
  void close_node(const address& a);
  void arm_refresh_timer();
  void place_shards();
  void on_shard_frame(const address& node, const shard_frame& f);
};

auto cluster_client::impl::node_for(const address& a) -> client& {
  if (auto it = nodes.find(a); it != nodes.end()) {
    if (it->second.retiring) {
      // A -MOVED pointed back at a node we were retiring: it owns slots again.
      it->second.retiring = false;
      emit("node_unretired", {{"node", a.to_string()}});
    }
    return *it->second.pool;
  }
  auto cfg = seed_cfg;
  cfg.config.host = a.host;
  cfg.config.port = a.port;
  // Every node event is passed on tagged with the node; a failed (re)connect also makes the
  // topology suspect (the node may have left), which a plain pool would just keep retrying.
  event_sink tagged = [weak = weak_from_this(), sink = sink,
                       name = a.to_string()](const client_event& e) {
    if (e.name == "connect_failed") {
      if (auto self = weak.lock()) {
        asio::post(self->ex, [weak] {
          if (auto s = weak.lock()) s->topology_suspect();
        });
      }
    }
    if (!sink) return;
    auto copy = e;
    copy.detail.emplace_back("node", name);
    sink(copy);
  };
  auto pool = std::make_unique<client>(ex, std::move(cfg), std::move(tagged));
  pool->set_smigrated_handler([weak = weak_from_this(), a](const maint::smigrated& sm) {
    if (auto self = weak.lock()) self->on_smigrated(a, sm);
  });
  pool->connect([weak = weak_from_this(), a](std::optional<command_error> e) {
    auto self = weak.lock();
    if (!self || !e || self->shut_down) return;
    self->topology_suspect();
    // Commands queued on it fail with this error (never written); the pool keeps trying on the
    // next command.
    self->emit("node_connect_failed", {{"node", a.to_string()},
                                       {"error_class", std::string{to_string(e->kind)}},
                                       {"message", e->message}});
  });
  emit("node_opened", {{"node", a.to_string()}});
  auto& slot = nodes[a];
  slot.pool = std::move(pool);
  return *slot.pool;
}

void cluster_client::impl::route(const routed_ptr& op) {
  std::optional<address> target;
  if (op->slot) target = map.owner(*op->slot);
  if (!target) {
    // Keyless, or a slot nobody is known to own: any node in the topology answers (with a
    // -MOVED that teaches the owner, if it has to).
    const auto known = map.nodes();
    target = known.empty() ? seed : known.front();
  }
  send(op, *target, false);
}

void cluster_client::impl::send(const routed_ptr& op, const address& target, bool asking) {
  auto& pool = node_for(target);
  auto on_done = [weak = weak_from_this(), op, target](command_result r) {
    if (auto self = weak.lock()) {
      self->on_result(op, target, std::move(r));
    } else if (op->done) {
      op->done(std::move(r));
    }
  };
  auto args = op->args;
  if (asking) {
    pool.execute_asking(std::move(args), std::move(on_done));
  } else {
    pool.execute(std::move(args), std::move(on_done));
  }
}

void cluster_client::impl::on_result(const routed_ptr& op, const address& from,
                                     command_result result) {
  const auto finish = [&](command_result r) {
    if (auto f = std::move(op->done)) f(std::move(r));
    retire_idle();
  };
  const auto* error = std::get_if<command_error>(&result);
  if (!shut_down && error && error->kind == error_class::connection) topology_suspect();
  if (shut_down || !error || error->kind != error_class::server) return finish(std::move(result));
  auto step = next_redirect_step(error->message, from, op->hops, max_redirects);
  if (std::holds_alternative<not_a_redirect>(step)) return finish(std::move(result));
  if (auto* exhausted = std::get_if<redirects_exhausted>(&step)) {
    ++stats.redirect_limit_hit;
    return finish(std::move(exhausted->error));
  }
  const auto r = std::get<follow_redirect>(std::move(step)).to;
  ++op->hops;
  const bool moved = r.type == redirect::kind::moved;
  ++(moved ? stats.moved : stats.asked);
  emit(moved ? "moved" : "ask", {{"slot", static_cast<std::int64_t>(r.slot)},
                                 {"from", from.to_string()},
                                 {"to", r.target.to_string()},
                                 {"hop", static_cast<std::int64_t>(op->hops)}});
  if (moved && !broken(broken_mode::sticky_slot_map)) {
    // A -MOVED for a command written before the map learnt the move (an SMIGRATED delta, an
    // earlier -MOVED) teaches nothing; one that does means others may have moved too.
    const bool news = map.owner(r.slot) != r.target;
    map.assign(r.slot, r.target);
    // ignore-smigrated keeps only the per-slot repair (no reload), the bug it exists to show.
    if (news && !broken(broken_mode::ignore_smigrated))
      perform(refresher.on_moved(mono_clock::now()));
  }
  send(op, r.target, !moved);
  retire_idle();
}

void cluster_client::impl::on_smigrated(const address& receiver, const maint::smigrated& sm) {
  if (shut_down) return;
  ++stats.smigrated_received;
  if (broken(broken_mode::ignore_smigrated) || broken(broken_mode::sticky_slot_map)) {
    emit("smigrated", {{"node", receiver.to_string()},
                       {"seq", sm.seq},
                       {"verdict", std::string{"ignored (broken mode)"}}});
    return;
  }
  if (!map_loaded) {
    // The first CLUSTER SLOTS is still on its way; its answer is already newer than this push.
    emit("smigrated", {{"node", receiver.to_string()},
                       {"seq", sm.seq},
                       {"verdict", std::string{"before the first map"}}});
    return;
  }
  std::vector<topology_action> actions;
  const auto verdict = refresher.on_smigrated(sm.seq, mono_clock::now(), actions);
  emit("smigrated", {{"node", receiver.to_string()},
                     {"seq", sm.seq},
                     {"entries", static_cast<std::int64_t>(sm.entries.size())},
                     {"verdict", std::string{to_string(verdict)}}});
  if (verdict != smigrated_verdict::reload) {
    ++stats.smigrated_duplicates;
    return;
  }
  // The push is a topology delta the server has already applied (CLUSTER SLOTS is consistent
  // when it is sent): apply it now, so no command waits for the reload to stop going to the
  // source. The reload then confirms it and catches anything the delta did not say.
  for (const auto& e : sm.entries) {
    const auto destination = parse_address(e.destination);
    if (!destination) continue;
    cluster::slot_set slots;
    for (const auto& r : e.slots) slots.add(cluster::slot_range{r.first, r.last});
    map.assign(slots, *destination);
  }
  // A source left with no slot gets no new command from here on (removed_node_traffic).
  reconcile_members("smigrated");
  place_shards();
  perform(actions);
}

void cluster_client::impl::place_shards() {
  if (!shards || shut_down) return;
  for (auto& p : shards->place(map)) {
    emit("ssubscribing", {{"node", p.node.to_string()},
                          {"channels", static_cast<std::int64_t>(p.channels.size())}});
    node_for(p.node).ssubscribe(std::move(p.channels), on_shard_message,
                                [weak = weak_from_this(), node = p.node](const shard_frame& f) {
                                  if (auto self = weak.lock()) self->on_shard_frame(node, f);
                                });
  }
}

void cluster_client::impl::on_shard_frame(const address& node, const shard_frame& f) {
  if (!shards || shut_down) return;
  if (f.what == shard_frame::kind::confirmed) {
    if (shards->on_confirmed(node, f.channel)) {
      if (auto done = std::move(shards_done)) done(std::nullopt);
    }
    return;
  }
  if (f.what != shard_frame::kind::ended) return;
  emit("shard_channel_dropped",
       {{"node", node.to_string()}, {"channel", f.channel}, {"error", f.error}});
  // no-resubscribe: the router is not told, so it still believes the old node holds the
  // channel and never places it again.
  if (broken(broken_mode::no_resubscribe) || !shards->on_dropped(node, f.channel)) return;
  ++stats.shard_resubscribes;
  if (auto r = parse_redirect(f.error, node); r && !broken(broken_mode::sticky_slot_map)) {
    map.assign(r->slot, r->target);  // refused on a stale map: the owner is in the error
  }
  // The server dropped it because the slot moved: the map may not know where yet (the
  // SMIGRATED follows the sunsubscribe), so ask for a reload; place what the map knows now.
  topology_suspect();
  place_shards();
}

void cluster_client::impl::perform(const std::vector<topology_action>& actions) {
  for (const auto& a : actions) {
    if (const auto* s = std::get_if<start_reload>(&a)) {
      reload(s->attempt);
    } else if (const auto* g = std::get_if<reload_gave_up>(&a)) {
      std::int64_t first_seq = g->seqs.empty() ? 0 : g->seqs.front();
      emit("topology_reload_gave_up",
           {{"seqs", static_cast<std::int64_t>(g->seqs.size())}, {"first_seq", first_seq}});
    }
  }
  arm_refresh_timer();
}

void cluster_client::impl::reload(int attempt) {
  // Ask a node of the current topology, a different one on each retry, preferring one with a
  // live connection (the reload is often asked for because some node stopped answering); the
  // seed when the map knows none.
  const auto candidates = map.nodes();
  auto target = seed;
  if (!candidates.empty()) {
    const auto first = next_reload_node++;
    target = candidates[first % candidates.size()];
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const auto& a = candidates[(first + i) % candidates.size()];
      if (auto it = nodes.find(a); it != nodes.end() && it->second.pool->ready()) {
        target = a;
        break;
      }
    }
  }
  const auto started = mono_clock::now();
  emit("topology_reload", {{"node", target.to_string()}, {"attempt", attempt}});
  node_for(target).execute(
      {"CLUSTER", "SLOTS"}, [weak = weak_from_this(), target, started](command_result r) {
        auto self = weak.lock();
        if (!self || self->shut_down) return;
        std::string why;
        if (const auto* v = std::get_if<resp3::value>(&r)) {
          auto parsed = parse_cluster_slots(*v, target);
          if (auto* m = std::get_if<slot_map>(&parsed)) {
            ++self->stats.topology_reloads;
            self->emit("topology_loaded", {{"node", target.to_string()},
                                           {"nodes", static_cast<std::int64_t>(m->nodes().size())},
                                           {"took_ms", ms_between(started, mono_clock::now())}});
            self->install(std::move(*m), "reload");
            self->perform(self->refresher.on_reload_done(true, mono_clock::now()));
            return;
          }
          why = std::get<cluster_slots_error>(parsed).message;
        } else {
          why = std::get<command_error>(r).message;
        }
        ++self->stats.topology_reload_failures;
        self->emit("topology_reload_failed", {{"node", target.to_string()}, {"message", why}});
        self->perform(self->refresher.on_reload_done(false, mono_clock::now()));
        self->retire_idle();
      });
}

void cluster_client::impl::install(slot_map fresh, const char* reason) {
  if (map_loaded && broken(broken_mode::sticky_slot_map)) return;
  map = std::move(fresh);
  map_loaded = true;
  for (const auto& a : map.nodes()) node_for(a);
  reconcile_members(reason);
  place_shards();
}

void cluster_client::impl::reconcile_members(const char* reason) {
  const auto members = map.nodes();
  for (auto& [a, n] : nodes) {
    const bool member = std::find(members.begin(), members.end(), a) != members.end();
    if (!member && !n.retiring) {
      n.retiring = true;
      emit("node_retiring", {{"node", a.to_string()}, {"reason", std::string{reason}}});
      reroute_unwritten(a);
    }
  }
  retire_idle();
}

void cluster_client::impl::reroute_unwritten(const address& a) {
  auto it = nodes.find(a);
  if (it == nodes.end()) return;
  // Commands still waiting on a node that left (for a connection, typically, when it is going
  // down) never reached it: they follow their slot now instead of waiting out queue_timeout.
  auto taken = it->second.pool->take_unwritten();
  if (taken.empty()) return;
  emit("rerouted",
       {{"node", a.to_string()}, {"commands", static_cast<std::int64_t>(taken.size())}});
  for (auto& t : taken) {
    auto op = std::make_shared<routed_command>();
    op->slot = command_slot(t.args);
    op->args = std::move(t.args);
    // The original completion still runs the first leg's redirect handling; this leg's final
    // result (never itself a redirect) passes through it unchanged.
    op->done = std::move(t.done);
    route(op);
  }
}

void cluster_client::impl::topology_suspect() {
  // A node that cannot be reached may have left the cluster: reload lazily (cooldown applies),
  // as after a -MOVED. sticky-slot-map never changes its map, so it never asks.
  if (shut_down || !map_loaded || broken(broken_mode::sticky_slot_map)) return;
  perform(refresher.on_moved(mono_clock::now()));
}

void cluster_client::impl::retire_idle() {
  std::vector<address> idle;
  for (const auto& [a, n] : nodes) {
    if (n.retiring && n.pool->outstanding() == 0) idle.push_back(a);
  }
  for (const auto& a : idle) close_node(a);
}

void cluster_client::impl::close_node(const address& a) {
  auto it = nodes.find(a);
  if (it == nodes.end()) return;
  auto pool = std::move(it->second.pool);
  nodes.erase(it);
  add_stats(closed_node_stats, pool->stats());
  ++stats.nodes_closed;
  emit("node_closed", {{"node", a.to_string()}});
  pool->shutdown();
  // Destroyed later, never inside one of its own completions.
  asio::post(ex, [p = std::shared_ptr<client>(std::move(pool))] {});
}

void cluster_client::impl::arm_refresh_timer() {
  const auto deadline = refresher.next_deadline();
  if (!deadline) return;
  refresh_timer.expires_at(*deadline);
  refresh_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->shut_down) return;
    self->perform(self->refresher.on_timer(mono_clock::now()));
  });
}

// --- cluster_client ---------------------------------------------------------------------------

cluster_client::cluster_client(asio::any_io_executor executor, resolved_config seed,
                               event_sink sink, topology_params topology, int max_redirects)
    : impl_{std::make_shared<impl>(std::move(executor), std::move(seed), std::move(sink), topology,
                                   max_redirects)} {}

cluster_client::~cluster_client() { shutdown(); }

void cluster_client::connect(std::function<void(std::optional<command_error>)> done) {
  auto self = impl_;
  if (self->shut_down) {
    asio::post(self->ex, [done = std::move(done)] {
      done(command_error{error_class::cancelled, "client shut down"});
    });
    return;
  }
  const auto started = mono_clock::now();
  const auto seed = self->seed;
  self->emit("topology_reload", {{"node", seed.to_string()}, {"attempt", std::int64_t{1}}});
  // Queued behind the seed's first connection; if that fails, this fails with its reason.
  self->node_for(seed).execute(
      {"CLUSTER", "SLOTS"},
      [weak = std::weak_ptr<impl>(self), seed, started, done = std::move(done)](command_result r) {
        auto s = weak.lock();
        if (!s || s->shut_down) {
          done(command_error{error_class::cancelled, "client shut down"});
          return;
        }
        if (const auto* e = std::get_if<command_error>(&r)) {
          done(command_error{e->kind, "CLUSTER SLOTS on " + seed.to_string() + ": " + e->message});
          return;
        }
        auto parsed = parse_cluster_slots(std::get<resp3::value>(r), seed);
        if (const auto* e = std::get_if<cluster_slots_error>(&parsed)) {
          done(command_error{error_class::other, e->message});
          return;
        }
        auto& m = std::get<slot_map>(parsed);
        ++s->stats.topology_reloads;
        s->emit("topology_loaded", {{"node", seed.to_string()},
                                    {"nodes", static_cast<std::int64_t>(m.nodes().size())},
                                    {"took_ms", ms_between(started, mono_clock::now())}});
        s->install(std::move(m), "initial");
        done(std::nullopt);
      });
}

void cluster_client::execute(std::vector<std::string> args,
                             std::function<void(command_result)> done) {
  auto& self = *impl_;
  auto op = std::make_shared<routed_command>();
  op->slot = command_slot(args);
  op->args = std::move(args);
  op->done = std::move(done);
  if (self.shut_down) {
    asio::post(self.ex, [op] {
      if (op->done) op->done(command_error{error_class::cancelled, "client shut down"});
    });
    return;
  }
  self.route(op);
}

void cluster_client::shutdown() {
  auto& self = *impl_;
  if (self.shut_down) return;
  self.shut_down = true;
  self.refresh_timer.cancel();
  for (auto& [a, n] : self.nodes) n.pool->shutdown();
  // The node clients outlive this call until their cancelled completions have run.
  for (auto& [a, n] : self.nodes) {
    asio::post(self.ex, [p = std::shared_ptr<client>(std::move(n.pool))] {});
  }
  self.nodes.clear();
}

void cluster_client::ssubscribe(std::vector<std::string> channels,
                                std::function<void(pubsub_message)> on_message,
                                std::function<void(std::optional<command_error>)> done) {
  auto& self = *impl_;
  const auto why =
      self.shut_down ? std::optional<command_error>{{error_class::cancelled, "client shut down"}}
      : self.shards  ? std::optional<command_error>{{error_class::other, "already subscribed"}}
      : channels.empty()
          ? std::optional<command_error>{{error_class::other, "nothing to subscribe to"}}
      : !self.map_loaded ? std::optional<command_error>{{error_class::other, "not connected"}}
                         : std::nullopt;
  if (why) {
    asio::post(self.ex, [done = std::move(done), e = *why] { done(e); });
    return;
  }
  self.shards.emplace(std::move(channels));
  self.on_shard_message = std::move(on_message);
  self.shards_done = std::move(done);
  self.place_shards();
}

auto cluster_client::stats() const -> cluster_stats {
  auto s = impl_->stats;
  s.nodes = impl_->closed_node_stats;
  for (const auto& [a, n] : impl_->nodes) add_stats(s.nodes, n.pool->stats());
  return s;
}

auto cluster_client::owner(std::uint16_t slot) const -> std::optional<address> {
  return impl_->map.owner(slot);
}

auto cluster_client::topology() const -> std::vector<address> { return impl_->map.nodes(); }

auto cluster_client::nodes() const -> std::vector<node_snapshot> {
  const auto members = impl_->map.nodes();
  std::vector<node_snapshot> out;
  for (const auto& [a, n] : impl_->nodes) {
    node_snapshot s;
    s.endpoint = a;
    s.in_topology = std::find(members.begin(), members.end(), a) != members.end();
    s.outstanding = n.pool->outstanding();
    s.connections = n.pool->connections();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace schsim::refclient
