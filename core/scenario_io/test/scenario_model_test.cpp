// validate() and expand() on scenarios built in code (no TOML), so these pin the core model's
// behaviour independently of the file format.
#include <schsim/core/scenario/expand.hpp>  // first: self-contained headers
#include <schsim/core/scenario/validate.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/scenario_helpers.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace scenario_model_test {
namespace {

using schsim::test::add_step;
using schsim::test::find;
using schsim::test::ids;

namespace sc = schsim::scenario;
namespace maint = schsim::maint;
using namespace std::chrono_literals;

auto base() -> sc::scenario {
  sc::scenario s;
  s.meta.id = "t";
  s.meta.title = "t";
  s.duration = 10s;
  s.topo.start = "node-a";
  s.topo.endpoints.push_back(sc::endpoint{.name = "node-a", .shards = {"1", "2"}});
  s.topo.endpoints.push_back(sc::endpoint{.name = "node-b"});
  return s;
}

auto paths(const std::vector<sc::problem>& ps) -> std::string {
  std::string out;
  for (const auto& p : ps) {
    out += p.path + ": " + p.message + "\n";
  }
  return out;
}

TEST(Validate, AcceptsAMinimalScenario) { EXPECT_TRUE(sc::validate(base()).empty()); }

TEST(Validate, AnAddressIsHostAndPort) {
  // Redis Enterprise nodes share the endpoint's port on different IPs: allowed.
  auto s = base();
  s.topo.endpoints[0].port = 17000;
  s.topo.endpoints[1].port = 17000;
  s.topo.endpoints[1].host = "127.0.0.2";
  EXPECT_TRUE(sc::validate(s).empty()) << paths(sc::validate(s));
  // The same host and port twice cannot both listen.
  s.topo.endpoints[1].host = "127.0.0.1";
  const auto ps = sc::validate(s);
  ASSERT_EQ(ps.size(), 1u) << paths(ps);
  EXPECT_EQ(ps[0].path, "topology.endpoint[1].port");
  EXPECT_NE(ps[0].message.find("127.0.0.1:17000 is used twice"), std::string::npos);
}

TEST(Validate, UnknownEndpointReferencesNameThePath) {
  auto s = base();
  add_step(s, "l", sc::at_time{1s}, sc::latency_action{"node-c", 100ms, {}});
  const auto ps = sc::validate(s);
  ASSERT_EQ(ps.size(), 1u) << paths(ps);
  EXPECT_EQ(ps[0].path, "step[0].endpoint");
  EXPECT_NE(ps[0].message.find("node-c"), std::string::npos);
  EXPECT_NE(ps[0].hint.find("node-a, node-b"), std::string::npos);
}

TEST(Validate, MovingEndpointMayBeALiteralAddress) {
  auto s = base();
  sc::send_action a;
  a.notification = maint::moving{.time_s = 2, .endpoint = "10.1.1.1:6379"};
  add_step(s, "m", sc::at_time{1s}, a);
  EXPECT_TRUE(sc::validate(s).empty());
  std::get<maint::moving>(std::get<sc::send_action>(s.steps[0].what).notification).endpoint =
      "nowhere";
  EXPECT_EQ(sc::validate(s).at(0).path, "step[0].endpoint");
}

TEST(Validate, StepPastTheEndIsImpossibleTiming) {
  auto s = base();
  add_step(s, "a", sc::at_time{4s}, sc::accept_action{"node-b", sc::endpoint_state::up});
  add_step(s, "b", sc::after_step{"a", 7s}, sc::accept_action{"node-b", sc::endpoint_state::down});
  const auto ps = sc::validate(s);
  ASSERT_EQ(ps.size(), 1u) << paths(ps);
  EXPECT_EQ(ps[0].path, "step[1].after");
  EXPECT_NE(ps[0].message.find("11s"), std::string::npos) << ps[0].message;
}

TEST(Validate, GeneratedStepsPastTheEndPointAtTheComposite) {
  auto s = base();
  s.duration = 5s;
  add_step(s, "m", sc::at_time{2s},
           sc::moving_lifecycle_action{.from = "node-a", .to = "node-b", .time_s = 4});
  const auto ps = sc::validate(s);
  ASSERT_EQ(ps.size(), 1u) << paths(ps);
  EXPECT_EQ(ps[0].path, "step[0]");
  EXPECT_NE(ps[0].message.find("m.close"), std::string::npos);
}

TEST(Validate, WhenStepsAreNotTimedStatically) {
  auto s = base();
  s.duration = 2s;
  add_step(s, "w", sc::when_observed{sc::observed_counter::handshakes, 1, "", 1s},
           sc::accept_action{"node-b", sc::endpoint_state::up});
  EXPECT_TRUE(sc::validate(s).empty());
  std::get<sc::when_observed>(s.steps[0].start).delay = 3s;  // can never fit
  EXPECT_EQ(sc::validate(s).size(), 1u);
}

TEST(Validate, CyclesAndMissingReferences) {
  auto s = base();
  add_step(s, "a", sc::after_step{"b", 0ms}, sc::release_action{"node-a"});
  add_step(s, "b", sc::after_step{"a", 0ms}, sc::release_action{"node-a"});
  auto ps = sc::validate(s);
  ASSERT_EQ(ps.size(), 1u) << paths(ps);
  EXPECT_NE(ps[0].message.find("cycle"), std::string::npos);

  s = base();
  add_step(s, "a", sc::after_step{"zzz", 0ms}, sc::release_action{"node-a"});
  ps = sc::validate(s);
  ASSERT_EQ(ps.size(), 1u) << paths(ps);
  EXPECT_EQ(ps[0].path, "step[0].after.step");
}

TEST(Validate, AfterMayReferToGeneratedSteps) {
  auto s = base();
  add_step(s, "g", sc::at_time{1s}, sc::migrate_action{.endpoint = "node-a"});
  add_step(s, "x", sc::after_step{"g.end", 100ms}, sc::release_action{"node-a"});
  EXPECT_TRUE(sc::validate(s).empty()) << paths(sc::validate(s));
}

TEST(Validate, IdsClashingWithGeneratedOnes) {
  auto s = base();
  add_step(s, "g", sc::at_time{1s}, sc::migrate_action{.endpoint = "node-a"});
  add_step(s, "g.end", sc::at_time{2s}, sc::release_action{"node-a"});
  const auto ps = sc::validate(s);
  ASSERT_EQ(ps.size(), 1u) << paths(ps);
  EXPECT_NE(ps[0].message.find("clashes"), std::string::npos);
}

TEST(Validate, TopologyClientWorkloadExpectations) {
  auto s = base();
  s.topo.endpoints.push_back(sc::endpoint{.name = "a:b"});
  s.client.protocol = 4;
  s.load.mix.push_back({"flushall", 1});
  s.expect.checks.push_back("nope");
  s.expect.timeout_tolerance = 2;
  const auto ps = sc::validate(s);
  std::vector<std::string> got;
  for (const auto& p : ps) {
    got.push_back(p.path);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"topology.endpoint[2].name", "client.protocol",
                                           "workload.mix.flushall", "expect.checks[0]",
                                           "expect.timeout_tolerance"}));
}

