// Each broken mode must make the check it exists for fail; these tests show that it does, on
// the same scenarios the correct client passes in handoff_test.cpp and relaxation_test.cpp.
#include "support/sim.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::itest::broken_test {
namespace {

class Broken : public sim_test {
 protected:
  struct handoff_run {
    workload* load = nullptr;
    time_point pushed_at{};
    std::size_t closed_by_server_at_grace = 0;
    client* c = nullptr;
  };

  /// The MOVING scenario of Handoff.MovingHandsOffEveryConnectionWithZeroDrops with `mode` on:
  /// grace 2 s; at its end the server closes what is left on node-a and stops accepting there.
  auto handoff_scenario(broken_mode mode, milliseconds latency) -> handoff_run {
    start({endpoint("node-a"), endpoint("node-b")});
    auto cfg = config_for("node-a");
    cfg.pool_size = 2;
    cfg.min_idle_conns = 2;
    cfg.broken.set(mode);
    handoff_run run;
    run.c = &make_client(cfg);
    EXPECT_EQ(connect(*run.c), std::nullopt);
    EXPECT_TRUE(run_until([&] { return run.c->connections().size() == 2; }));
    server().set_reply_latency("node-a", latency);
    run.load = &make_workload(*run.c, "br", 600, 5ms);  // 3 s: runs past the grace
    run.load->start();
    run_for(300ms);
    run.pushed_at = mono_clock::now();
    EXPECT_EQ(push("node-a", moving_bytes(1, 2, address_of("node-b").to_string()), "MOVING", 1),
              2u);
    EXPECT_TRUE(run_until([&] { return mono_clock::now() >= run.pushed_at + 2s; }));
    server().set_accept_mode("node-a", simulator::accept_mode::refuse);
    run.closed_by_server_at_grace =
        server().close_connections(on_endpoint("node-a", false), simulator::close_mode::fin,
                                   simulator::close_point::between_frames, "grace ended");
    EXPECT_TRUE(run_until([&] { return run.load->done(); }, 20s));
    return run;
  }

  auto relax_scenario(broken_mode mode) -> std::pair<command_result, command_result> {
    start({endpoint("node-a")});
    auto cfg = config_for("node-a");
    cfg.pool_size = 1;
    cfg.read_timeout = 300ms;
    cfg.maint.relaxed_timeout = 2000ms;
    cfg.broken.set(mode);
    auto& c = make_client(cfg);
    EXPECT_EQ(connect(c), std::nullopt);
    server().set_reply_latency("node-a", 700ms);
    EXPECT_EQ(push("node-a", migrating_bytes(10), "MIGRATING", 10), 1u);
    run_for(100ms);
    auto during = exec(c, {"INCR", "rb:1"});
    EXPECT_EQ(push("node-a", migrated_bytes(11), "MIGRATED", 11), 1u);
    run_for(100ms);
    auto after = exec(c, {"INCR", "rb:2"});
    return {std::move(during), std::move(after)};
  }
};

TEST_F(Broken, IgnoreMovingStaysUntilTheServerCloses) {
  const auto run = handoff_scenario(broken_mode::ignore_moving, 30ms);
  EXPECT_EQ(run.closed_by_server_at_grace, 2u) << "check 'handoff before the grace' must fail";
  EXPECT_EQ(run.c->stats().handoffs_started, 0u);
  EXPECT_GT(run.load->failures(), 0u) << "the retiring endpoint refuses: commands fail";
}

TEST_F(Broken, LateReconnectLeavesAfterTheGrace) {
  const auto run = handoff_scenario(broken_mode::late_reconnect, 30ms);
  EXPECT_EQ(run.closed_by_server_at_grace, 2u) << "check 'handoff before the grace' must fail";
  EXPECT_GT(run.load->failures(), 0u);
}

TEST_F(Broken, DropBufferedFailsHeldCommands) {
  const auto run = handoff_scenario(broken_mode::drop_buffered, 50ms);
  EXPECT_GT(run.load->failures(), 0u) << "check 'zero dropped commands' must fail";
  EXPECT_NE(run.load->failure_summary().find("dropped during handoff"), std::string::npos)
      << run.load->failure_summary();
}

TEST_F(Broken, ResendWrittenRunsCommandsTwice) {
  const auto run = handoff_scenario(broken_mode::resend_written, 100ms);
  std::size_t twice = 0;
  for (std::size_t i = 0; i < run.load->results().size(); ++i) {
    twice += value_of(run.load->key(i)) == std::optional<std::string>{"2"};
  }
  EXPECT_GT(twice, 0u) << "check 'never executed twice' must fail";
}

TEST_F(Broken, SkipHandoffHandshakeSendsNothingOnTheNewEndpoint) {
  const auto run = handoff_scenario(broken_mode::skip_handoff_handshake, 0ms);
  EXPECT_EQ(run.c->stats().handoffs_completed, 2u);
  EXPECT_TRUE(events_of<timeline::hello>("node-b").empty());
  EXPECT_TRUE(events_of<timeline::maint_handshake>("node-b").empty())
      << "check 'handshake on handoff connections' must fail";
}

TEST_F(Broken, IgnoreNullDelayReconnectsAtOnce) {
  start({endpoint("node-a")});
  auto cfg = config_for("node-a");
  cfg.pool_size = 1;
  cfg.broken.set(broken_mode::ignore_null_delay);
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  const auto pushed_at = mono_clock::now();
  ASSERT_EQ(push("node-a", moving_bytes(2, 2, std::nullopt), "MOVING", 2), 1u);
  ASSERT_TRUE(run_until([&] { return c.stats().handoffs_completed == 1; }, 3s));
  const auto opened = events_of<timeline::connection_opened>("node-a");
  ASSERT_EQ(opened.size(), 2u);
  EXPECT_LT(std::chrono::nanoseconds{opened[1].first.t_ns - to_ns(pushed_at)}, 1000ms)
      << "check 'null endpoint waits time/2' must fail";
}

TEST_F(Broken, NoRelaxTimesOutDuringMigrating) {
  const auto [during, after] = relax_scenario(broken_mode::no_relax);
  EXPECT_EQ(error_of(during).kind, error_class::timeout)
      << "check 'relaxed while MIGRATING' must fail";
  EXPECT_EQ(error_of(after).kind, error_class::timeout);
}

TEST_F(Broken, RelaxForeverNeverRestores) {
  const auto [during, after] = relax_scenario(broken_mode::relax_forever);
  EXPECT_TRUE(is_ok(during)) << describe(during);
  EXPECT_TRUE(is_ok(after)) << "check 'restored after MIGRATED' must fail: " << describe(after);
}

}  // namespace
}  // namespace schsim::refclient::itest::broken_test
