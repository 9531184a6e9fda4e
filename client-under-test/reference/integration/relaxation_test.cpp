#include "support/sim.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::itest::relaxation_test {
namespace {

class Relaxation : public sim_test {
 protected:
  struct timed {
    command_result result;
    milliseconds took;
  };
  auto timed_exec(client& c, std::vector<std::string> args) -> timed {
    const auto t = mono_clock::now();
    auto r = exec(c, std::move(args));
    return {std::move(r), std::chrono::duration_cast<milliseconds>(mono_clock::now() - t)};
  }
};

TEST_F(Relaxation, MigratingRelaxesAndMigratedRestores) {
  start({endpoint("node-a")});
  auto cfg = config_for("node-a");
  cfg.pool_size = 1;
  cfg.read_timeout = 300ms;
  cfg.maint.relaxed_timeout = 2000ms;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  server().set_reply_latency("node-a", 700ms);

  const auto before = timed_exec(c, {"INCR", "rx:1"});
  EXPECT_EQ(error_of(before.result).kind, error_class::timeout) << describe(before.result);
  EXPECT_GE(before.took, 290ms);
  EXPECT_LT(before.took, 650ms);
  run_for(500ms);  // the late reply arrives and is discarded

  ASSERT_EQ(push("node-a", migrating_bytes(10), "MIGRATING", 10), 1u);
  ASSERT_TRUE(run_until([&] { return client_events("relaxed").size() == 1; }, 2s));
  EXPECT_EQ(c.connections().at(0).timeout, 2000ms);
  const auto during = timed_exec(c, {"INCR", "rx:2"});
  EXPECT_TRUE(is_ok(during.result)) << describe(during.result);
  EXPECT_GE(during.took, 690ms);

  ASSERT_EQ(push("node-a", migrated_bytes(11), "MIGRATED", 11), 1u);
  ASSERT_TRUE(run_until([&] { return client_events("restored").size() == 1; }, 2s));
  EXPECT_EQ(c.connections().at(0).timeout, 300ms);
  const auto after = timed_exec(c, {"INCR", "rx:3"});
  EXPECT_EQ(error_of(after.result).kind, error_class::timeout) << describe(after.result);
  EXPECT_LT(after.took, 650ms);
}

TEST_F(Relaxation, MovingRelaxesTheOldConnectionAndTheNewOneAfterTheSwap) {
  start({endpoint("node-a"), endpoint("node-b")});
  auto cfg = config_for("node-a");
  cfg.pool_size = 1;
  cfg.read_timeout = 300ms;
  cfg.maint.relaxed_timeout = 2000ms;
  cfg.maint.post_handoff_relaxed_duration = 1500ms;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  // A slow command in flight on node-a when the MOVING arrives still gets its reply.
  server().set_reply_latency("node-a", 700ms);
  std::optional<command_result> slow;
  c.execute({"INCR", "mr:1"}, [&](command_result r) { slow = std::move(r); });
  run_for(50ms);
  ASSERT_EQ(push("node-a", moving_bytes(5, 4, address_of("node-b").to_string()), "MOVING", 5), 1u);
  ASSERT_TRUE(run_until([&] { return slow.has_value(); }, 3s));
  EXPECT_TRUE(is_ok(*slow)) << describe(*slow);
  ASSERT_TRUE(run_until([&] { return c.stats().handoffs_completed == 1; }, 3s));
  // Post-handoff: relaxed for 1.5 s after the swap, then back to normal.
  server().set_reply_latency("node-b", 700ms);
  EXPECT_TRUE(c.connections().at(0).relaxed);
  const auto r = exec(c, {"INCR", "mr:2"});
  EXPECT_TRUE(is_ok(r)) << describe(r);
  run_for(1000ms);
  EXPECT_FALSE(c.connections().at(0).relaxed);
  EXPECT_EQ(error_of(exec(c, {"INCR", "mr:3"})).kind, error_class::timeout);
}

}  // namespace
}  // namespace schsim::refclient::itest::relaxation_test