TEST(Expand, WindowsBecomeStartAndEndSteps) {
  auto s = base();
  add_step(s, "l", sc::at_time{1s}, sc::latency_action{"node-a", 300ms, 2s});
  add_step(s, "st", sc::at_time{1s}, sc::stall_action{"node-a", 500ms});
  add_step(s, "f", sc::at_time{1s}, sc::fragment_action{"node-a", 1, 1ms, 1s});
  const auto x = sc::expand(s);
  EXPECT_TRUE(sc::is_expanded(x));
  EXPECT_FALSE(sc::is_expanded(s));
  EXPECT_EQ(ids(x), (std::vector<std::string>{"l", "l.end", "st", "st.end", "f", "f.end"}));
  const auto& end = find(x, "l.end");
  EXPECT_EQ(std::get<sc::after_step>(end.start).step, "l");
  EXPECT_EQ(std::get<sc::after_step>(end.start).delay, 2s);
  EXPECT_EQ(std::get<sc::latency_action>(end.what).delay, 0ms);
  EXPECT_TRUE(std::holds_alternative<sc::release_action>(find(x, "st.end").what));
  EXPECT_EQ(std::get<sc::fragment_action>(find(x, "f.end").what).chunk_bytes, 0u);
  for (const auto& st : x.steps) {
    EXPECT_LT(st.origin, 3u);
  }
}

TEST(Expand, MovingLifecycleToAnEndpoint) {
  auto s = base();
  const sc::trigger when = sc::when_observed{sc::observed_counter::handshakes, 1, "", 500ms};
  add_step(
      s, "m", when,
      sc::moving_lifecycle_action{
          .from = "node-a", .to = "node-b", .time_s = 3, .late_close = 1600ms, .retire_old = true});
  const auto x = sc::expand(s);
  EXPECT_EQ(ids(x), (std::vector<std::string>{"m.up", "m", "m.close", "m.retire"}));
  // The endpoint comes up on the same trigger, just before the MOVING.
  EXPECT_TRUE(std::holds_alternative<sc::when_observed>(find(x, "m.up").start));
  const auto& send = std::get<sc::send_action>(find(x, "m").what);
  EXPECT_EQ(std::get<maint::moving>(send.notification).endpoint, "node-b");
  EXPECT_EQ(std::get<maint::moving>(send.notification).time_s, 3);
  EXPECT_EQ(send.to.scope, sc::target_scope::endpoint);
  EXPECT_EQ(send.to.endpoint, "node-a");
  const auto& close = find(x, "m.close");
  EXPECT_EQ(std::get<sc::after_step>(close.start).delay, 4600ms);
  const auto& c = std::get<sc::close_action>(close.what);
  EXPECT_EQ(c.to.filter, sc::opt_in_filter::any);
  EXPECT_TRUE(c.to.opened_before.empty());
  EXPECT_EQ(std::get<sc::accept_action>(find(x, "m.retire").what).state, sc::endpoint_state::down);
}

