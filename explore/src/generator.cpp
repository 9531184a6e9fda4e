#include <schsim/core/scenario/expand.hpp>
#include <schsim/explore/generator.hpp>
#include <schsim/explore/rng.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace schsim::explore {
namespace {

namespace sc = schsim::scenario;
using ms = std::chrono::milliseconds;
using namespace std::chrono_literals;

auto draw_ms(rng& r, ms lo, ms hi, ms step = 50ms) -> ms {
  const auto lo_steps = lo.count() / step.count();
  const auto hi_steps = std::max(lo_steps, hi.count() / step.count());
  return step * r.between(lo_steps, hi_steps);
}

// Scales a duration by percent/100, rounded to 10 ms.
auto percent_of(ms d, std::int64_t percent) -> ms { return ms{d.count() * percent / 1000 * 10}; }

/// What every episode needs to know about the client and the run so far.
struct plan {
  ms timeout{1000};
  ms relaxed{3000};
  /// All steps are triggered by the first handshake plus their own delay.
  ms anchor{300};
  int next_seq = 100;
  int episode = 0;
  /// Errors the scenario provokes on purpose (server closes, restarts): tolerated rate.
  double error_rate = 0;
};

class builder {
 public:
  builder(rng& r, sc::scenario& s, plan& p) : r_(r), s_(s), p_(p) {}

  /// Adds a step `offset` after the anchor; its id is `<name>-<episode>` plus `suffix`.
  void add(std::string_view name, ms offset, sc::action what, std::string_view suffix = "") {
    sc::step st;
    st.id = std::string(name) + "-" + std::to_string(p_.episode) + std::string(suffix);
    st.start = sc::when_observed{sc::observed_counter::handshakes, 1, "", p_.anchor + offset};
    st.what = std::move(what);
    st.origin = s_.steps.size();
    s_.steps.push_back(std::move(st));
  }

  /// A reply delay a correct client survives inside a window: above the normal timeout (so
  /// relaxing matters) or below it, never near the relaxed one.
  auto inside_delay() -> ms {
    if (r_.chance(70)) {
      return draw_ms(r_, percent_of(p_.timeout, 120), percent_of(p_.relaxed, 60), 10ms);
    }
    return draw_ms(r_, percent_of(p_.timeout, 20), percent_of(p_.timeout, 80), 10ms);
  }
  /// A reply delay outside windows: clearly below the timeout, or clearly past it (the client
  /// must then time out in band, which the timeout_relaxation check judges).
  auto outside_delay() -> ms {
    if (r_.chance(50)) {
      return draw_ms(r_, percent_of(p_.timeout, 20), percent_of(p_.timeout, 80), 10ms);
    }
    return draw_ms(r_, percent_of(p_.timeout, 125),
                   std::min(percent_of(p_.timeout, 200), percent_of(p_.relaxed, 60)), 10ms);
  }
  auto maybe_dialect(int percent, bool cluster) -> std::optional<maint::dialect> {
    if (!r_.chance(percent)) {
      return std::nullopt;
    }
    maint::dialect d;
    d.simple_string_name = r_.chance(50);
    d.simple_string_arguments = r_.chance(40);
    if (cluster) {
      d.slots_as_arguments = r_.chance(40);
      d.smigrated_pairs = r_.chance(30);
    }
    return d;
  }
  auto take_seq() -> std::int64_t { return p_.next_seq++; }

  auto r() -> rng& { return r_; }
  auto s() -> sc::scenario& { return s_; }
  auto p() -> plan& { return p_; }

