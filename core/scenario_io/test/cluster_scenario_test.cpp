// validate() and expand() for the OSS Cluster API actions, on scenarios built in code, plus the
// loader reading a cluster scenario from TOML.
#include <schsim/core/scenario/expand.hpp>  // first: self-contained headers
#include <schsim/core/scenario/validate.hpp>
#include <schsim/scenario_io/load.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/scenario_helpers.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace cluster_scenario_test {
namespace {

using schsim::test::add_step;
using schsim::test::find;
using schsim::test::ids;

namespace sc = schsim::scenario;
namespace maint = schsim::maint;
namespace io = schsim::scenario_io;
using schsim::cluster::slot_set;
using namespace std::chrono_literals;

// Three nodes splitting the slots as redis-cli --cluster create does, plus a spare.
auto three_nodes() -> sc::scenario {
  sc::scenario s;
  s.meta.id = "c";
  s.meta.title = "c";
  s.duration = 20s;
  s.topo.cluster = true;
  s.topo.start = "node-a";
  s.topo.endpoints.push_back(sc::endpoint{.name = "node-a", .slots = slot_set::of(0, 5460)});
  s.topo.endpoints.push_back(sc::endpoint{.name = "node-b", .slots = slot_set::of(5461, 10922)});
  s.topo.endpoints.push_back(sc::endpoint{.name = "node-c", .slots = slot_set::of(10923, 16383)});
  s.topo.endpoints.push_back(
      sc::endpoint{.name = "node-d", .initial_state = sc::endpoint_state::down});
  return s;
}

auto problems(const sc::scenario& s) -> std::string {
  std::string out;
  for (const auto& p : sc::validate(s)) {
    out += p.path + ": " + p.message + "\n";
  }
  return out;
}

auto after(const sc::step& st) -> sc::after_step { return std::get<sc::after_step>(st.start); }

TEST(ClusterValidate, AcceptsThreeNodesAndASpare) { EXPECT_EQ(problems(three_nodes()), ""); }

TEST(ClusterValidate, SlotsMustBeDisjointAndCoverEverySlot) {
  auto s = three_nodes();
  s.topo.endpoints[1].slots.add(slot_set::of(5000, 5000));
  EXPECT_EQ(problems(s),
            "topology.endpoint[1].slots: slots 5000 of \"node-b\" are owned by another node too\n");
  s = three_nodes();
  s.topo.endpoints[2].slots.remove(slot_set::of(16000, 16383));
  EXPECT_EQ(problems(s), "topology.endpoint[2].slots: slots 16000-16383 have no owner\n");
  s = three_nodes();
  s.topo.cluster = false;
  EXPECT_NE(problems(s).find("topology.endpoint[0].slots: slots on a standalone topology"),
            std::string::npos);
}

TEST(ClusterValidate, MovedSlotsMustBelongToTheSourceAtThatStep) {
  auto s = three_nodes();
  add_step(
      s, "m1", sc::at_time{1s},
      sc::slot_migration_action{.from = "node-a", .to = "node-b", .slots = slot_set::of(0, 99)});
  EXPECT_EQ(problems(s), "");
  // The same slots again from node-a: they are node-b's by now.
  add_step(
      s, "m2", sc::at_time{5s},
      sc::slot_migration_action{.from = "node-a", .to = "node-c", .slots = slot_set::of(0, 99)});
  EXPECT_EQ(problems(s), "step[1].slots: \"node-a\" does not own slots 0-99 at this step\n");
  s.steps.pop_back();
  add_step(
      s, "m2", sc::at_time{5s},
      sc::slot_migration_action{.from = "node-b", .to = "node-c", .slots = slot_set::of(0, 99)});
  EXPECT_EQ(problems(s), "");
}

TEST(ClusterValidate, ClusterActionsNeedAClusterAndKnownNodes) {
  auto s = three_nodes();
  add_step(s, "r", sc::at_time{1s}, sc::remove_node_action{.node = "node-x", .to = {"node-b"}});
  EXPECT_NE(problems(s).find("step[0].node: unknown node \"node-x\""), std::string::npos);
  s = three_nodes();
  s.topo.cluster = false;
  for (auto& e : s.topo.endpoints) {
    e.slots = {};
  }
  add_step(
      s, "m", sc::at_time{1s},
      sc::slot_migration_action{.from = "node-a", .to = "node-b", .slots = slot_set::of(0, 9)});
  EXPECT_EQ(problems(s), "step[0].action: slot actions need an OSS Cluster API topology\n");
}

TEST(ClusterValidate, AddNodeDonorsAndSameSeqReferences) {
  auto s = three_nodes();
  add_step(s, "a", sc::at_time{1s},
           sc::add_node_action{.node = "node-d", .from = {"node-d"}, .slots = slot_set::of(0, 9)});
  EXPECT_NE(problems(s).find("step[0].from[0]: the new node cannot be its own donor"),
            std::string::npos)
      << problems(s);
  s = three_nodes();
  sc::send_action again;
  again.notification = maint::smigrated{};
  again.same_seq_as = "nowhere";
  add_step(s, "again", sc::at_time{1s}, again);
  EXPECT_EQ(problems(s), "step[0].same_seq_as: \"nowhere\" is not a send step\n");
}

TEST(ClusterExpand, SlotMigrationCompletesBeforeItsSmigrated) {
  auto s = three_nodes();
  add_step(s, "m", sc::at_time{2s},
           sc::slot_migration_action{.from = "node-a",
                                     .to = "node-b",
                                     .slots = slot_set::of(0, 2729),
                                     .migrate_for = 3s,
                                     .latency = 50ms,
                                     .redeliver_after = 1s});
  const auto x = sc::expand(s);
  EXPECT_TRUE(sc::is_expanded(x));
  EXPECT_EQ(ids(x), (std::vector<std::string>{"m", "m.begin", "m.latency", "m.latency_end",
                                              "m.complete", "m.smigrated", "m.redeliver"}));
  const auto& smigrating = std::get<sc::send_action>(find(x, "m").what);
  EXPECT_EQ(std::get<maint::smigrating>(smigrating.notification).slots,
            (std::vector<maint::slot_range>{{0, 2729}}));
  EXPECT_EQ(smigrating.to.endpoint, "node-a");
  EXPECT_EQ(smigrating.to.filter, sc::opt_in_filter::opted_in);
  const auto& begin = std::get<sc::begin_slot_migration_action>(find(x, "m.begin").what);
  EXPECT_EQ(begin.migrate_for, 3s);
  EXPECT_EQ(after(find(x, "m.complete")).step, "m");
  EXPECT_EQ(after(find(x, "m.complete")).delay, 3s);
  // The push waits for the ownership change: a client reading it sees the new CLUSTER SLOTS.
  EXPECT_EQ(after(find(x, "m.smigrated")).step, "m.complete");
  EXPECT_EQ(after(find(x, "m.smigrated")).delay, 0ms);
  const auto& smigrated = std::get<sc::send_action>(find(x, "m.smigrated").what);
  const auto& delta = std::get<maint::smigrated>(smigrated.notification);
  ASSERT_EQ(delta.entries.size(), 1u);
  EXPECT_EQ(delta.entries[0].source, "node-a");
  EXPECT_EQ(delta.entries[0].destination, "node-b");
  EXPECT_EQ(delta.entries[0].slots, (std::vector<maint::slot_range>{{0, 2729}}));
  EXPECT_TRUE(smigrated.same_seq_as.empty());
  const auto& again = std::get<sc::send_action>(find(x, "m.redeliver").what);
  EXPECT_EQ(again.same_seq_as, "m.smigrated");
  EXPECT_EQ(after(find(x, "m.redeliver")).delay, 1s);
}

TEST(ClusterExpand, SmigratedToAllGoesToEveryOptedInConnection) {
  auto s = three_nodes();
  add_step(s, "m", sc::at_time{1s},
           sc::slot_migration_action{.from = "node-a",
                                     .to = "node-b",
                                     .slots = slot_set::of(0, 9),
                                     .smigrated_to = sc::smigrated_scope::all});
  const auto x = sc::expand(s);
  const auto& smigrated = std::get<sc::send_action>(find(x, "m.smigrated").what);
  EXPECT_EQ(smigrated.to.scope, sc::target_scope::all);
  EXPECT_EQ(smigrated.to.filter, sc::opt_in_filter::opted_in);
}

TEST(ClusterExpand, RemoveNodeSplitsItsSlotsAndRetiresIt) {
  auto s = three_nodes();
  add_step(
      s, "r", sc::at_time{1s},
      sc::remove_node_action{.node = "node-c", .to = {"node-a", "node-b"}, .retire_after = 500ms});
  const auto x = sc::expand(s);
  EXPECT_EQ(ids(x),
            (std::vector<std::string>{"r", "r.begin.1", "r.begin.2", "r.complete.1", "r.complete.2",
                                      "r.smigrated", "r.retire.close", "r.retire"}));
  // 5461 slots: the first destination takes the odd one.
  const auto& first = std::get<sc::complete_slot_migration_action>(find(x, "r.complete.1").what);
  const auto& second = std::get<sc::complete_slot_migration_action>(find(x, "r.complete.2").what);
  EXPECT_EQ(first.slots, slot_set::of(10923, 13653));
  EXPECT_EQ(second.slots, slot_set::of(13654, 16383));
  EXPECT_EQ(after(find(x, "r.smigrated")).step, "r.complete.2");
  const auto& delta = std::get<maint::smigrated>(
      std::get<sc::send_action>(find(x, "r.smigrated").what).notification);
  ASSERT_EQ(delta.entries.size(), 2u);
  EXPECT_EQ(delta.entries[1].destination, "node-b");
  EXPECT_EQ(after(find(x, "r.retire.close")).delay, 500ms);
  EXPECT_EQ(std::get<sc::close_action>(find(x, "r.retire.close").what).to.filter,
            sc::opt_in_filter::any);
  EXPECT_EQ(std::get<sc::accept_action>(find(x, "r.retire").what).state, sc::endpoint_state::down);
}

TEST(ClusterExpand, AddNodeTakesSlotsFromTheDonorsThatOwnThem) {
  auto s = three_nodes();
  add_step(s, "a", sc::at_time{1s},
           sc::add_node_action{
               .node = "node-d", .from = {"node-a", "node-b"}, .slots = slot_set::of(5000, 5999)});
  const auto x = sc::expand(s);
  EXPECT_EQ(ids(x), (std::vector<std::string>{"a.up", "a", "a.smigrating.node-b", "a.begin.1",
                                              "a.begin.2", "a.complete.1", "a.complete.2",
                                              "a.smigrated", "a.smigrated.node-b"}));
  EXPECT_EQ(std::get<sc::accept_action>(find(x, "a.up").what).endpoint, "node-d");
  const auto& to_b = std::get<sc::send_action>(find(x, "a.smigrating.node-b").what);
  EXPECT_EQ(to_b.same_seq_as, "a");
  EXPECT_EQ(std::get<maint::smigrating>(to_b.notification).slots,
            (std::vector<maint::slot_range>{{5461, 5999}}));
  const auto& delta = std::get<maint::smigrated>(
      std::get<sc::send_action>(find(x, "a.smigrated").what).notification);
  ASSERT_EQ(delta.entries.size(), 2u);
  EXPECT_EQ(delta.entries[0].slots, (std::vector<maint::slot_range>{{5000, 5460}}));
  EXPECT_EQ(delta.entries[1].slots, (std::vector<maint::slot_range>{{5461, 5999}}));
  EXPECT_EQ(std::get<sc::send_action>(find(x, "a.smigrated.node-b").what).same_seq_as,
            "a.smigrated");
}

TEST(ClusterExpand, LaterStepsSeeEarlierOwnershipChanges) {
  auto s = three_nodes();
  add_step(s, "a", sc::at_time{1s},
           sc::add_node_action{.node = "node-d", .from = {"node-a"}, .slots = slot_set::of(0, 99)});
  add_step(s, "r", sc::at_time{5s}, sc::remove_node_action{.node = "node-d", .to = {"node-b"}});
  EXPECT_EQ(problems(s), "");
  const auto x = sc::expand(s);
  EXPECT_EQ(std::get<sc::complete_slot_migration_action>(find(x, "r.complete").what).slots,
            slot_set::of(0, 99));
}

TEST(ClusterExpand, ShuffleKeepsEveryMoveAsItsOwnTriplet) {
  auto s = three_nodes();
  add_step(s, "x", sc::at_time{1s},
           sc::slot_shuffle_action{.moves = {{"node-a", "node-b", slot_set::of(0, 9)},
                                             {"node-a", "node-b", slot_set::of(20, 29)},
                                             {"node-c", "node-a", slot_set::of(16000, 16383)}}});
  const auto x = sc::expand(s);
  const auto& delta = std::get<maint::smigrated>(
      std::get<sc::send_action>(find(x, "x.smigrated").what).notification);
  ASSERT_EQ(delta.entries.size(), 3u);  // not merged, though the first two share endpoints
  EXPECT_EQ(delta.entries[1].slots, (std::vector<maint::slot_range>{{20, 29}}));
  EXPECT_EQ(
      std::get<maint::smigrating>(std::get<sc::send_action>(find(x, "x").what).notification).slots,
      (std::vector<maint::slot_range>{{0, 9}, {20, 29}}));
  EXPECT_NE(x.find_step("x.smigrating.node-c"), nullptr);
  EXPECT_NE(x.find_step("x.smigrated.node-c"), nullptr);
}

TEST(ClusterExpand, SplitEvenly) {
  const auto parts = sc::split_evenly(slot_set::of(0, 9), {"a", "b", "c"});
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].second, slot_set::of(0, 3));
  EXPECT_EQ(parts[1].second, slot_set::of(4, 6));
  EXPECT_EQ(parts[2].second, slot_set::of(7, 9));
  // Fewer slots than nodes: the last nodes get nothing and are left out.
  EXPECT_EQ(sc::split_evenly(slot_set::of(5, 6), {"a", "b", "c"}).size(), 2u);
}

