// Cluster mode end to end: the reference cluster client against the simulator in OSS Cluster
// mode (three nodes, slots 0-5460 / 5461-10922 / 10923-16383), with -MOVED, -ASK, SMIGRATING /
// SMIGRATED slot migrations and node removal. Pushes are literal wire bytes.

#include <schsim/core/cluster/slots.hpp>

#include <algorithm>
#include <map>

#include "support/sim.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::itest::cluster_test {
namespace {

using cluster::slot_set;

auto bulk(const std::string& s) -> std::string {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}
auto smigrating_bytes(std::int64_t seq, const std::string& slots) -> std::string {
  return ">3\r\n$10\r\nSMIGRATING\r\n:" + std::to_string(seq) + "\r\n" + bulk(slots);
}
auto smigrated_bytes(std::int64_t seq, const std::string& from, const std::string& to,
                     const std::string& slots) -> std::string {
  return ">3\r\n$9\r\nSMIGRATED\r\n:" + std::to_string(seq) + "\r\n*1\r\n*3\r\n" + bulk(from) +
         bulk(to) + bulk(slots);
}

class Cluster : public sim_test {
 protected:
  const slot_set a_slots = slot_set::of(0, 5460);
  const slot_set b_slots = slot_set::of(5461, 10922);
  const slot_set c_slots = slot_set::of(10923, 16383);

  void start_cluster() {
    auto a = endpoint("node-a");
    a.slots = a_slots;
    auto b = endpoint("node-b");
    b.slots = b_slots;
    auto c = endpoint("node-c");
    c.slots = c_slots;
    start({a, b, c}, true);
  }

  auto cluster_config() -> client_config {
    auto c = config_for("node-a");
    c.pool_size = 2;
    return c;
  }

  /// A key of `prefix` whose slot is in `slots`.
  static auto key_in(const slot_set& slots, const std::string& prefix) -> std::string {
    for (int i = 0;; ++i) {
      auto k = prefix + ":" + std::to_string(i);
      if (slots.contains(cluster::key_slot(k))) return k;
    }
  }

  auto redirects(const std::string& node = {}) {
    return events_of<timeline::cluster_redirect>(node);
  }

  /// When the server wrote the first `name` push on `node`.
  auto push_time(const std::string& node, const std::string& name) -> std::optional<std::int64_t> {
    for (const auto& [e, p] : events_of<timeline::push_written>(node)) {
      if (p.name == name) return e.t_ns;
    }
    return std::nullopt;
  }

  /// Commands `node` received after `t_ns`, as "<args[0]> <args[1]>".
  auto received_after(const std::string& node, std::int64_t t_ns) -> std::vector<std::string> {
    std::vector<std::string> out;
    for (const auto& [e, c] : events_of<timeline::command_received>(node)) {
      if (e.t_ns <= t_ns || c.args.empty()) continue;
      out.push_back(c.args[0] + (c.args.size() > 1 ? " " + c.args[1] : std::string{}));
    }
    return out;
  }

  auto cluster_node(cluster_client& c, const std::string& name) -> std::optional<node_snapshot> {
    const auto a = address_of(name);
    for (auto& n : c.nodes()) {
      if (n.endpoint == a) return n;
    }
    return std::nullopt;
  }

