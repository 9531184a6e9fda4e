#include <schsim/core/cluster/slots.hpp>
#include <schsim/harness/checks.hpp>

#include <gtest/gtest.h>

#include <algorithm>

#include "support/timeline_builder.hpp"

// The cluster side of the checks on hand-made timelines of a three-node OSS cluster: each check
// passes on a correct client's record and fails on the record of a client with the bug it is
// meant to catch (a slot map never refreshed, traffic still sent to a removed node).

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace cluster_checks_test {
namespace {

using namespace schsim;
using namespace schsim::harness;
namespace tl = schsim::timeline;
using std::chrono::milliseconds;

using test_support::figure;
using test_support::has_finding;
using test_support::ms;

constexpr std::int64_t t0 = 7'000'000'000;

const auto node_a_slots = cluster::slot_set::of(0, 5460);
const auto node_b_slots = cluster::slot_set::of(5461, 10922);
const auto node_c_slots = cluster::slot_set::of(10923, 16383);

/// The id of the first workload INCR key (schsim:ctr:<id>), at or after `from`, whose slot
/// lies in `slots`: keys are hashed, so tests pick ids by where their keys land.
auto id_in(const cluster::slot_set& slots, std::uint64_t from) -> std::uint64_t {
  for (std::uint64_t id = from;; ++id) {
    if (slots.contains(cluster::key_slot("schsim:ctr:" + std::to_string(id)))) {
      return id;
    }
  }
}

auto slot_of(std::uint64_t id) -> std::uint16_t {
  return cluster::key_slot("schsim:ctr:" + std::to_string(id));
}

struct cluster_run : test_support::timeline_builder {
  std::uint64_t next_index = 100;

  cluster_run() : timeline_builder(t0) {
    endpoints = {
        {"node-a", "127.0.0.1:7001"}, {"node-b", "127.0.0.1:7002"}, {"node-c", "127.0.0.1:7003"}};
    scn.meta.id = "hand-made-cluster";
    scn.topo.cluster = true;
    scn.topo.start = "node-a";
    scn.topo.endpoints.resize(3);
    scn.topo.endpoints[0].name = "node-a";
    scn.topo.endpoints[0].slots = node_a_slots;
    scn.topo.endpoints[1].name = "node-b";
    scn.topo.endpoints[1].slots = node_b_slots;
    scn.topo.endpoints[2].name = "node-c";
    scn.topo.endpoints[2].slots = node_c_slots;
    scn.client.timeout = milliseconds{500};
    scn.client.relaxed_timeout = milliseconds{3000};
    scn.client.post_handoff_relaxed = milliseconds{0};
    driver.client.capabilities = {"maint_notifications", "relaxed_timeouts", "mode_auto",
                                  "cluster"};
  }
  /// A node connection opened with HELLO 3 and the bare opt-in an OSS cluster client may send.
  void open(std::int64_t at_ms, const std::string& ep, std::uint64_t conn) {
    add(at_ms, ep, conn, tl::connection_opened{"127.0.0.1:6000" + std::to_string(conn)});
    add(at_ms, ep, conn, tl::command_received{0, {"HELLO", "3"}});
    add(at_ms, ep, conn, tl::hello{3, true, "", ""});
    add(at_ms, ep, conn, tl::command_received{1, {"CLIENT", "MAINT_NOTIFICATIONS", "ON"}});
    add(at_ms, ep, conn, tl::maint_handshake{true, std::nullopt, true, "OK", 3});
  }
  /// One arrival of `id`'s INCR on `conn`, answered `reply` after `reply_after_ms`.
  void arrive(std::uint64_t id, std::int64_t at_ms, const std::string& ep, std::uint64_t conn,
              const std::string& reply, std::int64_t reply_after_ms = 0) {
    const auto index = next_index++;
    add(at_ms, ep, conn, tl::command_received{index, {"INCR", key(id)}});
    add(at_ms + reply_after_ms, ep, conn, tl::reply_written{index, reply.starts_with("-"), reply});
  }
  /// The driver's account of `id`'s INCR: handed to the client at `sent_ms`, done at `done_ms`.
  void result(std::uint64_t id, std::int64_t sent_ms, std::int64_t done_ms, bool ok = true,
              const std::string& error = "") {
    outcome(id, {"INCR", key(id)}, sent_ms, done_ms, ok, error);
  }
  /// An INCR that went straight to the node owning its slot.
  void direct(std::uint64_t id, std::int64_t at_ms, const std::string& ep, std::uint64_t conn) {
    arrive(id, at_ms, ep, conn, ":1");
    result(id, at_ms, at_ms + 1);
  }
  /// An INCR sent to `stale` (answered -MOVED to `owner`) and then executed on `owner`.
  void via_moved(std::uint64_t id, std::int64_t at_ms, const std::string& stale,
                 std::uint64_t stale_conn, const std::string& owner, std::uint64_t owner_conn) {
    arrive(id, at_ms, stale, stale_conn,
           "-MOVED " + std::to_string(slot_of(id)) + " " + address(owner));
    arrive(id, at_ms + 1, owner, owner_conn, ":1");
    result(id, at_ms, at_ms + 2);
  }
  /// A slot migration as the engine runs one: begin at `begin_ms`, SMIGRATING (seq 10) to
  /// `from_conn`, complete and SMIGRATED (seq 11, triplet [from, to, slots]) at `done_ms`.
  void migrate(std::int64_t begin_ms, std::int64_t done_ms, const std::string& from,
               const std::string& to, const cluster::slot_set& slots, std::uint64_t from_conn) {
    step(begin_ms, "mig.begin", scenario::begin_slot_migration_action{from, to, slots, {}});
    scenario::send_action smigrating;
    smigrating.notification = maint::smigrating{10, ranges(slots)};
    step(begin_ms, "mig.smigrating", smigrating);
    add(begin_ms, from, from_conn,
        tl::push_written{"SMIGRATING", 10, std::nullopt, 40, "canonical", "mig.smigrating"});
    step(done_ms, "mig.complete", scenario::complete_slot_migration_action{from, to, slots});
    scenario::send_action smigrated;
    smigrated.notification = maint::smigrated{11, {{from, to, ranges(slots)}}};
    step(done_ms, "mig.smigrated", smigrated);
    add(done_ms, from, from_conn,
        tl::push_written{"SMIGRATED", 11, std::nullopt, 60, "canonical", "mig.smigrated"});
  }
  [[nodiscard]] auto address(const std::string& node) const -> std::string {
    return std::find_if(endpoints.begin(), endpoints.end(),
                        [&](const auto& e) { return e.name == node; })
        ->address;
  }
  static auto key(std::uint64_t id) -> std::string { return "schsim:ctr:" + std::to_string(id); }
  static auto ranges(const cluster::slot_set& slots) -> std::vector<maint::slot_range> {
    std::vector<maint::slot_range> out;
    for (const auto& r : slots.ranges()) {
      out.push_back({r.first, r.last});
    }
    return out;
  }
};

/// Half of node-a's slots move to node-b at 1000..2000 ms. The client follows one -MOVED right
/// after the SMIGRATED (its reload is still in flight), then sends moved slots to node-b.
auto good_slot_migration() -> cluster_run {
  cluster_run b;
  const auto moved = cluster::slot_set::of(0, 2730);
  b.open(0, "node-a", 1);
  b.open(0, "node-b", 2);
  b.direct(id_in(moved, 1), 100, "node-a", 1);
  b.migrate(1000, 2000, "node-a", "node-b", moved, 1);
  b.via_moved(id_in(moved, 1000), 2010, "node-a", 1, "node-b", 2);
  b.direct(id_in(moved, 2000), 2600, "node-b", 2);
  b.direct(id_in(cluster::slot_set::of(2731, 5460), 3000), 2700, "node-a", 1);
  b.finish(4000);
  return b;
}

// ---------------------------------------------------------------------------- selection, caps

TEST(ClusterChecks, ClusterScenarioNeedsTheClusterCapabilityAndSelectsTheNewChecks) {
  const auto b = good_slot_migration();
  const auto caps = required_capabilities(b.scn);
  EXPECT_NE(std::find(caps.begin(), caps.end(), "cluster"), caps.end());
  const auto checks = applicable_checks(b.scn);
  EXPECT_NE(std::find(checks.begin(), checks.end(), topology_refresh_id), checks.end());
  EXPECT_NE(std::find(checks.begin(), checks.end(), removed_node_traffic_id), checks.end());
  EXPECT_EQ(check_for_expectation("removed_node"), removed_node_traffic_id);
  EXPECT_EQ(check_for_expectation("removed_node_traffic"), removed_node_traffic_id);
  EXPECT_EQ(check_for_expectation("topology_refresh"), topology_refresh_id);

  auto standalone = b.scn;
  standalone.topo.cluster = false;
  const auto standalone_caps = required_capabilities(standalone);
  EXPECT_EQ(std::find(standalone_caps.begin(), standalone_caps.end(), "cluster"),
            standalone_caps.end());
}

TEST(ClusterChecks, BareOptInIsRightOnAClusterNodeOnly) {
  auto b = good_slot_migration();
  EXPECT_EQ(check_handshake(b.input()).outcome, verdict::status::pass)
      << check_handshake(b.input()).summary;
  b.scn.topo.cluster = false;
  const auto r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "(none: bare ON)")) << r.summary;
}

