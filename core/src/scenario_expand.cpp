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

using source_slots = std::vector<std::pair<std::string, slot_set>>;

/// The moves' sources in order of first appearance, each with every slot it gives away.
auto slots_by_source(const std::vector<slot_move>& moves) -> source_slots {
  source_slots sources;
  for (const auto& mv : moves) {
    auto it = std::ranges::find(sources, mv.from, &std::pair<std::string, slot_set>::first);
    if (it == sources.end()) {
      sources.emplace_back(mv.from, slot_set{});
      it = std::prev(sources.end());
    }
    it->second.add(mv.slots);
  }
  return sources;
}

/// The step id of move `n`: the base alone when there is one move.
auto per_move_id(const cluster_parts& c, const std::string& base, std::size_t n) -> std::string {
  return c.moves.size() > 1 ? base + "." + std::to_string(n + 1) : base;
}

/// One SMIGRATING per source (the first is the composite's own step, the others share its seq),
/// the migrations' begin steps, the latency while they run, and their complete steps.
void add_migration_window(builder& b, const cluster_parts& c, const source_slots& sources) {
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
    b.add_after(per_move_id(c, c.id + ".begin", n), c.id, milliseconds{0},
                begin_slot_migration_action{mv.from, mv.to, mv.slots, c.migrate_for});
  }
  if (c.latency.count() > 0) {
    const bool several_sources = sources.size() > 1;
    for (const auto& [node, slots] : sources) {
      const std::string suffix = several_sources ? "." + node : "";
      b.add_after(c.id + ".latency" + suffix, c.id, milliseconds{0},
                  latency_action{node, c.latency, {}});
      b.add_after(c.id + ".latency_end" + suffix, c.id, c.migrate_for,
                  latency_action{node, milliseconds{0}, {}});
    }
  }
  for (std::size_t n = 0; n < c.moves.size(); ++n) {
    const auto& mv = c.moves[n];
    b.add_after(per_move_id(c, c.id + ".complete", n), c.id, c.migrate_for,
                complete_slot_migration_action{mv.from, mv.to, mv.slots});
  }
}

/// The SMIGRATED with every move, to everyone or to each source (the later ones sharing the
/// first one's seq), and its redeliveries. It waits for the last complete step, so ownership
/// has flipped before any client can read the push.
void add_smigrated(builder& b, const cluster_parts& c, const source_slots& sources) {
  maint::smigrated delta;
  for (const auto& mv : c.moves) {
    delta.entries.push_back(maint::smigrated_entry{mv.from, mv.to, to_wire_ranges(mv.slots)});
  }
  const auto last_complete = per_move_id(c, c.id + ".complete", c.moves.size() - 1);
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
  auto send_to = [&](const target& who, bool same_seq) {
    send_action a;
    a.notification = delta;
    a.to = who;
    a.dialect = c.dialect;
    if (same_seq) {
      a.same_seq_as = smigrated;
    }
    return a;
  };
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    b.add_after(recipients[i].first, i == 0 ? last_complete : smigrated, milliseconds{0},
                send_to(recipients[i].second, i > 0));
  }
  if (c.redeliver_after) {
    const auto redeliver = c.id + ".redeliver";
    for (const auto& [id, who] : recipients) {
      b.add_after(redeliver + id.substr(smigrated.size()), smigrated, *c.redeliver_after,
                  send_to(who, true));
    }
  }
}

