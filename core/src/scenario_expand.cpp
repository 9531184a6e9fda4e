#include <schsim/core/scenario/expand.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <type_traits>
#include <utility>

namespace schsim::scenario {
namespace {

using std::chrono::seconds;

// Collects generated steps; all of them keep the composite's origin for diagnostics.
class builder {
 public:
  builder(std::vector<step>& out, std::size_t origin) : out_(out), origin_(origin) {}

  void add(std::string id, trigger start, action what) {
    out_.push_back(step{std::move(id), std::move(start), std::move(what), origin_});
  }
  void add_after(std::string id, const std::string& ref, milliseconds delay, action what) {
    add(std::move(id), after_step{ref, delay}, std::move(what));
  }

 private:
  std::vector<step>& out_;
  std::size_t origin_;
};

auto endpoint_target(const std::string& name) -> target {
  target t;
  t.scope = target_scope::endpoint;
  t.endpoint = name;
  return t;
}

auto notify(maint::notification n, const std::string& endpoint,
            const std::optional<maint::dialect>& dialect,
            std::optional<std::int64_t> seq = std::nullopt) -> send_action {
  send_action a;
  a.notification = std::move(n);
  a.seq = seq;
  a.to = endpoint_target(endpoint);
  a.dialect = dialect;
  return a;
}

auto shards_or_default(const scenario& s, const std::vector<std::string>& shards,
                       const std::string& endpoint) -> std::vector<std::string> {
  if (!shards.empty()) {
    return shards;
  }
  if (const auto* e = s.topo.find(endpoint); e != nullptr && !e->shards.empty()) {
    return e->shards;
  }
  return {"1"};
}

auto grace(std::int64_t time_s, milliseconds late) -> milliseconds {
  return std::chrono::duration_cast<milliseconds>(seconds{time_s}) + late;
}

struct moving_parts {
  std::string id;
  trigger start;
  std::string from;
  std::optional<std::string> to;
  std::int64_t time_s = 0;
  milliseconds late_close{0};
  close_mode close_how = close_mode::fin;
  bool retire_old = false;
  bool bring_up = true;
  std::optional<std::int64_t> seq = std::nullopt;
  std::optional<maint::dialect> dialect = std::nullopt;
};

void add_moving(builder& b, const moving_parts& m) {
  if (m.bring_up && m.to) {
    b.add(m.id + ".up", m.start, accept_action{*m.to, endpoint_state::up});
  }
  b.add(m.id, m.start,
        notify(maint::moving{.time_s = m.time_s, .endpoint = m.to}, m.from, m.dialect, m.seq));
  auto who = endpoint_target(m.from);
  who.filter = opt_in_filter::any;
  // With a null endpoint clients come back to the same address after time/2; those new
  // connections are "on the new node" and must survive the close.
  if (!m.to) {
    who.opened_before = m.id;
  }
  b.add_after(m.id + ".close", m.id, grace(m.time_s, m.late_close),
              close_action{who, m.close_how, close_point::between_frames, "MOVING grace over"});
  if (m.retire_old) {
    b.add_after(m.id + ".retire", m.id + ".close", milliseconds{0},
                accept_action{m.from, endpoint_state::down});
  }
}

void add_latency(builder& b, const std::string& id, const std::string& endpoint,
                 milliseconds latency, milliseconds window) {
  if (latency.count() <= 0) {
    return;
  }
  b.add_after(id + ".latency", id, milliseconds{0}, latency_action{endpoint, latency, {}});
  b.add_after(id + ".latency_end", id, window, latency_action{endpoint, milliseconds{0}, {}});
}

using schsim::cluster::slot_set;
using ownership = std::map<std::string, slot_set, std::less<>>;

auto to_wire_ranges(const slot_set& slots) -> std::vector<maint::slot_range> {
  std::vector<maint::slot_range> out;
  for (const auto& r : slots.ranges()) {
    out.push_back(maint::slot_range{r.first, r.last});
  }
  return out;
}

// One cluster composite as a list of moves; see expand.hpp for the steps it becomes.
struct cluster_parts {
  std::string id;
  trigger start;
  std::vector<slot_move> moves;
  milliseconds migrate_for{0};
  milliseconds latency{0};
  smigrated_scope smigrated_to = smigrated_scope::source;
  std::optional<milliseconds> redeliver_after = std::nullopt;
  std::optional<std::string> bring_up = std::nullopt;
  std::optional<std::string> retire = std::nullopt;
  milliseconds retire_after{0};
  std::optional<maint::dialect> dialect = std::nullopt;
};

void add_cluster_moves(builder& b, const cluster_parts& c) {
  if (c.bring_up) {
    b.add(c.id + ".up", c.start, accept_action{*c.bring_up, endpoint_state::up});
  }
  // Sources in order of first appearance, each with every slot it gives away.
  std::vector<std::pair<std::string, slot_set>> sources;
  for (const auto& mv : c.moves) {
    auto it = std::ranges::find(sources, mv.from, &std::pair<std::string, slot_set>::first);
    if (it == sources.end()) {
      sources.emplace_back(mv.from, slot_set{});
      it = std::prev(sources.end());
    }
    it->second.add(mv.slots);
  }
  if (sources.empty()) {
    return;
  }
  const bool several_sources = sources.size() > 1;
  const bool several_moves = c.moves.size() > 1;
  auto per_source = [&](const std::string& base, const std::string& node) {
    return several_sources ? base + "." + node : base;
  };
  auto per_move = [&](const std::string& base, std::size_t n) {
    return several_moves ? base + "." + std::to_string(n + 1) : base;
  };

  for (std::size_t i = 0; i < sources.size(); ++i) {
    const auto& [node, slots] = sources[i];
    auto smigrating = notify(maint::smigrating{.slots = to_wire_ranges(slots)}, node, c.dialect);
    if (i == 0) {
      b.add(c.id, c.start, std::move(smigrating));
    } else {
      smigrating.same_seq_as = c.id;
      b.add_after(c.id + ".smigrating." + node, c.id, milliseconds{0}, std::move(smigrating));
    }
  }
  for (std::size_t n = 0; n < c.moves.size(); ++n) {
    const auto& mv = c.moves[n];
    b.add_after(per_move(c.id + ".begin", n), c.id, milliseconds{0},
                begin_slot_migration_action{mv.from, mv.to, mv.slots, c.migrate_for});
  }
  if (c.latency.count() > 0) {
    for (const auto& [node, slots] : sources) {
      b.add_after(per_source(c.id + ".latency", node), c.id, milliseconds{0},
                  latency_action{node, c.latency, {}});
      b.add_after(per_source(c.id + ".latency_end", node), c.id, c.migrate_for,
                  latency_action{node, milliseconds{0}, {}});
    }
  }
  for (std::size_t n = 0; n < c.moves.size(); ++n) {
    const auto& mv = c.moves[n];
    b.add_after(per_move(c.id + ".complete", n), c.id, c.migrate_for,
                complete_slot_migration_action{mv.from, mv.to, mv.slots});
  }

  // The SMIGRATED waits for the last complete step, so ownership has flipped before any
  // client can read the push.
  maint::smigrated delta;
  for (const auto& mv : c.moves) {
    delta.entries.push_back(maint::smigrated_entry{mv.from, mv.to, to_wire_ranges(mv.slots)});
  }
  const auto last_complete = per_move(c.id + ".complete", c.moves.size() - 1);
  const auto smigrated = c.id + ".smigrated";
  std::vector<std::pair<std::string, target>> recipients;  // step id, who
  if (c.smigrated_to == smigrated_scope::all) {
    recipients.emplace_back(smigrated, target{});
  } else {
    for (std::size_t i = 0; i < sources.size(); ++i) {
      recipients.emplace_back(i == 0 ? smigrated : smigrated + "." + sources[i].first,
                              endpoint_target(sources[i].first));
    }
  }
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    send_action a;
    a.notification = delta;
    a.to = recipients[i].second;
    a.dialect = c.dialect;
    if (i > 0) {
      a.same_seq_as = smigrated;
    }
    b.add_after(recipients[i].first, i == 0 ? last_complete : smigrated, milliseconds{0}, a);
  }
  if (c.redeliver_after) {
    const auto redeliver = c.id + ".redeliver";
    for (std::size_t i = 0; i < recipients.size(); ++i) {
      send_action a;
      a.notification = delta;
      a.to = recipients[i].second;
      a.dialect = c.dialect;
      a.same_seq_as = smigrated;
      const auto suffix = recipients[i].first.substr(smigrated.size());
      b.add_after(redeliver + suffix, smigrated, *c.redeliver_after, a);
    }
  }
  if (c.retire) {
    auto everyone = endpoint_target(*c.retire);
    everyone.filter = opt_in_filter::any;
    b.add_after(c.id + ".retire.close", smigrated, c.retire_after,
                close_action{everyone, close_mode::fin, close_point::between_frames,
                             "node removed from the cluster"});
    b.add_after(c.id + ".retire", c.id + ".retire.close", milliseconds{0},
                accept_action{*c.retire, endpoint_state::down});
  }
}

// Applies the moves to the ownership map the later cluster steps see.
void apply_moves(ownership& owned, const std::vector<slot_move>& moves) {
  for (const auto& mv : moves) {
    owned[mv.from].remove(mv.slots);
    owned[mv.to].add(mv.slots);
  }
}

void expand_step(const scenario& s, const step& st, ownership& owned, std::vector<step>& out) {
  builder b(out, st.origin);
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, latency_action>) {
          b.add(st.id, st.start, latency_action{a.endpoint, a.delay, {}});
          if (a.window) {
            b.add_after(st.id + ".end", st.id, *a.window,
                        latency_action{a.endpoint, milliseconds{0}, {}});
          }
        } else if constexpr (std::is_same_v<T, stall_action>) {
          b.add(st.id, st.start, stall_action{a.endpoint, {}});
          if (a.window) {
            b.add_after(st.id + ".end", st.id, *a.window, release_action{a.endpoint});
          }
        } else if constexpr (std::is_same_v<T, fragment_action>) {
          b.add(st.id, st.start, fragment_action{a.endpoint, a.chunk_bytes, a.pause, {}});
          if (a.window) {
            b.add_after(st.id + ".end", st.id, *a.window,
                        fragment_action{a.endpoint, 0, milliseconds{0}, {}});
          }
        } else if constexpr (std::is_same_v<T, moving_lifecycle_action>) {
          add_moving(b, moving_parts{.id = st.id,
                                     .start = st.start,
                                     .from = a.from,
                                     .to = a.to,
                                     .time_s = a.time_s,
                                     .late_close = a.late_close,
                                     .close_how = a.close_how,
                                     .retire_old = a.retire_old,
                                     .seq = a.seq,
                                     .dialect = a.dialect});
        } else if constexpr (std::is_same_v<T, rolling_upgrade_action>) {
          const auto shards = shards_or_default(s, a.shards, a.from);
          b.add(st.id + ".up", st.start, accept_action{a.to, endpoint_state::up});
          b.add(st.id, st.start,
                notify(maint::migrating{.time_s = a.migrating_time_s, .shard_ids = shards}, a.from,
                       a.dialect));
          add_latency(b, st.id, a.from, a.latency, a.migrate_for);
          b.add_after(st.id + ".migrated", st.id, a.migrate_for,
                      notify(maint::migrated{.shard_ids = shards}, a.from, a.dialect));
          add_moving(b, moving_parts{.id = st.id + ".moving",
                                     .start = after_step{st.id + ".migrated", milliseconds{0}},
                                     .from = a.from,
                                     .to = a.to,
                                     .time_s = a.moving_time_s,
                                     .late_close = a.late_close,
                                     .close_how = a.close_how,
                                     .bring_up = false,
                                     .dialect = a.dialect});
        } else if constexpr (std::is_same_v<T, maintenance_mode_action>) {
          const auto shards = shards_or_default(s, a.shards, a.from);
          b.add(st.id + ".up", st.start, accept_action{a.to, endpoint_state::up});
          b.add(st.id, st.start,
                notify(maint::failing_over{.time_s = a.time_s, .shard_ids = shards}, a.from,
                       a.dialect));
          add_latency(b, st.id, a.from, a.latency, a.failover_for + a.migrate_for);
          b.add_after(st.id + ".failed_over", st.id, a.failover_for,
                      notify(maint::failed_over{.shard_ids = shards}, a.from, a.dialect));
          b.add_after(
              st.id + ".migrating", st.id + ".failed_over", milliseconds{0},
              notify(maint::migrating{.time_s = a.time_s, .shard_ids = shards}, a.from, a.dialect));
          b.add_after(st.id + ".migrated", st.id + ".migrating", a.migrate_for,
                      notify(maint::migrated{.shard_ids = shards}, a.from, a.dialect));
          add_moving(b, moving_parts{.id = st.id + ".moving",
                                     .start = after_step{st.id + ".migrated", milliseconds{0}},
                                     .from = a.from,
                                     .to = a.to,
                                     .time_s = a.moving_time_s,
                                     .late_close = a.late_close,
                                     .close_how = a.close_how,
                                     .bring_up = false,
                                     .dialect = a.dialect});
        } else if constexpr (std::is_same_v<T, in_place_upgrade_action>) {
          const auto shards = shards_or_default(s, a.shards, a.endpoint);
          maint::notification opener = maint::migrating{.time_s = a.time_s, .shard_ids = shards};
          maint::notification closer = maint::migrated{.shard_ids = shards};
          if (a.opener == maint::kind::failing_over) {
            opener = maint::failing_over{.time_s = a.time_s, .shard_ids = shards};
            closer = maint::failed_over{.shard_ids = shards};
          }
          b.add(st.id, st.start, notify(opener, a.endpoint, a.dialect));
          add_latency(b, st.id, a.endpoint, a.latency, a.window);
          auto everyone = endpoint_target(a.endpoint);
          everyone.filter = opt_in_filter::any;
          b.add_after(st.id + ".restart", st.id, a.restart_after,
                      close_action{everyone, a.close_how, close_point::between_frames,
                                   "process replaced (in-place upgrade)"});
          b.add_after(st.id + ".down", st.id + ".restart", milliseconds{0},
                      accept_action{a.endpoint, endpoint_state::down});
          b.add_after(st.id + ".up", st.id + ".restart", a.downtime,
                      accept_action{a.endpoint, endpoint_state::up});
          b.add_after(st.id + ".end", st.id, a.window, notify(closer, a.endpoint, a.dialect));
        } else if constexpr (std::is_same_v<T, migrate_action> ||
                             std::is_same_v<T, failover_action>) {
          const auto shards = shards_or_default(s, a.shards, a.endpoint);
          maint::notification opener = maint::migrating{.time_s = a.time_s, .shard_ids = shards};
          maint::notification closer = maint::migrated{.shard_ids = shards};
          if constexpr (std::is_same_v<T, failover_action>) {
            opener = maint::failing_over{.time_s = a.time_s, .shard_ids = shards};
            closer = maint::failed_over{.shard_ids = shards};
          }
          b.add(st.id, st.start, notify(opener, a.endpoint, a.dialect));
          add_latency(b, st.id, a.endpoint, a.latency, a.duration);
          b.add_after(st.id + ".end", st.id, a.duration, notify(closer, a.endpoint, a.dialect));
        } else if constexpr (std::is_same_v<T, slot_migration_action>) {
          const std::vector<slot_move> moves = {{a.from, a.to, a.slots}};
          add_cluster_moves(b, cluster_parts{.id = st.id,
                                             .start = st.start,
                                             .moves = moves,
                                             .migrate_for = a.migrate_for,
                                             .latency = a.latency,
                                             .smigrated_to = a.smigrated_to,
                                             .redeliver_after = a.redeliver_after,
                                             .dialect = a.dialect});
          apply_moves(owned, moves);
        } else if constexpr (std::is_same_v<T, remove_node_action>) {
          std::vector<slot_move> moves;
          for (auto& [dest, share] : split_evenly(owned[a.node], a.to)) {
            moves.push_back(slot_move{a.node, dest, share});
          }
          add_cluster_moves(b, cluster_parts{.id = st.id,
                                             .start = st.start,
                                             .moves = moves,
                                             .migrate_for = a.migrate_for,
                                             .latency = a.latency,
                                             .smigrated_to = a.smigrated_to,
                                             .retire = a.node,
                                             .retire_after = a.retire_after,
                                             .dialect = a.dialect});
          apply_moves(owned, moves);
        } else if constexpr (std::is_same_v<T, add_node_action>) {
          std::vector<slot_move> moves;
          for (const auto& donor : a.from) {
            if (auto share = a.slots.intersection(owned[donor]); !share.empty()) {
              moves.push_back(slot_move{donor, a.node, share});
            }
          }
          add_cluster_moves(b, cluster_parts{.id = st.id,
                                             .start = st.start,
                                             .moves = moves,
                                             .migrate_for = a.migrate_for,
                                             .latency = a.latency,
                                             .smigrated_to = a.smigrated_to,
                                             .bring_up = a.node,
                                             .dialect = a.dialect});
          apply_moves(owned, moves);
        } else if constexpr (std::is_same_v<T, slot_shuffle_action>) {
          add_cluster_moves(b, cluster_parts{.id = st.id,
                                             .start = st.start,
                                             .moves = a.moves,
                                             .migrate_for = a.migrate_for,
                                             .smigrated_to = a.smigrated_to,
                                             .dialect = a.dialect});
          apply_moves(owned, a.moves);
        } else if constexpr (std::is_same_v<T, complete_slot_migration_action>) {
          apply_moves(owned, {slot_move{a.from, a.to, a.slots}});
          b.add(st.id, st.start, a);
        } else {
          b.add(st.id, st.start, a);
        }
      },
      st.what);
}

