#include "support/sim.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::itest::handoff_test {
namespace {

class Handoff : public sim_test {
 protected:
  auto all_on(client& c, const address& a, std::size_t n) -> bool {
    const auto conns = c.connections();
    if (conns.size() != n) return false;
    return std::all_of(conns.begin(), conns.end(), [&](const connection_snapshot& s) {
      return s.endpoint == a && !s.handing_off;
    });
  }
};

TEST_F(Handoff, MovingHandsOffEveryConnectionWithZeroDrops) {
  start({endpoint("node-a"), endpoint("node-b")});
  auto cfg = config_for("node-a");
  cfg.min_idle_conns = 4;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  ASSERT_TRUE(run_until([&] { return all_on(c, address_of("node-a"), 4); }));
  // Replies take a while on node-a, so commands are in flight when the MOVING arrives.
  server().set_reply_latency("node-a", 30ms);

  auto& w = make_workload(c, "mv", 300, 5ms);
  w.start();
  run_for(400ms);
  const auto pushed_at = mono_clock::now();
  ASSERT_EQ(push("node-a", moving_bytes(1, 3, address_of("node-b").to_string()), "MOVING", 1), 4u);
  ASSERT_TRUE(run_until([&] { return w.done(); }, 15s));
  ASSERT_TRUE(run_until([&] { return mono_clock::now() >= pushed_at + 3s; }));
  // The server's end of the grace period: nothing must be left to close.
  EXPECT_EQ(server().close_connections(on_endpoint("node-a", false), simulator::close_mode::fin,
                                       simulator::close_point::between_frames, "grace ended"),
            0u);

  EXPECT_EQ(w.failures(), 0u) << w.failure_summary();
  expect_exactly_once(w);
  EXPECT_TRUE(all_on(c, address_of("node-b"), 4));
  EXPECT_EQ(c.stats().handoffs_completed, 4u);
  EXPECT_EQ(c.dial_target(), address_of("node-b")) << "new dials follow the MOVING";

  const auto closes = events_of<timeline::connection_closed>("node-a");
  EXPECT_EQ(closes.size(), 4u);
  for (const auto& [e, d] : closes) {
    EXPECT_EQ(d.by, timeline::close_initiator::client) << d.reason;
    EXPECT_LT(e.t_ns, to_ns(pushed_at + 3s)) << "closed after the grace period";
  }
  const auto handshakes = events_of<timeline::maint_handshake>("node-b");
  ASSERT_EQ(handshakes.size(), 4u) << "every handoff connection runs the full handshake";
  for (const auto& [e, d] : handshakes) {
    EXPECT_TRUE(d.accepted);
    EXPECT_EQ(d.protocol, 3);
    EXPECT_EQ(d.endpoint_type, std::optional<std::string>{"internal-ip"});
  }
}

TEST_F(Handoff, NullEndpointReconnectsAfterHalfTheTime) {
  start({endpoint("node-a")});
  auto cfg = config_for("node-a");
  cfg.min_idle_conns = 2;
  cfg.pool_size = 2;
  cfg.maint.moving_endpoint_type = endpoint_type::none;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  ASSERT_TRUE(run_until([&] { return all_on(c, address_of("node-a"), 2); }));
  auto& w = make_workload(c, "nl", 250, 10ms);
  w.start();
  run_for(200ms);
  const auto pushed_at = mono_clock::now();
  ASSERT_EQ(push("node-a", moving_bytes(2, 2, std::nullopt), "MOVING", 2), 2u);
  ASSERT_TRUE(run_until([&] { return w.done(); }, 15s));

  EXPECT_EQ(w.failures(), 0u) << w.failure_summary();
  expect_exactly_once(w);
  std::size_t reopened = 0;
  for (const auto& [e, d] : events_of<timeline::connection_opened>("node-a")) {
    if (e.t_ns < to_ns(pushed_at)) continue;
    ++reopened;
    const auto after = std::chrono::nanoseconds{e.t_ns - to_ns(pushed_at)};
    EXPECT_GE(after, 1000ms) << "reconnected before time/2";
    EXPECT_LT(after, 2000ms) << "reconnected after the grace period";
  }
  EXPECT_EQ(reopened, 2u);
  for (const auto& [e, d] : events_of<timeline::connection_closed>("node-a")) {
    EXPECT_EQ(d.by, timeline::close_initiator::client);
    EXPECT_LT(e.t_ns, to_ns(pushed_at + 2s));
  }
}

TEST_F(Handoff, FragmentedPushesAndOtherPushesOnIdleConnections) {
  start({endpoint("node-a"), endpoint("node-b")});
  auto cfg = config_for("node-a");
  cfg.min_idle_conns = 2;
  cfg.pool_size = 2;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  ASSERT_TRUE(run_until([&] { return all_on(c, address_of("node-a"), 2); }));
  // Every byte in its own segment (go-redis #3839, #3935), on connections with nothing in flight.
  server().set_fragmentation("node-a", 1, 1ms);
  constexpr std::string_view pubsub = ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
  EXPECT_EQ(server().send_raw(on_endpoint("node-a"), std::string{pubsub}, "pubsub"), 2u);
  ASSERT_EQ(push("node-a", moving_bytes(7, 3, address_of("node-b").to_string()), "MOVING", 7), 2u);
  ASSERT_TRUE(run_until([&] { return all_on(c, address_of("node-b"), 2); }, 5s));
  EXPECT_EQ(client_events("push").size(), 2u) << "the pub/sub push reached the dispatcher";
  const auto r = exec(c, {"INCR", "frag:1"});
  EXPECT_TRUE(is_ok(r)) << describe(r);
}

TEST_F(Handoff, DuplicateAndReplayedMovingIsActedOnOnce) {
  start({endpoint("node-a"), endpoint("node-b")});
  auto cfg = config_for("node-a");
  cfg.min_idle_conns = 2;
  cfg.pool_size = 2;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  ASSERT_TRUE(run_until([&] { return all_on(c, address_of("node-a"), 2); }));
  const auto to_b = moving_bytes(3, 3, address_of("node-b").to_string());
  ASSERT_EQ(push("node-a", to_b, "MOVING", 3), 2u);
  ASSERT_EQ(push("node-a", to_b, "MOVING", 3), 2u);  // the same event delivered again
  ASSERT_TRUE(run_until([&] { return all_on(c, address_of("node-b"), 2); }, 5s));
  // A late-joiner replay of the same event on the new connections changes nothing.
  ASSERT_EQ(push("node-b", to_b, "MOVING", 3), 2u);
  run_for(200ms);
  EXPECT_EQ(c.stats().handoffs_started, 2u);
  EXPECT_EQ(c.stats().handoffs_completed, 2u);
  EXPECT_TRUE(all_on(c, address_of("node-b"), 2));
  // A later event with a lower seq moves them back: seqs are never compared for order.
  ASSERT_EQ(push("node-b", moving_bytes(1, 3, address_of("node-a").to_string()), "MOVING", 1), 2u);
  ASSERT_TRUE(run_until([&] { return all_on(c, address_of("node-a"), 2); }, 5s));
  EXPECT_TRUE(is_ok(exec(c, {"PING"})));
}

TEST_F(Handoff, AuthIsSentOnTheNewEndpoint) {
  simulator::endpoint_profile secured;
  secured.users.push_back(simulator::acl_user{"alice", "pw"});
  start({endpoint("node-a", secured), endpoint("node-b", secured)});
  auto cfg = config_for("node-a");
  cfg.username = "alice";
  cfg.password = "pw";
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  ASSERT_TRUE(is_ok(exec(c, {"INCR", "auth:1"})));
  ASSERT_EQ(push("node-a", moving_bytes(4, 3, address_of("node-b").to_string()), "MOVING", 4), 1u);
  ASSERT_TRUE(run_until([&] { return all_on(c, address_of("node-b"), 1); }, 5s));
  const auto r = exec(c, {"INCR", "auth:1"});
  EXPECT_TRUE(is_ok(r)) << describe(r);
  const auto hellos = events_of<timeline::hello>("node-b");
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_TRUE(hellos[0].second.accepted);
  EXPECT_EQ(hellos[0].second.user, "alice");
}

}  // namespace
}  // namespace schsim::refclient::itest::handoff_test