TEST(ClusterLoad, ReadsTopologyAndActions) {
  const auto r = io::load_string(R"(
[scenario]
id = "c"
title = "c"
duration = "10s"

[topology]
cluster = true
start = "node-a"

[[topology.endpoint]]
name = "node-a"
slots = "0-8191"

[[topology.endpoint]]
name = "node-b"
slots = "8192-16383"

[[step]]
id = "m"
at = "1s"
action = "slot_migration"
from = "node-a"
to = "node-b"
slots = "0-99, 200"
migrate_for = "2s"
latency = "40ms"
smigrated_to = "all"
redeliver_after = "500ms"

[[step]]
at = "5s"
action = "slot_shuffle"
moves = [{ from = "node-b", to = "node-a", slots = "0-9" }]
)",
                                 "inline.toml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : io::to_string(r.errors.front()));
  const auto& s = *r.value;
  EXPECT_TRUE(s.topo.cluster);
  EXPECT_EQ(s.topo.endpoints[1].slots, slot_set::of(8192, 16383));
  const auto& m = std::get<sc::slot_migration_action>(s.steps[0].what);
  auto expected = slot_set::of(0, 99);
  expected.add(std::uint16_t{200});
  EXPECT_EQ(m.slots, expected);
  EXPECT_EQ(m.migrate_for, 2s);
  EXPECT_EQ(m.latency, 40ms);
  EXPECT_EQ(m.smigrated_to, sc::smigrated_scope::all);
  EXPECT_EQ(m.redeliver_after, 500ms);
  const auto& x = std::get<sc::slot_shuffle_action>(s.steps[1].what);
  ASSERT_EQ(x.moves.size(), 1u);
  EXPECT_EQ(x.moves[0].from, "node-b");
}

}  // namespace
}  // namespace cluster_scenario_test