auto has_window(const action& a) -> bool {
  if (const auto* l = std::get_if<latency_action>(&a)) {
    return l->window.has_value();
  }
  if (const auto* st = std::get_if<stall_action>(&a)) {
    return st->window.has_value();
  }
  if (const auto* f = std::get_if<fragment_action>(&a)) {
    return f->window.has_value();
  }
  return false;
}

}  // namespace

auto split_evenly(const slot_set& slots, const std::vector<std::string>& to)
    -> std::vector<std::pair<std::string, slot_set>> {
  std::vector<std::pair<std::string, slot_set>> out;
  if (to.empty()) {
    return out;
  }
  const std::size_t total = slots.size();
  const std::size_t base = total / to.size();
  const std::size_t larger = total % to.size();  // this many parts get one more slot
  std::size_t part = 0;
  std::size_t in_part = 0;
  slot_set current;
  for (std::uint32_t slot = 0; slot < schsim::cluster::slot_count && part < to.size(); ++slot) {
    const auto s16 = static_cast<std::uint16_t>(slot);
    if (!slots.contains(s16)) {
      continue;
    }
    current.add(s16);
    ++in_part;
    if (in_part == base + (part < larger ? 1 : 0)) {
      out.emplace_back(to[part], std::move(current));
      current = slot_set{};
      in_part = 0;
      ++part;
    }
  }
  return out;
}

auto expand(const scenario& s) -> scenario {
  scenario out = s;
  out.steps.clear();
  out.steps.reserve(s.steps.size() * 2);
  ownership owned;
  for (const auto& e : s.topo.endpoints) {
    owned[e.name] = e.slots;
  }
  for (const auto& st : s.steps) {
    expand_step(s, st, owned, out.steps);
  }
  return out;
}

auto is_expanded(const scenario& s) -> bool {
  for (const auto& st : s.steps) {
    if (is_composite(st.what) || has_window(st.what)) {
      return false;
    }
  }
  return true;
}

}  // namespace schsim::scenario