  /// Every node opted in to maintenance notifications on every connection.
  void expect_handshaken(cluster_client& c) {
    for (const auto& n : c.nodes()) {
      for (const auto& conn : n.connections) {
        EXPECT_EQ(conn.protocol, resp3::protocol::resp3) << n.endpoint;
        EXPECT_EQ(conn.maint, maint_state::on) << n.endpoint;
      }
    }
  }
  /// The contract's slot_migration under open-loop INCR load: SMIGRATING on node-a, the
  /// migration for 800 ms, then the ownership flip and SMIGRATED (seq 42) on node-a. Returns the
  /// workload, still running, and when the SMIGRATED was written.
  auto migrate_under_load(cluster_client& c, const slot_set& moving, const std::string& prefix)
      -> std::pair<workload*, std::int64_t> {
    auto& w = make_workload(c, prefix, 1500, 2ms);
    w.start();
    run_for(600ms);
    EXPECT_GE(push("node-a", smigrating_bytes(41, moving.to_string()), "SMIGRATING", 41), 1U);
    server().begin_slot_migration("node-a", "node-b", moving, 800ms);
    run_for(800ms);
    server().complete_slot_migration("node-a", "node-b", moving);
    EXPECT_GE(push("node-a", smigrated(42, moving), "SMIGRATED", 42), 1U);
    run_for(20ms);
    const auto t = push_time("node-a", "SMIGRATED");
    EXPECT_TRUE(t.has_value());
    return {&w, t.value_or(0)};
  }

  auto smigrated(std::int64_t seq, const slot_set& moving) -> std::string {
    return smigrated_bytes(seq, address_of("node-a").to_string(), address_of("node-b").to_string(),
                           moving.to_string());
  }

  /// topology_refresh's evidence: -MOVED answers from node-a for `moving` later than t + 1 s.
  auto late_moved(const slot_set& moving, std::int64_t t_push) -> std::size_t {
    std::size_t late = 0;
    for (const auto& [e, r] : redirects("node-a")) {
      if (r.what == timeline::cluster_redirect::kind::moved && moving.contains(r.slot) &&
          e.t_ns > t_push + 1'000'000'000) {
        ++late;
      }
    }
    return late;
  }

  /// removed_node_traffic's evidence: workload commands node-a received that were issued more
  /// than `transit` after the SMIGRATED was written (anything else reaching it after the push
  /// counts too). `transit` covers the push's way to the client: a command issued while the
  /// push is written but not read yet can only follow the old map.
  auto traffic_after_push(const workload& w, std::int64_t t_push, milliseconds transit = 50ms)
      -> std::vector<std::string> {
    std::map<std::string, time_point> issued;
    for (std::size_t i = 0; i < w.results().size(); ++i) issued[w.key(i)] = w.results()[i].issued;
    std::vector<std::string> out;
    for (const auto& cmd : received_after("node-a", t_push)) {
      const auto key = cmd.substr(cmd.find(' ') + 1);
      if (!issued.contains(key) ||
          to_ns(issued[key]) >= t_push + std::chrono::nanoseconds{transit}.count()) {
        out.push_back(cmd);
      }
    }
    return out;
  }
};

TEST_F(Cluster, ConnectLoadsTheSlotMapAndRoutesEveryKeyToItsOwner) {
  start_cluster();
  auto& c = make_cluster_client(cluster_config());
  ASSERT_EQ(connect(c), std::nullopt);
  auto members =
      std::vector<address>{address_of("node-a"), address_of("node-b"), address_of("node-c")};
  std::sort(members.begin(), members.end());
  EXPECT_EQ(c.topology(), members);
  EXPECT_EQ(c.owner(0), address_of("node-a"));
  EXPECT_EQ(c.owner(5461), address_of("node-b"));
  EXPECT_EQ(c.owner(16383), address_of("node-c"));

  auto& w = make_workload(c, "route", 300, 1ms);
  w.start();
  ASSERT_TRUE(run_until([&] { return w.done(); }, 20s));
  EXPECT_EQ(w.failures(), 0U) << w.failure_summary();
  expect_exactly_once(w);
  EXPECT_TRUE(redirects().empty()) << "every command went to its owner the first time";
  // Each node got exactly the keys it owns.
  for (const auto& [node, slots] : std::map<std::string, slot_set>{
           {"node-a", a_slots}, {"node-b", b_slots}, {"node-c", c_slots}}) {
    std::size_t keys = 0;
    for (const auto& [e, cmd] : events_of<timeline::command_received>(node)) {
      if (cmd.args.size() < 2 || cmd.args[0] != "INCR") continue;
      ++keys;
      EXPECT_TRUE(slots.contains(cluster::key_slot(cmd.args[1]))) << node << " got " << cmd.args[1];
    }
    EXPECT_GT(keys, 50U) << node;
  }
  expect_handshaken(c);
  EXPECT_EQ(c.nodes().size(), 3U);
}

TEST_F(Cluster, StandaloneServerFailsConnectWithRedisText) {
  start({endpoint("node-a")});
  auto& c = make_cluster_client(config_for("node-a"));
  const auto e = connect(c);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message.find("This instance has cluster support disabled"), std::string::npos)
      << e->message;
}