 private:
  rng& r_;
  sc::scenario& s_;
  plan& p_;
};

auto shards_of(const sc::scenario& s, const std::string& endpoint) -> std::vector<std::string> {
  const auto* e = s.topo.find(endpoint);
  return e != nullptr ? e->shards : std::vector<std::string>{"1"};
}

// ---------------------------------------------------------------------------------------------
// Standalone episodes

// MIGRATING or FAILING_OVER by hand: an optional duplicate, latency or a stall inside, the
// closing notification `length` later.
void window_by_hand(builder& b, const std::string& endpoint, ms offset) {
  auto& r = b.r();
  const bool failover = r.chance(40);
  const auto shards = shards_of(b.s(), endpoint);
  const ms length = draw_ms(r, 400ms, 2000ms);
  const auto time_s = r.between(1, 3);
  sc::send_action open;
  if (failover) {
    open.notification = maint::failing_over{.time_s = time_s, .shard_ids = shards};
  } else {
    open.notification = maint::migrating{.time_s = time_s, .shard_ids = shards};
  }
  open.to.scope = sc::target_scope::endpoint;
  open.to.endpoint = endpoint;
  open.dialect = b.maybe_dialect(25, false);
  const bool explicit_seq = r.chance(35);
  if (explicit_seq) {
    open.seq = b.take_seq();
  }
  b.add(failover ? "failing-over" : "migrating", offset, open);
  if (explicit_seq && r.chance(50)) {
    b.add(failover ? "failing-over" : "migrating", offset + draw_ms(r, 50ms, 300ms), open,
          "-again");
  }
  const ms inner = draw_ms(r, 0ms, length / 2);
  if (r.chance(60)) {
    b.add(
        "slow", offset + inner,
        sc::latency_action{endpoint, b.inside_delay(), draw_ms(r, 200ms, length - inner + 300ms)});
  } else if (r.chance(40)) {
    b.add("stall", offset + inner,
          sc::stall_action{endpoint,
                           draw_ms(r, 100ms, std::min(length, percent_of(b.p().relaxed, 50)))});
  }
  sc::send_action close;
  if (failover) {
    close.notification = maint::failed_over{.shard_ids = shards};
  } else {
    close.notification = maint::migrated{.shard_ids = shards};
  }
  close.to = open.to;
  close.dialect = open.dialect;
  if (explicit_seq) {
    close.seq = b.take_seq();
  }
  b.add(failover ? "failed-over" : "migrated", offset + length, close);
}

// The fault injector's migrate / failover composites.
void window_composite(builder& b, const std::string& endpoint, ms offset) {
  auto& r = b.r();
  const auto latency = r.chance(60) ? b.inside_delay() : 0ms;
  if (r.chance(50)) {
    sc::migrate_action a;
    a.endpoint = endpoint;
    a.time_s = r.between(1, 5);
    a.duration = draw_ms(r, 300ms, 1500ms);
    a.latency = latency;
    a.dialect = b.maybe_dialect(20, false);
    b.add("migrate", offset, a);
  } else {
    sc::failover_action a;
    a.endpoint = endpoint;
    a.time_s = r.between(1, 5);
    a.duration = draw_ms(r, 300ms, 1500ms);
    a.latency = latency;
    a.dialect = b.maybe_dialect(20, false);
    b.add("failover", offset, a);
  }
}

// A MOVING lifecycle from node-a: to node-b or null, maybe duplicated with the same seq.
void moving(builder& b, ms offset) {
  auto& r = b.r();
  sc::moving_lifecycle_action a;
  a.from = "node-a";
  const bool null_endpoint = r.chance(20);
  if (!null_endpoint) {
    a.to = "node-b";
  }
  a.time_s = null_endpoint ? r.between(2, 3) : r.between(1, 2 + int{r.chance(20)});
  const std::array<ms, 5> late{0ms, 0ms, 300ms, 700ms, 1000ms};
  a.late_close = r.pick(std::span<const ms>(late));
  a.close_how = r.chance(30) ? sc::close_mode::rst : sc::close_mode::fin;
  a.retire_old = !null_endpoint && r.chance(20);
  a.dialect = b.maybe_dialect(20, false);
  if (a.dialect && null_endpoint) {
    a.dialect->null_as_string = r.chance(50);
    a.dialect->moving_three_elements = r.chance(30);
  }
  const bool duplicate = r.chance(30);
  if (duplicate) {
    a.seq = b.take_seq();
  }
  b.add("move", offset, a);
  if (duplicate) {
    sc::send_action again;
    again.notification = maint::moving{.time_s = a.time_s, .endpoint = a.to};
    again.seq = a.seq;
    again.to.scope = sc::target_scope::endpoint;
    again.to.endpoint = "node-a";
    again.replay = sc::replay_policy::never;
    again.dialect = a.dialect;
    b.add("move", offset + draw_ms(r, 100ms, 400ms), again, "-again");
  }
}

// One of the Redis Software upgrades (each ends with traffic on node-b, or a restart).
void upgrade(builder& b, ms offset) {
  auto& r = b.r();
  const auto latency = r.chance(50) ? b.inside_delay() : 0ms;
  switch (r.between(0, 2)) {
    case 0: {
      sc::rolling_upgrade_action a;
      a.from = "node-a";
      a.to = "node-b";
      a.migrate_for = draw_ms(r, 400ms, 1200ms);
      a.latency = latency;
      a.moving_time_s = r.between(1, 2);
      a.late_close = r.chance(50) ? 0ms : draw_ms(r, 100ms, 800ms);
      a.dialect = b.maybe_dialect(15, false);
      b.add("rolling-upgrade", offset, a);
      break;
    }
    case 1: {
      sc::maintenance_mode_action a;
      a.from = "node-a";
      a.to = "node-b";
      a.failover_for = draw_ms(r, 300ms, 900ms);
      a.migrate_for = draw_ms(r, 300ms, 900ms);
      a.latency = latency;
      a.moving_time_s = r.between(1, 2);
      a.dialect = b.maybe_dialect(15, false);
      b.add("maintenance", offset, a);
      break;
    }
    default: {
      sc::in_place_upgrade_action a;
      a.endpoint = "node-a";
      a.opener = r.chance(50) ? maint::kind::migrating : maint::kind::failing_over;
      a.restart_after = draw_ms(r, 400ms, 1000ms);
      a.downtime = draw_ms(r, 200ms, 600ms);
      a.window = a.restart_after + a.downtime + draw_ms(r, 300ms, 1000ms);
      a.latency = latency == 0ms ? 0ms : std::min(latency, percent_of(b.p().timeout, 60));
      a.close_how = r.chance(30) ? sc::close_mode::rst : sc::close_mode::fin;
      b.add("in-place-upgrade", offset, a);
      // Commands sent while the endpoint restarts fail: that is the scenario, not a drop.
      b.p().error_rate = 0.25;
      break;
    }
  }
}

// A fault that needs no maintenance notification.
void fault(builder& b, const std::string& endpoint, ms offset) {
  auto& r = b.r();
  switch (r.between(0, 4)) {
    case 0:
      b.add("latency", offset,
            sc::latency_action{endpoint, b.outside_delay(), draw_ms(r, 300ms, 1200ms)});
      break;
    case 1: {
      const auto window =
          r.chance(50) ? draw_ms(r, 100ms, percent_of(b.p().timeout, 80))
                       : draw_ms(r, percent_of(b.p().timeout, 125), percent_of(b.p().relaxed, 60));
      b.add("stall", offset, sc::stall_action{endpoint, window});
      break;
    }
    case 2: {
      const std::array<std::size_t, 6> chunks{1, 2, 3, 5, 7, 16};
      b.add("fragment", offset,
            sc::fragment_action{endpoint, r.pick(std::span<const std::size_t>(chunks)),
                                ms{r.between(1, 2)}, draw_ms(r, 300ms, 1500ms)});
      break;
    }
    case 3: {
      sc::raw_action push;
      push.bytes = ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
      push.to.scope = sc::target_scope::endpoint;
      push.to.endpoint = endpoint;
      push.to.filter = sc::opt_in_filter::opted_in;
      b.add("foreign-push", offset, push);
      break;
    }
    default: {
      sc::close_action close;
      close.to.scope = sc::target_scope::endpoint;
      close.to.endpoint = endpoint;
      close.how = r.chance(50) ? sc::close_mode::rst : sc::close_mode::fin;
      close.point = r.chance(30) ? sc::close_point::mid_frame : sc::close_point::between_frames;
      b.add("server-close", offset, close);
      // Commands issued while the client reconnects may fail: provoked, not dropped.
      b.p().error_rate = 0.25;
      break;
    }
  }
}

void standalone_topology(rng& r, sc::scenario& s) {
  s.topo.start = "node-a";
  sc::endpoint a;
  a.name = "node-a";
  if (r.chance(30)) {
    a.shards = {"1", "2"};
  }
  sc::endpoint b;
  b.name = "node-b";
  b.initial_state = sc::endpoint_state::down;
  s.topo.endpoints = {a, b};
}

void standalone_episodes(rng& r, sc::scenario& s, plan& p) {
  builder b(r, s, p);
  const auto count = r.between(1, 4);
  std::vector<ms> offsets{0ms};
  for (int i = 1; i < count; ++i) {
    offsets.push_back(draw_ms(r, 0ms, 2000ms));
  }
  std::sort(offsets.begin(), offsets.end());
  std::optional<ms> moved_at;  // traffic is on node-b from about then
  for (const auto offset : offsets) {
    ++p.episode;
    const bool moved = moved_at && offset > *moved_at + 300ms;
    const std::string endpoint = moved ? "node-b" : "node-a";
    const auto kind = r.between(0, 9);
    if (kind < 3) {
      window_by_hand(b, endpoint, offset);
    } else if (kind < 5) {
      window_composite(b, endpoint, offset);
    } else if (kind < 7 && !moved_at) {
      moved_at = offset;
      if (r.chance(70)) {
        moving(b, offset);
      } else {
        upgrade(b, offset);
      }
    } else {
      fault(b, endpoint, offset);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Cluster episodes

struct cluster_state {
  std::map<std::string, cluster::slot_set> owns;
  std::vector<std::string> live;  // nodes up and serving
  std::string spare;              // a node that may still be added
};

// A run of up to `max` slots inside one of `node`'s ranges.
auto some_slots(rng& r, const cluster::slot_set& slots, std::int64_t max) -> cluster::slot_set {
  const auto ranges = slots.ranges();
  const auto& range = r.pick(std::span<const cluster::slot_range>(ranges));
  const std::int64_t size = std::int64_t{range.last} - range.first + 1;
  const auto take = r.between(1, std::min(size, max));
  const auto first = range.first + r.between(0, size - take);
  return cluster::slot_set::of(static_cast<std::uint16_t>(first),
                               static_cast<std::uint16_t>(first + take - 1));
}

auto owners(const cluster_state& c) -> std::vector<std::string> {
  std::vector<std::string> out;
  for (const auto& n : c.live) {
    if (!c.owns.at(n).empty()) {
      out.push_back(n);
    }
  }
  return out;
}

auto other_live(rng& r, const cluster_state& c, const std::string& not_this) -> std::string {
  std::vector<std::string> others;
  for (const auto& n : c.live) {
    if (n != not_this) {
      others.push_back(n);
    }
  }
  return r.pick(std::span<const std::string>(others));
}

template <class A>
void migration_options(builder& b, A& a, ms timeout) {
  auto& r = b.r();
  a.migrate_for = draw_ms(r, 500ms, 1800ms);
  if constexpr (requires { a.latency; }) {
    a.latency = r.chance(40) ? draw_ms(r, 20ms, percent_of(timeout, 50), 10ms) : 0ms;
  }
  a.smigrated_to = r.chance(25) ? sc::smigrated_scope::all : sc::smigrated_scope::source;
  a.dialect = b.maybe_dialect(15, true);
}

// Returns how long the ownership change takes, so the next one starts after it.
auto slot_migration(builder& b, cluster_state& c, ms offset) -> ms {
  auto& r = b.r();
  const auto from_nodes = owners(c);
  sc::slot_migration_action a;
  a.from = r.pick(std::span<const std::string>(from_nodes));
  a.to = other_live(r, c, a.from);
  a.slots = some_slots(r, c.owns[a.from], 3000);
  migration_options(b, a, b.p().timeout);
  if (r.chance(25)) {
    a.redeliver_after = draw_ms(r, 200ms, 800ms);
  }
  c.owns[a.from].remove(a.slots);
  c.owns[a.to].add(a.slots);
  b.add("slot-migration", offset, a);
  return a.migrate_for + a.redeliver_after.value_or(0ms);
}

auto remove_node(builder& b, cluster_state& c, ms offset) -> std::optional<ms> {
  auto& r = b.r();
  std::vector<std::string> candidates;
  for (const auto& n : owners(c)) {
    if (n != b.s().topo.start) {
      candidates.push_back(n);
    }
  }
  if (candidates.empty() || c.live.size() < 3) {
    return std::nullopt;
  }
  sc::remove_node_action a;
  a.node = r.pick(std::span<const std::string>(candidates));
  for (const auto& n : c.live) {
    if (n != a.node) {
      a.to.push_back(n);
    }
  }
  migration_options(b, a, b.p().timeout);
  a.retire_after = draw_ms(r, 300ms, 1000ms);
  for (const auto& [node, part] : sc::split_evenly(c.owns[a.node], a.to)) {
    c.owns[node].add(part);
  }
  c.owns[a.node] = {};
  std::erase(c.live, a.node);
  b.add("remove-node", offset, a);
  return a.migrate_for + a.retire_after;
}

auto add_node(builder& b, cluster_state& c, ms offset) -> std::optional<ms> {
  auto& r = b.r();
  const auto donors = owners(c);
  if (c.spare.empty() || donors.empty()) {
    return std::nullopt;
  }
  sc::add_node_action a;
  a.node = c.spare;
  const auto donor_count =
      std::min<std::int64_t>(static_cast<std::int64_t>(donors.size()), r.between(1, 2));
  for (std::int64_t i = 0; i < donor_count; ++i) {
    const auto& d = donors[static_cast<std::size_t>(i)];
    a.from.push_back(d);
    auto part = some_slots(r, c.owns[d], 1500);
    a.slots.add(part);
    c.owns[d].remove(part);
  }
  migration_options(b, a, b.p().timeout);
  c.owns[a.node] = a.slots;
  c.live.push_back(a.node);
  c.spare.clear();
  b.add("add-node", offset, a);
  return a.migrate_for;
}

auto slot_shuffle(builder& b, cluster_state& c, ms offset) -> ms {
  auto& r = b.r();
  sc::slot_shuffle_action a;
  const auto moves = r.between(2, 3);
  for (std::int64_t i = 0; i < moves; ++i) {
    const auto from_nodes = owners(c);
    sc::slot_move m;
    m.from = r.pick(std::span<const std::string>(from_nodes));
    m.to = other_live(r, c, m.from);
    m.slots = some_slots(r, c.owns[m.from], 500);
    c.owns[m.from].remove(m.slots);
    c.owns[m.to].add(m.slots);
    a.moves.push_back(std::move(m));
  }
  migration_options(b, a, b.p().timeout);
  b.add("slot-shuffle", offset, a);
  return a.migrate_for;
}

void cluster_topology(rng& r, sc::scenario& s, cluster_state& c) {
  s.topo.cluster = true;
  s.topo.start = "node-a";
  const std::array<std::pair<const char*, cluster::slot_set>, 3> nodes{
      std::pair{"node-a", cluster::slot_set::of(0, 5460)},
      std::pair{"node-b", cluster::slot_set::of(5461, 10922)},
      std::pair{"node-c", cluster::slot_set::of(10923, 16383)}};
  for (const auto& [name, slots] : nodes) {
    sc::endpoint e;
    e.name = name;
    e.slots = slots;
    s.topo.endpoints.push_back(e);
    c.owns[name] = slots;
    c.live.emplace_back(name);
  }
  if (r.chance(50)) {
    sc::endpoint d;
    d.name = "node-d";
    d.initial_state = sc::endpoint_state::down;
    s.topo.endpoints.push_back(d);
    c.owns["node-d"] = {};
    c.spare = "node-d";
  }
}

void cluster_episodes(rng& r, sc::scenario& s, plan& p) {
  cluster_state c;
  cluster_topology(r, s, c);
  builder b(r, s, p);
  ms offset = 0ms;
  const auto count = r.between(1, 3);
  for (int i = 0; i < count; ++i) {
    ++p.episode;
    std::optional<ms> took;
    switch (r.between(0, 5)) {
      case 0:
        took = remove_node(b, c, offset);
        break;
      case 1:
        took = add_node(b, c, offset);
        break;
      case 2:
        took = slot_shuffle(b, c, offset);
        break;
      default:
        break;
    }
    if (!took) {
      took = slot_migration(b, c, offset);
    }
    if (r.chance(40)) {
      ++p.episode;
      const auto& node = r.pick(std::span<const std::string>(c.live));
      fault(b, node, draw_ms(r, 0ms, offset + *took));
    }
    offset += *took + draw_ms(r, 0ms, 400ms);
  }
}

// ---------------------------------------------------------------------------------------------
// Limits that keep every generated expectation possible for a correct client

template <class F>
void each_reply_delay(sc::scenario& s, F&& f) {
  for (auto& st : s.steps) {
    std::visit(
        [&](auto& a) {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, sc::latency_action>) {
            f(a.endpoint, a.delay);
          } else if constexpr (std::is_same_v<T, sc::stall_action>) {
            if (a.window) {
              f(a.endpoint, *a.window);
            }
          } else if constexpr (requires {
                                 a.latency;
                                 a.endpoint;
                               }) {
            f(a.endpoint, a.latency);
          } else if constexpr (requires {
                                 a.latency;
                                 requires std::is_same_v<decltype(a.from), std::string>;
                               }) {
            f(a.from, a.latency);
          }
        },
        st.what);
  }
}

auto moves_away_from_start(const sc::scenario& s) -> bool {
  return std::ranges::any_of(s.steps, [](const sc::step& st) {
    return std::holds_alternative<sc::moving_lifecycle_action>(st.what) ||
           std::holds_alternative<sc::rolling_upgrade_action>(st.what) ||
           std::holds_alternative<sc::maintenance_mode_action>(st.what);
  });
}

/**
 * A MOVING's old endpoint closes when the grace ends (1 s at least here): a reply it holds
 * longer can never arrive, and a correct client that closes the old connection on time loses
 * the command; the new endpoint must complete the handoff's handshake inside the grace. So
 * with a MOVING, replies are delayed 400 ms at most on the start endpoint, 150 ms elsewhere. In
 * a cluster a command may be redirected from node to node, and the checks judge its wait where
 * it first arrived: reply delays stay below 80% of the normal timeout there.
 */
void keep_expectations_possible(sc::scenario& s, const plan& p) {
  // A null MOVING asks the client to reconnect after time/2; a server close during that wait
  // makes it reconnect at once, which is just as right: no closes with a null MOVING.
  const bool null_moving = std::ranges::any_of(s.steps, [](const sc::step& st) {
    const auto* m = std::get_if<sc::moving_lifecycle_action>(&st.what);
    return m != nullptr && !m->to;
  });
  if (null_moving) {
    std::erase_if(s.steps, [](const sc::step& st) {
      return std::holds_alternative<sc::close_action>(st.what);
    });
    for (std::size_t i = 0; i < s.steps.size(); ++i) {
      s.steps[i].origin = i;
    }
  }
  if (s.topo.cluster) {
    const auto cap = percent_of(p.timeout, 80);
    each_reply_delay(s, [&](const std::string&, ms& d) { d = std::min(d, cap); });
  } else if (moves_away_from_start(s)) {
    // The new endpoint must answer the handoff's HELLO and CLIENT within the grace too.
    each_reply_delay(s, [&](const std::string& endpoint, ms& d) {
      d = std::min(d, endpoint == s.topo.start ? ms{400} : ms{150});
    });
  }
}

// ---------------------------------------------------------------------------------------------

void client_and_workload(rng& r, sc::scenario& s, plan& p, bool cluster) {
  const std::array<ms, 3> timeouts{500ms, 750ms, 1000ms};
  p.timeout = cluster ? 1000ms : r.pick(std::span<const ms>(timeouts));
  p.relaxed = r.chance(50) ? 2000ms : 3000ms;
  s.client.timeout = p.timeout;
  s.client.relaxed_timeout = p.relaxed;
  const std::array<ms, 3> post{300ms, 500ms, 1000ms};
  s.client.post_handoff_relaxed = r.pick(std::span<const ms>(post));
  if (!cluster) {
    const std::array<sc::endpoint_type, 3> types{sc::endpoint_type::internal_ip,
                                                 sc::endpoint_type::external_ip,
                                                 sc::endpoint_type::automatic};
    s.client.moving_endpoint_type = r.pick(std::span<const sc::endpoint_type>(types));
  }
  const std::array<double, 3> rates{20, 30, 50};
  s.load.rate = r.pick(std::span<const double>(rates));
  // In key order, as a scenario file reads the table back.
  s.load.mix.clear();
  for (const auto* cmd : {"get", "incr", "set"}) {
    if (r.chance(70)) {
      s.load.mix.push_back({cmd, static_cast<std::uint32_t>(r.between(1, 3))});
    }
  }
  if (s.load.mix.empty()) {
    s.load.mix.push_back({"incr", 1});
  }
  if (r.chance(25)) {
    s.load.probe = sc::latency_probe{draw_ms(r, 100ms, 250ms), "ping"};
  }
  p.anchor = draw_ms(r, 200ms, 600ms);
  p.next_seq = static_cast<int>(r.between(10, 500));
}

}  // namespace

auto to_string(profile p) -> std::string_view {
  switch (p) {
    case profile::standalone:
      return "standalone";
    case profile::cluster:
      return "cluster";
    case profile::all:
      return "all";
  }
  return "?";
}

auto parse_profile(std::string_view s) -> std::optional<profile> {
  for (auto p : {profile::standalone, profile::cluster, profile::all}) {
    if (s == to_string(p)) {
      return p;
    }
  }
  return std::nullopt;
}

auto generate(std::uint64_t seed, std::uint64_t index, profile which) -> scenario::scenario {
  const auto own_seed = case_seed(seed, index);
  rng r(own_seed);
  const bool cluster = which == profile::cluster || (which == profile::all && r.chance(50));
  sc::scenario s;
  s.meta.id = "explore-" + std::to_string(seed) + "-" + std::to_string(index);
  s.meta.title =
      std::string("generated by schsim explore (") + (cluster ? "cluster" : "standalone") + ")";
  s.meta.tags = {"explore", cluster ? "cluster" : "standalone"};
  s.seed = own_seed >> 1U;  // scenario files hold signed 64-bit integers
  plan p;
  client_and_workload(r, s, p, cluster);
  if (cluster) {
    cluster_episodes(r, s, p);
  } else {
    standalone_topology(r, s);
    standalone_episodes(r, s, p);
  }
  keep_expectations_possible(s, p);
  s.expect.max_error_rate = p.error_rate;
  if (cluster) {
    // Not no_leaks: a cluster client rightly opens a connection to a node that joins, so the
    // open connections at the end may exceed the steady state before the first step.
    s.expect.checks = {"handshake", "no_lost_commands", "relaxed_timeouts", "topology_refresh",
                       "removed_node"};
  }
  s.duration = required_duration(s, 1500ms);
  return s;
}

auto estimated_timeline_end(const scenario::scenario& s, ms assumed_first_handshake) -> ms {
  const auto x = sc::expand(s);
  std::map<std::string, ms, std::less<>> when;
  // Steps refer only to steps before them or to generated ones; resolve lazily, bounded by the
  // step count so a cycle (which validate() reports) cannot recurse forever.
  auto resolve = [&](auto&& self, const sc::step& st, std::size_t depth) -> ms {
    if (const auto it = when.find(st.id); it != when.end()) {
      return it->second;
    }
    ms t{0};
    if (const auto* at = std::get_if<sc::at_time>(&st.start)) {
      t = at->at;
    } else if (const auto* after = std::get_if<sc::after_step>(&st.start)) {
      const auto* base = x.find_step(after->step);
      t = after->delay +
          (base != nullptr && depth < x.steps.size() ? self(self, *base, depth + 1) : 0ms);
    } else if (const auto* w = std::get_if<sc::when_observed>(&st.start)) {
      t = assumed_first_handshake + w->delay;
    }
    when.emplace(st.id, t);
    return t;
  };
  ms end{0};
  for (const auto& st : x.steps) {
    end = std::max(end, resolve(resolve, st, 0));
  }
  return end;
}

auto required_duration(const scenario::scenario& s, ms tail) -> ms {
  const auto end = estimated_timeline_end(s, 500ms) + tail;
  return ms{(end.count() + 499) / 500 * 500};
}

}  // namespace schsim::explore
