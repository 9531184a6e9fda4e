#include "support/sim.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::itest::reconnect_test {
namespace {

class Reconnect : public sim_test {};

TEST_F(Reconnect, UnannouncedDisconnectFailsOnlyWhatWasInFlight) {
  start({endpoint("node-a")});
  auto cfg = config_for("node-a");
  cfg.pool_size = 2;
  cfg.min_idle_conns = 2;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  server().set_reply_latency("node-a", 50ms);
  auto& w = make_workload(c, "up", 200, 5ms);
  w.start();
  run_for(300ms);
  // In-place upgrade: the process goes away without notice.
  EXPECT_EQ(server().close_connections(on_endpoint("node-a", false), simulator::close_mode::rst,
                                       simulator::close_point::between_frames, "in-place upgrade"),
            2u);
  ASSERT_TRUE(run_until([&] { return w.done(); }, 15s));

  // Only commands written and unanswered fail, each with its reason; ~50 ms of load at 5 ms.
  EXPECT_GT(w.failures(), 0u);
  EXPECT_LE(w.failures(), 30u) << w.failure_summary();
  for (const auto& o : w.results()) {
    if (is_ok(*o.result)) continue;
    EXPECT_EQ(error_of(*o.result).kind, error_class::connection);
    EXPECT_NE(error_of(*o.result).message.find("may have run"), std::string::npos);
  }
  expect_exactly_once(w);
  EXPECT_GE(c.stats().reconnects, 2u);
  // Everything issued after the reconnect went through.
  for (std::size_t i = 150; i < w.results().size(); ++i) {
    EXPECT_TRUE(is_ok(*w.results()[i].result))
        << w.key(i) << " " << describe(*w.results()[i].result);
  }
}

TEST_F(Reconnect, CommandsNeverWrittenAreRetriedAndIdempotentOnesWhenAllowed) {
  start({endpoint("node-a")});
  auto cfg = config_for("node-a");
  cfg.pool_size = 1;
  cfg.retry = retry_policy::idempotent_only;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  ASSERT_TRUE(is_ok(exec(c, {"SET", "rt:k", "v"})));
  server().set_reply_latency("node-a", 300ms);
  std::vector<std::optional<command_result>> gets(5);
  std::optional<command_result> incr;
  for (auto& g : gets) c.execute({"GET", "rt:k"}, [&g](command_result r) { g = std::move(r); });
  c.execute({"INCR", "rt:n"}, [&](command_result r) { incr = std::move(r); });
  run_for(50ms);
  ASSERT_EQ(server().close_connections(on_endpoint("node-a", false), simulator::close_mode::rst,
                                       simulator::close_point::between_frames, "crash"),
            1u);
  server().set_reply_latency("node-a", 0ms);
  ASSERT_TRUE(run_until([&] {
    return incr &&
           std::all_of(gets.begin(), gets.end(), [](const auto& g) { return g.has_value(); });
  }));
  for (const auto& g : gets) {
    ASSERT_TRUE(is_ok(*g)) << describe(*g);
    EXPECT_EQ(std::get<resp3::value>(*g).text, "v");
  }
  EXPECT_EQ(error_of(*incr).kind, error_class::connection) << "INCR may have run: not resent";
  EXPECT_EQ(c.stats().commands_retried, 5u);
  // Commands issued while the connection is down wait for the reconnect, then run once.
  server().set_accept_mode("node-a", simulator::accept_mode::refuse);
  ASSERT_EQ(server().close_connections(on_endpoint("node-a", false), simulator::close_mode::fin,
                                       simulator::close_point::between_frames, "restart"),
            1u);
  ASSERT_TRUE(run_until([&] { return !client_events("connect_failed").empty(); }, 3s));
  auto late = std::make_shared<std::optional<command_result>>();
  c.execute({"INCR", "rt:after"}, [late](command_result r) { *late = std::move(r); });
  run_for(100ms);
  EXPECT_FALSE(late->has_value()) << "failed while it could still wait: " << describe(**late);
  server().set_accept_mode("node-a", simulator::accept_mode::serve);
  ASSERT_TRUE(run_until([&] { return late->has_value(); }, 5s));
  EXPECT_TRUE(is_ok(**late)) << describe(**late);
  EXPECT_EQ(value_of("rt:after"), std::optional<std::string>{"1"});
}

TEST_F(Reconnect, ServerClosingAnIdleConnectionIsReplaced) {
  // redis-py PR #4260: idle pooled connections closed by the server were never replaced.
  start({endpoint("node-a")});
  auto cfg = config_for("node-a");
  cfg.pool_size = 1;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  ASSERT_EQ(server().close_connections(on_endpoint("node-a", false), simulator::close_mode::fin,
                                       simulator::close_point::between_frames, "idle timeout"),
            1u);
  ASSERT_TRUE(run_until([&] { return c.stats().reconnects == 1; }, 3s));
  EXPECT_TRUE(is_ok(exec(c, {"PING"})));
}

}  // namespace
}  // namespace schsim::refclient::itest::reconnect_test