TEST_F(Cluster, MovedIsFollowedAndRepairsTheMap) {
  start_cluster();
  auto& c = make_cluster_client(cluster_config());
  ASSERT_EQ(connect(c), std::nullopt);
  const auto key = key_in(a_slots, "moved");
  const auto slot = cluster::key_slot(key);
  // Ownership flips without any push: only -MOVED can tell the client.
  server().complete_slot_migration("node-a", "node-b", slot_set::of(slot, slot));
  const auto r = exec(c, {"INCR", key});
  ASSERT_TRUE(is_ok(r)) << describe(r);
  EXPECT_EQ(value_of(key), std::optional<std::string>{"1"}) << "a MOVED reply is not an execution";
  ASSERT_EQ(redirects("node-a").size(), 1U);
  EXPECT_EQ(c.owner(slot), address_of("node-b"));
  EXPECT_EQ(c.stats().moved, 1U);
  // The map is repaired: the next command for the slot goes straight to node-b.
  ASSERT_TRUE(is_ok(exec(c, {"INCR", key})));
  EXPECT_EQ(redirects().size(), 1U);
  EXPECT_EQ(value_of(key), std::optional<std::string>{"2"});
  // And a lazy CLUSTER SLOTS reload followed.
  ASSERT_TRUE(run_until([&] { return c.stats().topology_reloads >= 2; }, 3s));
}

TEST_F(Cluster, AskSendsAskingAndTheCommandToTheTargetOnce) {
  start_cluster();
  auto& c = make_cluster_client(cluster_config());
  ASSERT_EQ(connect(c), std::nullopt);
  const auto key = key_in(a_slots, "ask");
  const auto slot = cluster::key_slot(key);
  server().begin_slot_migration("node-a", "node-b", slot_set::of(slot, slot), 10s);
  // A missing key during a migration is always asked to the target.
  const auto r = exec(c, {"INCR", key});
  ASSERT_TRUE(is_ok(r)) << describe(r);
  EXPECT_EQ(value_of(key), std::optional<std::string>{"1"});
  EXPECT_EQ(c.stats().asked, 1U);
  EXPECT_EQ(c.owner(slot), address_of("node-a")) << "ASK does not change the map";
  // On node-b: ASKING immediately before the INCR, on the same connection.
  std::map<std::uint64_t, std::vector<std::string>> per_conn;
  for (const auto& [e, cmd] : events_of<timeline::command_received>("node-b")) {
    if (!cmd.args.empty()) per_conn[e.conn].push_back(cmd.args[0]);
  }
  bool asking_then_incr = false;
  for (const auto& [conn, names] : per_conn) {
    for (std::size_t i = 0; i + 1 < names.size(); ++i) {
      asking_then_incr = asking_then_incr || (names[i] == "ASKING" && names[i + 1] == "INCR");
    }
  }
  EXPECT_TRUE(asking_then_incr);
}

