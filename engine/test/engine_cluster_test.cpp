// The engine running the cluster actions, stepped with a manual clock: no sleeps, no sockets.
#include <schsim/engine/engine.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <string>
#include <vector>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace engine_cluster_test {
namespace {

namespace sc = schsim::scenario;
namespace maint = schsim::maint;
namespace tl = schsim::timeline;
namespace eng = schsim::engine;
using schsim::time_point;
using schsim::cluster::slot_set;
using namespace std::chrono_literals;

const time_point t0 = time_point{} + 1000s;

auto cluster() -> sc::scenario {
  sc::scenario s;
  s.meta.id = "c";
  s.meta.title = "c";
  s.duration = 20s;
  s.seq_start = 500;
  s.topo.cluster = true;
  s.topo.start = "node-a";
  s.topo.endpoints.push_back(sc::endpoint{.name = "node-a", .slots = slot_set::of(0, 8191)});
  s.topo.endpoints.push_back(sc::endpoint{.name = "node-b", .slots = slot_set::of(8192, 16383)});
  return s;
}

auto addresses() -> std::vector<eng::endpoint_address> {
  return {{"node-a", "127.0.0.1", "", 7000}, {"node-b", "127.0.0.1", "", 7001}};
}

void add(sc::scenario& s, std::string id, sc::trigger t, sc::action a) {
  const auto origin = s.steps.size();
  s.steps.push_back(sc::step{std::move(id), std::move(t), std::move(a), origin});
}

// Connection `conn` on `endpoint` opened and opted in (bare handshake, as the docs describe it
// for the OSS Cluster API).
auto joined(std::uint64_t conn, std::string endpoint) -> std::vector<tl::event> {
  const auto ns = schsim::to_ns(t0);
  return {{ns, endpoint, conn, tl::connection_opened{"127.0.0.1:1"}},
          {ns, endpoint, conn, tl::maint_handshake{true, std::nullopt, true, "OK", 3}}};
}

auto run(eng::scenario_engine& e, time_point now, std::vector<tl::event> events = {})
    -> std::vector<eng::perform> {
  std::vector<eng::perform> out;
  for (auto& a : e.next(now, events)) {
    if (auto* p = std::get_if<eng::perform>(&a)) {
      out.push_back(std::move(*p));
    }
  }
  return out;
}

auto step_ids(const std::vector<eng::perform>& ps) -> std::vector<std::string> {
  std::vector<std::string> out;
  for (const auto& p : ps) {
    out.push_back(p.step);
  }
  return out;
}

auto deliveries(const eng::perform& p) -> const std::vector<eng::delivery>& {
  return std::get<eng::push_command>(p.what).deliveries;
}

class EngineCluster : public testing::Test {
 protected:
  std::mt19937_64 rng_{7};
};

TEST_F(EngineCluster, SlotMigrationOrderSeqsAndAddresses) {
  auto s = cluster();
  add(s, "m", sc::at_time{1s},
      sc::slot_migration_action{.from = "node-a",
                                .to = "node-b",
                                .slots = slot_set::of(0, 4095),
                                .migrate_for = 2s,
                                .redeliver_after = 500ms});
  eng::scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto events = joined(1, "node-a");
  auto more = joined(2, "node-b");
  events.insert(events.end(), more.begin(), more.end());
  EXPECT_TRUE(run(e, t0, events).empty());

  auto at1 = run(e, t0 + 1s);
  ASSERT_EQ(step_ids(at1), (std::vector<std::string>{"m", "m.begin"}));
  // SMIGRATING only to the source's opted-in connection.
  ASSERT_EQ(deliveries(at1[0]).size(), 1u);
  EXPECT_EQ(deliveries(at1[0])[0].conn, 1u);
  EXPECT_EQ(std::get<maint::smigrating>(deliveries(at1[0])[0].notification),
            (maint::smigrating{500, {{0, 4095}}}));
  const auto& begin = std::get<eng::slot_migration_command>(at1[1].what);
  EXPECT_EQ(begin.what, eng::slot_migration_command::phase::begin);
  EXPECT_EQ(begin.migrate_for, 2s);
  EXPECT_EQ(begin.slots, slot_set::of(0, 4095));

  // The ownership change runs before the SMIGRATED, in the same instant.
  auto at3 = run(e, t0 + 3s);
  ASSERT_EQ(step_ids(at3), (std::vector<std::string>{"m.complete", "m.smigrated"}));
  EXPECT_EQ(std::get<eng::slot_migration_command>(at3[0].what).what,
            eng::slot_migration_command::phase::complete);
  ASSERT_EQ(deliveries(at3[1]).size(), 1u);
  const auto delta = std::get<maint::smigrated>(deliveries(at3[1])[0].notification);
  EXPECT_EQ(delta.seq, 501);
  ASSERT_EQ(delta.entries.size(), 1u);
  EXPECT_EQ(delta.entries[0].source, "127.0.0.1:7000");
  EXPECT_EQ(delta.entries[0].destination, "127.0.0.1:7001");

  // The redelivery carries the same seq.
  auto later = run(e, t0 + 3500ms);
  ASSERT_EQ(step_ids(later), (std::vector<std::string>{"m.redeliver"}));
  EXPECT_EQ(std::get<maint::smigrated>(deliveries(later[0])[0].notification), delta);
  EXPECT_EQ(e.next_seq(), 502);
}

TEST_F(EngineCluster, SmigratedToAllReachesEveryNodeWithOneSeq) {
  auto s = cluster();
  add(s, "m", sc::at_time{1s},
      sc::slot_migration_action{.from = "node-a",
                                .to = "node-b",
                                .slots = slot_set::of(0, 9),
                                .migrate_for = 1s,
                                .smigrated_to = sc::smigrated_scope::all});
  eng::scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto events = joined(1, "node-a");
  auto more = joined(2, "node-b");
  events.insert(events.end(), more.begin(), more.end());
  run(e, t0, events);
  run(e, t0 + 1s);
  auto at2 = run(e, t0 + 2s);
  ASSERT_EQ(step_ids(at2), (std::vector<std::string>{"m.complete", "m.smigrated"}));
  const auto& d = deliveries(at2[1]);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(maint::seq_of(d[0].notification), maint::seq_of(d[1].notification));
}

TEST_F(EngineCluster, ShuffleWithTwoSourcesSendsOneSeqPerEvent) {
  auto s = cluster();
  add(s, "x", sc::at_time{1s},
      sc::slot_shuffle_action{.moves = {{"node-a", "node-b", slot_set::of(0, 9)},
                                        {"node-b", "node-a", slot_set::of(9000, 9009)}}});
  eng::scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto events = joined(1, "node-a");
  auto more = joined(2, "node-b");
  events.insert(events.end(), more.begin(), more.end());
  run(e, t0, events);
  auto at1 = run(e, t0 + 1s);
  ASSERT_EQ(step_ids(at1),
            (std::vector<std::string>{"x", "x.smigrating.node-b", "x.begin.1", "x.begin.2"}));
  EXPECT_EQ(maint::seq_of(deliveries(at1[0])[0].notification), 500);
  EXPECT_EQ(maint::seq_of(deliveries(at1[1])[0].notification), 500);
  EXPECT_EQ(deliveries(at1[1])[0].conn, 2u);
  auto at2 = run(e, t0 + 2s);
  ASSERT_EQ(step_ids(at2), (std::vector<std::string>{"x.complete.1", "x.complete.2", "x.smigrated",
                                                     "x.smigrated.node-b"}));
  const auto to_a = std::get<maint::smigrated>(deliveries(at2[2])[0].notification);
  const auto to_b = std::get<maint::smigrated>(deliveries(at2[3])[0].notification);
  EXPECT_EQ(to_a.seq, 501);
  EXPECT_EQ(to_a, to_b);
  EXPECT_EQ(to_a.entries.size(), 2u);
}

TEST(EngineClusterCommands, ClusterHousekeepingIsNotAWorkloadCommand) {
  EXPECT_FALSE(eng::counts_as_command({"CLUSTER", "SLOTS"}));
  EXPECT_FALSE(eng::counts_as_command({"asking"}));
  EXPECT_FALSE(eng::counts_as_command({"READWRITE"}));
  EXPECT_TRUE(eng::counts_as_command({"GET", "k"}));
}

}  // namespace
}  // namespace engine_cluster_test