TEST(Expand, MovingWithNullEndpointSparesReconnectedConnections) {
  auto s = base();
  add_step(s, "m", sc::at_time{1s},
           sc::moving_lifecycle_action{.from = "node-a", .to = std::nullopt, .time_s = 2});
  const auto x = sc::expand(s);
  EXPECT_EQ(ids(x), (std::vector<std::string>{"m", "m.close"}));
  EXPECT_FALSE(std::get<maint::moving>(std::get<sc::send_action>(find(x, "m").what).notification)
                   .endpoint.has_value());
  EXPECT_EQ(std::get<sc::close_action>(find(x, "m.close").what).to.opened_before, "m");
}

TEST(Expand, RollingUpgrade) {
  auto s = base();
  add_step(s, "r", sc::at_time{1s},
           sc::rolling_upgrade_action{.from = "node-a", .to = "node-b", .latency = 200ms});
  const auto x = sc::expand(s);
  EXPECT_EQ(ids(x), (std::vector<std::string>{"r.up", "r", "r.latency", "r.latency_end",
                                              "r.migrated", "r.moving", "r.moving.close"}));
  const auto& mig = std::get<sc::send_action>(find(x, "r").what);
  EXPECT_EQ(std::get<maint::migrating>(mig.notification).shard_ids,
            (std::vector<std::string>{"1", "2"}))
      << "shards default to the old endpoint's";
  EXPECT_FALSE(mig.seq.has_value()) << "automatic seqs";
  EXPECT_EQ(std::get<sc::after_step>(find(x, "r.moving").start).step, "r.migrated");
}

TEST(Expand, MaintenanceModeAndInPlaceUpgrade) {
  auto s = base();
  add_step(s, "n", sc::at_time{1s}, sc::maintenance_mode_action{.from = "node-a", .to = "node-b"});
  add_step(s, "i", sc::at_time{1s},
           sc::in_place_upgrade_action{.endpoint = "node-b", .opener = maint::kind::failing_over});
  const auto x = sc::expand(s);
  EXPECT_EQ(ids(x), (std::vector<std::string>{"n.up", "n", "n.failed_over", "n.migrating",
                                              "n.migrated", "n.moving", "n.moving.close", "i",
                                              "i.restart", "i.down", "i.up", "i.end"}));
  EXPECT_TRUE(std::holds_alternative<maint::failing_over>(
      std::get<sc::send_action>(find(x, "i").what).notification));
  EXPECT_TRUE(std::holds_alternative<maint::failed_over>(
      std::get<sc::send_action>(find(x, "i.end").what).notification));
  EXPECT_EQ(std::get<sc::accept_action>(find(x, "i.down").what).state, sc::endpoint_state::down);
  EXPECT_EQ(std::get<sc::after_step>(find(x, "i.up").start).delay, 500ms);
}

TEST(Expand, FaultInjectorMigrateAndFailover) {
  auto s = base();
  add_step(s, "g", sc::at_time{1s}, sc::migrate_action{.endpoint = "node-b"});
  add_step(s, "f", sc::at_time{1s}, sc::failover_action{.endpoint = "node-b"});
  const auto x = sc::expand(s);
  EXPECT_EQ(ids(x), (std::vector<std::string>{"g", "g.end", "f", "f.end"}));
  EXPECT_EQ(std::get<sc::after_step>(find(x, "g.end").start).delay, 500ms);
  EXPECT_EQ(std::get<sc::after_step>(find(x, "f.end").start).delay, 1000ms);
  EXPECT_EQ(std::get<maint::migrated>(std::get<sc::send_action>(find(x, "g.end").what).notification)
                .shard_ids,
            (std::vector<std::string>{"1"}));
}

TEST(Expand, PrimitiveStepsAreCopiedUnchanged) {
  auto s = base();
  add_step(s, "a", sc::at_time{1s}, sc::release_action{"node-a"});
  const auto x = sc::expand(s);
  ASSERT_EQ(x.steps.size(), 1u);
  EXPECT_EQ(x.steps[0].id, "a");
  EXPECT_EQ(sc::action_name(x.steps[0].what), "release");
}

}  // namespace
}  // namespace scenario_model_test