// The slot migration of the contract: nothing is lost or doubled, the receiving connection is
// relaxed for the window, the moved slots stop reaching the source within the harness's 1 s,
// and one topology reload is done for the seq whatever the copies.
TEST_F(Cluster, SlotMigrationUnderLoadFollowsWithinASecondAndReloadsOncePerSeq) {
  start_cluster();
  auto& c = make_cluster_client(cluster_config());
  ASSERT_EQ(connect(c), std::nullopt);
  const auto reloads_before = c.stats().topology_reloads;
  const slot_set moving = slot_set::of(0, 2999);
  auto [w, t_push] = migrate_under_load(c, moving, "mig");
  EXPECT_EQ(client_events("relaxed").size(), client_events("restored").size());
  EXPECT_FALSE(client_events("relaxed").empty()) << "SMIGRATING relaxes its connection";
  ASSERT_TRUE(run_until([&] { return c.stats().topology_reloads > reloads_before; }, 2s));
  run_for(300ms);
  const auto reloads_after = c.stats().topology_reloads;
  // The same SMIGRATED again (a redelivery) and a copy on node-b: no second reload.
  const auto copies = push("node-a", smigrated(42, moving), "SMIGRATED", 42) +
                      push("node-b", smigrated(42, moving), "SMIGRATED", 42);
  ASSERT_GE(copies, 2U);
  ASSERT_TRUE(run_until([&] { return w->done(); }, 20s));
  EXPECT_EQ(w->failures(), 0U) << w->failure_summary();
  expect_exactly_once(*w);
  EXPECT_EQ(c.stats().topology_reloads, reloads_after);
  // One copy per opted-in connection of node-a (the pool may have grown to two) at first.
  const auto first_copies = c.stats().smigrated_received - copies;
  EXPECT_GE(first_copies, 1U);
  EXPECT_EQ(c.stats().smigrated_duplicates, first_copies - 1 + copies);
  std::map<std::string, std::size_t> verdicts;
  for (const auto& e : client_events("smigrated")) {
    for (const auto& [k, v] : e.detail) {
      if (k == "verdict") ++verdicts[std::get<std::string>(v)];
    }
  }
  EXPECT_EQ(verdicts["reload"], 1U) << "one reload for seq 42, whatever the copies";
  EXPECT_EQ(verdicts["duplicate"] + verdicts["in_progress"], first_copies - 1 + copies);
  EXPECT_EQ(c.owner(0), address_of("node-b"));
  EXPECT_EQ(c.owner(2999), address_of("node-b"));
  EXPECT_EQ(c.owner(3000), address_of("node-a"));
  EXPECT_EQ(late_moved(moving, t_push), 0U);
}

// Broken mode ignore-smigrated: the same run, but only -MOVED repairs the map, slot by slot, so
// moved slots keep reaching the source long after the push (what topology_refresh catches).
TEST_F(Cluster, BrokenIgnoreSmigratedKeepsSendingMovedSlotsToTheSource) {
  start_cluster();
  auto cfg = cluster_config();
  cfg.broken.set(broken_mode::ignore_smigrated);
  auto& c = make_cluster_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  const slot_set moving = slot_set::of(0, 2999);
  auto [w, t_push] = migrate_under_load(c, moving, "igs");
  ASSERT_TRUE(run_until([&] { return w->done(); }, 20s));
  EXPECT_EQ(w->failures(), 0U) << w->failure_summary();
  expect_exactly_once(*w);
  EXPECT_EQ(c.stats().topology_reloads, 1U) << "only the initial load";
  EXPECT_GT(late_moved(moving, t_push), 10U);
}

// remove_node: every slot of node-a moves away; after its SMIGRATED no command the client
// issues reaches node-a, its pool is closed once idle, and node-a going down costs nothing.
TEST_F(Cluster, RemovedNodeGetsNoTrafficAfterItsSmigratedAndIsClosed) {
  start_cluster();
  auto& c = make_cluster_client(cluster_config());
  ASSERT_EQ(connect(c), std::nullopt);
  auto [w, t_push] = migrate_under_load(c, a_slots, "rm");
  ASSERT_TRUE(run_until([&] { return !cluster_node(c, "node-a").has_value(); }, 3s))
      << "node-a's pool is closed once idle";
  server().set_accept_mode("node-a", simulator::accept_mode::refuse);
  ASSERT_TRUE(run_until([&] { return w->done(); }, 20s));
  EXPECT_EQ(w->failures(), 0U) << w->failure_summary();
  expect_exactly_once(*w);
  auto members = std::vector<address>{address_of("node-b"), address_of("node-c")};
  std::sort(members.begin(), members.end());
  EXPECT_EQ(c.topology(), members);
  EXPECT_EQ(traffic_after_push(*w, t_push), std::vector<std::string>{});
  EXPECT_EQ(c.stats().nodes_closed, 1U);
}