TEST(ClusterChecks, ATopologyOnlyConnectionNeedNotOptInButADataConnectionMust) {
  auto b = good_slot_migration();
  // node-redis discovers the cluster on a connection of its own with SCH disabled.
  b.add(50, "node-a", 9, tl::connection_opened{"127.0.0.1:60009"});
  b.add(50, "node-a", 9, tl::command_received{0, {"HELLO", "3"}});
  b.add(50, "node-a", 9, tl::hello{3, true, "", ""});
  b.add(51, "node-a", 9, tl::command_received{1, {"CLUSTER", "SLOTS"}});
  EXPECT_EQ(check_handshake(b.input()).outcome, verdict::status::pass);
  b.add(52, "node-a", 9, tl::command_received{2, {"GET", "schsim:key:1"}});
  const auto r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "#9 to node-a")) << r.summary;
}

// ---------------------------------------------------------------------------------- zero_dropped

TEST(ClusterChecks, ARedirectedCommandExecutedOnceOnAnotherNodeIsNotADuplicate) {
  const auto b = good_slot_migration();
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "executed_more_than_once"), 0.0);
  EXPECT_EQ(figure(r, "ok_but_never_executed"), 0.0);
}

TEST(ClusterChecks, ACommandExecutedOnTwoNodesIsADuplicate) {
  auto b = good_slot_migration();
  // The client re-sent an INCR that node-a had executed (not redirected) to node-b as well.
  const auto id = b.driver.commands.front().id;
  b.arrive(id, 150, "node-b", 2, ":1");
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "executed 2 times")) << r.summary;
}