void add_cluster_moves(builder& b, const cluster_parts& c) {
  if (c.bring_up) {
    b.add(c.id + ".up", c.start, accept_action{*c.bring_up, endpoint_state::up});
  }
  const auto sources = slots_by_source(c.moves);
  if (sources.empty()) {
    return;
  }
  add_migration_window(b, c, sources);
  add_smigrated(b, c, sources);
  if (c.retire) {
    auto everyone = endpoint_target(*c.retire);
    everyone.filter = opt_in_filter::any;
    b.add_after(c.id + ".retire.close", c.id + ".smigrated", c.retire_after,
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

/// What expanding one step works on: the scenario (for shard defaults), the step, the slot
/// ownership the cluster steps so far have left, and where its steps go.
struct expansion {
  const scenario& s;
  const step& st;
  ownership& owned;
  builder& b;
};

/// A primitive action stays one step.
template <class A>
void expand(const A& a, expansion& e) {
  e.b.add(e.st.id, e.st.start, a);
}

// A fault with a window gets an ".end" step that lifts it.
void expand(const latency_action& a, expansion& e) {
  e.b.add(e.st.id, e.st.start, latency_action{a.endpoint, a.delay, {}});
  if (a.window) {
    e.b.add_after(e.st.id + ".end", e.st.id, *a.window,
                  latency_action{a.endpoint, milliseconds{0}, {}});
  }
}

void expand(const stall_action& a, expansion& e) {
  e.b.add(e.st.id, e.st.start, stall_action{a.endpoint, {}});
  if (a.window) {
    e.b.add_after(e.st.id + ".end", e.st.id, *a.window, release_action{a.endpoint});
  }
}

void expand(const fragment_action& a, expansion& e) {
  e.b.add(e.st.id, e.st.start, fragment_action{a.endpoint, a.chunk_bytes, a.pause, {}});
  if (a.window) {
    e.b.add_after(e.st.id + ".end", e.st.id, *a.window,
                  fragment_action{a.endpoint, 0, milliseconds{0}, {}});
  }
}

void expand(const moving_lifecycle_action& a, expansion& e) {
  add_moving(e.b, moving_parts{.id = e.st.id,
                               .start = e.st.start,
                               .from = a.from,
                               .to = a.to,
                               .time_s = a.time_s,
                               .late_close = a.late_close,
                               .close_how = a.close_how,
                               .retire_old = a.retire_old,
                               .seq = a.seq,
                               .dialect = a.dialect});
}

/// The MOVING that ends a rolling upgrade or maintenance mode, once `after` (its MIGRATED) is out.
template <class A>
void add_final_moving(expansion& e, const A& a, const std::string& after) {
  add_moving(e.b, moving_parts{.id = e.st.id + ".moving",
                               .start = after_step{after, milliseconds{0}},
                               .from = a.from,
                               .to = a.to,
                               .time_s = a.moving_time_s,
                               .late_close = a.late_close,
                               .close_how = a.close_how,
                               .bring_up = false,
                               .dialect = a.dialect});
}

void expand(const rolling_upgrade_action& a, expansion& e) {
  const auto& id = e.st.id;
  const auto shards = shards_or_default(e.s, a.shards, a.from);
  e.b.add(id + ".up", e.st.start, accept_action{a.to, endpoint_state::up});
  e.b.add(id, e.st.start,
          notify(maint::migrating{.time_s = a.migrating_time_s, .shard_ids = shards}, a.from,
                 a.dialect));
  add_latency(e.b, id, a.from, a.latency, a.migrate_for);
  e.b.add_after(id + ".migrated", id, a.migrate_for,
                notify(maint::migrated{.shard_ids = shards}, a.from, a.dialect));
  add_final_moving(e, a, id + ".migrated");
}

void expand(const maintenance_mode_action& a, expansion& e) {
  const auto& id = e.st.id;
  const auto shards = shards_or_default(e.s, a.shards, a.from);
  e.b.add(id + ".up", e.st.start, accept_action{a.to, endpoint_state::up});
  e.b.add(id, e.st.start,
          notify(maint::failing_over{.time_s = a.time_s, .shard_ids = shards}, a.from, a.dialect));
  add_latency(e.b, id, a.from, a.latency, a.failover_for + a.migrate_for);
  e.b.add_after(id + ".failed_over", id, a.failover_for,
                notify(maint::failed_over{.shard_ids = shards}, a.from, a.dialect));
  e.b.add_after(
      id + ".migrating", id + ".failed_over", milliseconds{0},
      notify(maint::migrating{.time_s = a.time_s, .shard_ids = shards}, a.from, a.dialect));
  e.b.add_after(id + ".migrated", id + ".migrating", a.migrate_for,
                notify(maint::migrated{.shard_ids = shards}, a.from, a.dialect));
  add_final_moving(e, a, id + ".migrated");
}

/// The opening and closing notifications of a window: MIGRATING/MIGRATED, or
/// FAILING_OVER/FAILED_OVER when `failover`.
auto window_pair(bool failover, std::int64_t time_s, const std::vector<std::string>& shards)
    -> std::pair<maint::notification, maint::notification> {
  if (failover) {
    return {maint::failing_over{.time_s = time_s, .shard_ids = shards},
            maint::failed_over{.shard_ids = shards}};
  }
  return {maint::migrating{.time_s = time_s, .shard_ids = shards},
          maint::migrated{.shard_ids = shards}};
}

void expand(const in_place_upgrade_action& a, expansion& e) {
  const auto& id = e.st.id;
  const auto shards = shards_or_default(e.s, a.shards, a.endpoint);
  auto [opener, closer] = window_pair(a.opener == maint::kind::failing_over, a.time_s, shards);
  e.b.add(id, e.st.start, notify(opener, a.endpoint, a.dialect));
  add_latency(e.b, id, a.endpoint, a.latency, a.window);
  auto everyone = endpoint_target(a.endpoint);
  everyone.filter = opt_in_filter::any;
  e.b.add_after(id + ".restart", id, a.restart_after,
                close_action{everyone, a.close_how, close_point::between_frames,
                             "process replaced (in-place upgrade)"});
  e.b.add_after(id + ".down", id + ".restart", milliseconds{0},
                accept_action{a.endpoint, endpoint_state::down});
  e.b.add_after(id + ".up", id + ".restart", a.downtime,
                accept_action{a.endpoint, endpoint_state::up});
  e.b.add_after(id + ".end", id, a.window, notify(closer, a.endpoint, a.dialect));
}

template <class A>
void expand_window(const A& a, expansion& e, bool failover) {
  const auto shards = shards_or_default(e.s, a.shards, a.endpoint);
  auto [opener, closer] = window_pair(failover, a.time_s, shards);
  e.b.add(e.st.id, e.st.start, notify(opener, a.endpoint, a.dialect));
  add_latency(e.b, e.st.id, a.endpoint, a.latency, a.duration);
  e.b.add_after(e.st.id + ".end", e.st.id, a.duration, notify(closer, a.endpoint, a.dialect));
}

void expand(const migrate_action& a, expansion& e) { expand_window(a, e, false); }
void expand(const failover_action& a, expansion& e) { expand_window(a, e, true); }

/// A cluster composite's moves become steps, and the ownership later cluster steps see.
void expand_moves(expansion& e, cluster_parts parts) {
  apply_moves(e.owned, parts.moves);
  add_cluster_moves(e.b, parts);
}

/// What every cluster composite gives its moves: timing, latency (where it has one), the
/// SMIGRATED's recipients and the dialect.
template <class A>
auto cluster_parts_of(const A& a, const expansion& e, std::vector<slot_move> moves)
    -> cluster_parts {
  cluster_parts parts{.id = e.st.id,
                      .start = e.st.start,
                      .moves = std::move(moves),
                      .migrate_for = a.migrate_for,
                      .smigrated_to = a.smigrated_to,
                      .dialect = a.dialect};
  if constexpr (requires { a.latency; }) {
    parts.latency = a.latency;
  }
  return parts;
}

void expand(const slot_migration_action& a, expansion& e) {
  auto parts = cluster_parts_of(a, e, {{a.from, a.to, a.slots}});
  parts.redeliver_after = a.redeliver_after;
  expand_moves(e, std::move(parts));
}

void expand(const remove_node_action& a, expansion& e) {
  std::vector<slot_move> moves;
  for (auto& [dest, share] : split_evenly(e.owned[a.node], a.to)) {
    moves.push_back(slot_move{a.node, dest, share});
  }
  auto parts = cluster_parts_of(a, e, std::move(moves));
  parts.retire = a.node;
  parts.retire_after = a.retire_after;
  expand_moves(e, std::move(parts));
}

void expand(const add_node_action& a, expansion& e) {
  std::vector<slot_move> moves;
  for (const auto& donor : a.from) {
    if (auto share = a.slots.intersection(e.owned[donor]); !share.empty()) {
      moves.push_back(slot_move{donor, a.node, share});
    }
  }
  auto parts = cluster_parts_of(a, e, std::move(moves));
  parts.bring_up = a.node;
  expand_moves(e, std::move(parts));
}

void expand(const slot_shuffle_action& a, expansion& e) {
  expand_moves(e, cluster_parts_of(a, e, a.moves));
}

void expand(const complete_slot_migration_action& a, expansion& e) {
  apply_moves(e.owned, {slot_move{a.from, a.to, a.slots}});
  e.b.add(e.st.id, e.st.start, a);
}

void expand_step(const scenario& s, const step& st, ownership& owned, std::vector<step>& out) {
  builder b(out, st.origin);
  expansion e{s, st, owned, b};
  std::visit([&](const auto& a) { expand(a, e); }, st.what);
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