// Broken mode sticky-slot-map: -MOVED is followed, but the map never changes, so node-a keeps
// getting every command for its old slots (what removed_node_traffic catches).
TEST_F(Cluster, BrokenStickySlotMapKeepsSendingToTheRemovedNode) {
  start_cluster();
  auto cfg = cluster_config();
  cfg.broken.set(broken_mode::sticky_slot_map);
  auto& c = make_cluster_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  auto [w, t_push] = migrate_under_load(c, a_slots, "sticky");
  ASSERT_TRUE(run_until([&] { return w->done(); }, 20s));
  EXPECT_EQ(w->failures(), 0U) << w->failure_summary();
  expect_exactly_once(*w);
  EXPECT_GT(traffic_after_push(*w, t_push).size(), 50U);
  EXPECT_TRUE(cluster_node(c, "node-a").has_value());
  EXPECT_EQ(c.owner(0), address_of("node-a"));
}

// A node that stops answering after losing its slots without telling anyone (no SMIGRATED):
// commands the stale map sends there wait unwritten for a connection; the failed reconnect
// (its handshake times out after 1 s) makes the topology suspect, the reload drops the node,
// and the waiting commands follow their slots at once instead of failing after queue_timeout
// (4 s here). Each still runs exactly once.
TEST_F(Cluster, CommandsWaitingOnANodeThatLeftAreReroutedAfterTheReload) {
  start_cluster();
  auto& c = make_cluster_client(cluster_config());
  ASSERT_EQ(connect(c), std::nullopt);
  server().complete_slot_migration("node-a", "node-b", a_slots);
  server().set_accept_mode("node-a", simulator::accept_mode::not_accepting);
  ASSERT_GE(server().close_connections(on_endpoint("node-a", false), simulator::close_mode::fin,
                                       simulator::close_point::between_frames, "node removed"),
            1U);
  run_for(50ms);  // the client sees the close and starts reconnecting
  const auto started = mono_clock::now();
  auto& w = make_workload(c, "gone", 60, 1ms);
  w.start();
  ASSERT_TRUE(run_until([&] { return w.done(); }, 10s));
  const auto took = mono_clock::now() - started;
  EXPECT_EQ(w.failures(), 0U) << w.failure_summary();
  expect_exactly_once(w);
  EXPECT_LT(took, 2500ms) << "waited for queue_timeout instead of following the slot";
  EXPECT_FALSE(client_events("rerouted").empty());
  EXPECT_EQ(c.owner(0), address_of("node-b"));
  EXPECT_FALSE(cluster_node(c, "node-a").has_value());
}

// --- sharded Pub/Sub --------------------------------------------------------------------------

// schsim:chan:0 hashes to slot 2135 (node-a), chan:1 to 6262 (node-b), chan:3 to 14388
// (node-c).
class ShardPubsub : public Cluster {
 protected:
  const std::vector<std::string> channels{"schsim:chan:0", "schsim:chan:1", "schsim:chan:3"};
  std::vector<pubsub_message> got;

  void subscribe(cluster_client& c) {
    auto done = std::make_shared<std::optional<std::optional<command_error>>>();
    c.ssubscribe(
        channels, [this](pubsub_message m) { got.push_back(std::move(m)); },
        [done](std::optional<command_error> e) { *done = std::move(e); });
    ASSERT_TRUE(run_until([&] { return done->has_value(); }));
    ASSERT_FALSE(done->value().has_value()) << done->value()->message;
  }