TEST(ClusterChecks, ACommandOnlyEverRedirectedWasNeverExecuted) {
  auto b = good_slot_migration();
  // The client reported success for an INCR that only ever got -MOVED.
  const auto id = id_in(cluster::slot_set::of(0, 2730), 5000);
  b.arrive(id, 2100, "node-a", 1, "-MOVED " + std::to_string(slot_of(id)) + " 127.0.0.1:7002");
  b.result(id, 2100, 2102);
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "but the server never received it")) << r.summary;
}

// ------------------------------------------------------------------------------ topology_refresh

TEST(TopologyRefresh, PassesWhenTheClientStopsHittingTheSourceWithinTheTolerance) {
  const auto b = good_slot_migration();
  const auto r = check_topology_refresh(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "seq11.moved_within_tolerance"), 1.0);
  EXPECT_EQ(figure(r, "seq11.moved_after_tolerance"), 0.0);
}

TEST(TopologyRefresh, FailsWhenMovedSlotsKeepGoingToTheSource) {
  auto b = good_slot_migration();
  // ignore-smigrated: the client follows each -MOVED but never reloads its slot map, so every
  // new key in a moved slot goes to node-a first.
  const auto moved = cluster::slot_set::of(0, 2730);
  b.via_moved(id_in(moved, 3000), 3200, "node-a", 1, "node-b", 2);
  b.via_moved(id_in(moved, 4000), 3500, "node-a", 1, "node-b", 2);
  const auto r = check_topology_refresh(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_EQ(figure(r, "seq11.moved_after_tolerance"), 2.0);
  EXPECT_TRUE(has_finding(r, "SMIGRATED seq 11 at +2000.0 ms (node-a -> node-b slots 0-2730)"))
      << r.findings.front();
  EXPECT_TRUE(has_finding(r, "the last 1500.0 ms after it")) << r.findings.front();
  EXPECT_FALSE(r.excerpt.empty());
  // The same run is still fine for zero_dropped: the redirects were followed.
  EXPECT_EQ(check_zero_dropped(b.input()).outcome, verdict::status::pass);
}

TEST(TopologyRefresh, ToleranceComesFromTheScenario) {
  auto b = good_slot_migration();
  b.via_moved(id_in(cluster::slot_set::of(0, 2730), 3000), 3500, "node-a", 1, "node-b", 2);
  EXPECT_EQ(check_topology_refresh(b.input()).outcome, verdict::status::fail);
  b.scn.expect.topology_refresh_within = milliseconds{2000};
  const auto r = check_topology_refresh(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "seq11.moved_within_tolerance"), 2.0);
}