  /// SSUBSCRIBEs of `channel` that `node` received (refused ones included).
  auto ssubscribes(const std::string& node, const std::string& channel) -> std::size_t {
    std::size_t n = 0;
    for (const auto& [e, cmd] : events_of<timeline::command_received>(node)) {
      if (cmd.args.size() == 2 && cmd.args[0] == "SSUBSCRIBE" && cmd.args[1] == channel) ++n;
    }
    return n;
  }

  /// SPUBLISHes `payload` on `channel`'s owner and waits for it to reach the application.
  auto delivered(const std::string& channel, const std::string& payload) -> bool {
    if (server().publish("node-a", channel, payload, true) != 1) return false;
    return run_until([&] {
      return std::any_of(got.begin(), got.end(), [&](const pubsub_message& m) {
        return m.channel == channel && m.payload == payload;
      });
    });
  }
};

TEST_F(ShardPubsub, EachChannelIsSubscribedOnItsSlotsOwner) {
  start_cluster();
  auto& c = make_cluster_client(cluster_config());
  ASSERT_EQ(connect(c), std::nullopt);
  subscribe(c);
  EXPECT_EQ(ssubscribes("node-a", "schsim:chan:0"), 1U);
  EXPECT_EQ(ssubscribes("node-b", "schsim:chan:1"), 1U);
  EXPECT_EQ(ssubscribes("node-c", "schsim:chan:3"), 1U);
  for (const auto& ch : channels) EXPECT_TRUE(delivered(ch, "hello " + ch)) << ch;
  EXPECT_TRUE(redirects().empty()) << "every SSUBSCRIBE went to the owner the first time";
}

// The migration as the contract sends it: node-a drops the shard subscriber of the moved slot
// (sunsubscribe push) when ownership flips, then SMIGRATED follows. The channel is subscribed
// on node-b once, the others stay where they were, and nothing arrives twice.
TEST_F(ShardPubsub, AChannelFollowsItsSlotToTheNewOwner) {
  start_cluster();
  auto& c = make_cluster_client(cluster_config());
  ASSERT_EQ(connect(c), std::nullopt);
  subscribe(c);
  ASSERT_TRUE(delivered("schsim:chan:0", "before"));
  const auto moving = slot_set::of(0, 2730);
  server().complete_slot_migration("node-a", "node-b", moving);
  EXPECT_GE(push("node-a", smigrated(42, moving), "SMIGRATED", 42), 1U);
  ASSERT_TRUE(run_until([&] { return ssubscribes("node-b", "schsim:chan:0") == 1; }, 2s));
  EXPECT_TRUE(delivered("schsim:chan:0", "after"));
  EXPECT_TRUE(delivered("schsim:chan:1", "untouched"));
  EXPECT_EQ(ssubscribes("node-a", "schsim:chan:0"), 1U) << "not asked at the old owner again";
  EXPECT_EQ(ssubscribes("node-b", "schsim:chan:1"), 1U);
  EXPECT_EQ(std::count_if(got.begin(), got.end(),
                          [](const pubsub_message& m) { return m.payload == "after"; }),
            1);
  EXPECT_EQ(c.stats().shard_resubscribes, 1U);
}

// No SMIGRATED at all (a server without SCH): the sunsubscribe alone makes the client reload
// the map and find the new owner.
TEST_F(ShardPubsub, TheServersSunsubscribeAloneIsEnough) {
  start_cluster();
  auto& c = make_cluster_client(cluster_config());
  ASSERT_EQ(connect(c), std::nullopt);
  subscribe(c);
  server().complete_slot_migration("node-c", "node-a", slot_set::of(13653, 16383));
  ASSERT_TRUE(run_until([&] { return ssubscribes("node-a", "schsim:chan:3") == 1; }, 2s));
  EXPECT_TRUE(delivered("schsim:chan:3", "after"));
  EXPECT_EQ(c.owner(14388), address_of("node-a"));
}

}  // namespace
}  // namespace schsim::refclient::itest::cluster_test