TEST(TopologyRefresh, ReadsTheSimulatorsRedirectEventsToo) {
  auto b = good_slot_migration();
  // A record whose reply summary says nothing useful: the cluster_redirect event decides.
  const auto id = id_in(cluster::slot_set::of(0, 2730), 3000);
  b.add(3500, "node-a", 1, tl::command_received{900, {"INCR", cluster_run::key(id)}});
  b.add(3500, "node-a", 1,
        tl::cluster_redirect{tl::cluster_redirect::kind::moved, slot_of(id), "node-b",
                             "127.0.0.1:7002", "INCR"});
  b.add(3500, "node-a", 1, tl::reply_written{900, true, ""});
  b.arrive(id, 3501, "node-b", 2, ":1");
  b.result(id, 3500, 3502);
  const auto r = check_topology_refresh(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_EQ(check_zero_dropped(b.input()).outcome, verdict::status::pass);
}

TEST(TopologyRefresh, AskDuringTheMigrationAndMovedForOtherSlotsAreNotStale) {
  auto b = good_slot_migration();
  const auto moved = cluster::slot_set::of(0, 2730);
  // -ASK while the migration runs is the protocol working as designed.
  const auto asked = id_in(moved, 6000);
  b.arrive(asked, 1500, "node-a", 1, "-ASK " + std::to_string(slot_of(asked)) + " 127.0.0.1:7002");
  b.arrive(asked, 1501, "node-b", 2, ":1");
  b.result(asked, 1500, 1502);
  // A -MOVED for a slot no SMIGRATED moved (the client's first guess from its seed node).
  const auto unrelated = id_in(node_c_slots, 7000);
  b.via_moved(unrelated, 3500, "node-a", 1, "node-c", 3);
  const auto r = check_topology_refresh(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
}

TEST(TopologyRefresh, SkippedWithoutSmigrated) {
  cluster_run b;
  b.open(0, "node-a", 1);
  b.direct(id_in(node_a_slots, 1), 100, "node-a", 1);
  EXPECT_EQ(check_topology_refresh(b.input()).outcome, verdict::status::skipped);
}

// -------------------------------------------------------------------------- removed_node_traffic

/// node-c gives all its slots to node-a at 1000..2000 ms. One command was handed to the client
/// just before the SMIGRATED and reaches node-c just after it: in flight, excused.
auto good_removal() -> cluster_run {
  cluster_run b;
  b.open(0, "node-a", 1);
  b.open(0, "node-c", 3);
  b.direct(id_in(node_c_slots, 1), 100, "node-c", 3);
  b.migrate(1000, 2000, "node-c", "node-a", node_c_slots, 3);
  const auto in_flight = id_in(node_c_slots, 1000);
  b.arrive(in_flight, 2001, "node-c", 3,
           "-MOVED " + std::to_string(slot_of(in_flight)) + " 127.0.0.1:7001");
  b.arrive(in_flight, 2002, "node-a", 1, ":1");
  b.result(in_flight, 1999, 2003);
  b.direct(id_in(node_c_slots, 2000), 2500, "node-a", 1);
  b.finish(4000);
  return b;
}

TEST(RemovedNodeTraffic, PassesWhenOnlyInFlightCommandsReachTheRemovedNode) {
  const auto b = good_removal();
  const auto r = check_removed_node_traffic(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "node-c.seq11.in_flight_excused"), 1.0);
  EXPECT_EQ(figure(r, "node-c.seq11.commands_after_removal"), 0.0);
}

TEST(RemovedNodeTraffic, FailsWhenTheClientKeepsSendingToTheRemovedNode) {
  auto b = good_removal();
  // sticky-slot-map: the client follows the -MOVED for each command but keeps node-c in its map.
  b.via_moved(id_in(node_c_slots, 3000), 2800, "node-c", 3, "node-a", 1);
  const auto r = check_removed_node_traffic(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_EQ(figure(r, "node-c.seq11.commands_after_removal"), 1.0);
  EXPECT_TRUE(has_finding(r, "node-c left the topology with SMIGRATED seq 11 at +2000.0 ms"))
      << r.findings.front();
  EXPECT_TRUE(has_finding(r, "-> -MOVED")) << r.findings.front();
}

TEST(RemovedNodeTraffic, ExcusesCommandsHandedOverBeforeTheClientCouldReadThePush) {
  auto b = good_removal();
  // Handed to the client 20 ms after the SMIGRATED was written: within the 50 ms read grace.
  const auto just_after = id_in(node_c_slots, 4000);
  b.arrive(just_after, 2021, "node-c", 3,
           "-MOVED " + std::to_string(slot_of(just_after)) + " 127.0.0.1:7001");
  b.arrive(just_after, 2022, "node-a", 1, ":1");
  b.result(just_after, 2020, 2023);
  const auto r = check_removed_node_traffic(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "node-c.seq11.in_flight_excused"), 2.0);
}

TEST(RemovedNodeTraffic, FailsACommandHandedOverAfterTheReadGrace) {
  auto b = good_removal();
  // 60 ms after the push: the client has had time to read it and still routes to node-c.
  const auto late = id_in(node_c_slots, 5000);
  b.arrive(late, 2061, "node-c", 3, "-MOVED " + std::to_string(slot_of(late)) + " 127.0.0.1:7001");
  b.arrive(late, 2062, "node-a", 1, ":1");
  b.result(late, 2060, 2063);
  const auto r = check_removed_node_traffic(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_EQ(figure(r, "node-c.seq11.commands_after_removal"), 1.0);
}

TEST(RemovedNodeTraffic, TrafficIsFineAgainOnceTheNodeReceivesSlots) {
  auto b = good_removal();
  // remove then add: node-c takes slots back from node-a at 3000 ms; -ASK sends clients there.
  b.step(3000, "add.begin",
         scenario::begin_slot_migration_action{"node-a", "node-c", node_c_slots, {}});
  b.direct(id_in(node_c_slots, 3000), 3100, "node-c", 3);
  const auto r = check_removed_node_traffic(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
}

TEST(RemovedNodeTraffic, SkippedWhenNoNodeIsLeftEmpty) {
  const auto b = good_slot_migration();  // node-a keeps half its slots
  EXPECT_EQ(check_removed_node_traffic(b.input()).outcome, verdict::status::skipped);
}

// ---------------------------------------------------------------------------- timeout_relaxation

/// Replies on node-a are delayed 1500 ms during the migration (normal 500, relaxed 3000 ms).
/// The command on node-a's relaxed connection waits out a delayed -ASK, then runs on node-b.
auto delayed_ask(bool client_timed_out) -> cluster_run {
  auto b = good_slot_migration();
  b.latency(1000, "mig.latency", 1500);
  b.latency(2000, "mig.release", 0);
  const auto id = id_in(cluster::slot_set::of(0, 2730), 9000);
  b.arrive(id, 1200, "node-a", 1, "-ASK " + std::to_string(slot_of(id)) + " 127.0.0.1:7002", 1500);
  if (client_timed_out) {
    b.result(id, 1200, 1700, false, "timeout");
  } else {
    b.arrive(id, 2701, "node-b", 2, ":1");
    b.result(id, 1200, 2702);
  }
  return b;
}

TEST(ClusterChecks, TimeoutRelaxationJudgesTheSmigratingWindowOfTheReceivingConnection) {
  const auto good = check_timeout_relaxation(delayed_ask(false).input());
  EXPECT_EQ(good.outcome, verdict::status::pass) << good.summary;
  EXPECT_EQ(figure(good, "relaxed_successes"), 1.0);
  const auto bad = check_timeout_relaxation(delayed_ask(true).input());
  EXPECT_EQ(bad.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(bad, "failed (timeout)")) << bad.summary;
}

TEST(ClusterChecks, MigrationWindowsAreShaded) {
  const auto b = good_slot_migration();
  const auto windows = derive_windows(b.input());
  const auto migration = std::find_if(windows.begin(), windows.end(),
                                      [](const auto& w) { return w.kind == "slot_migration"; });
  ASSERT_NE(migration, windows.end());
  EXPECT_EQ(migration->label, "slots 0-2730 node-a -> node-b");
  EXPECT_EQ(migration->start_ns, t0 + 1000 * ms);
  EXPECT_EQ(migration->end_ns, t0 + 2000 * ms);
}

}  // namespace
}  // namespace cluster_checks_test
