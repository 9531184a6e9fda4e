#include "support/sim.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::itest::handshake_test {
namespace {

class Handshake : public sim_test {};

auto without_sch() -> simulator::endpoint_profile {
  simulator::endpoint_profile p;
  p.sch_supported = false;
  return p;
}
auto resp2_only() -> simulator::endpoint_profile {
  simulator::endpoint_profile p;
  p.resp3_supported = false;
  return p;
}

TEST_F(Handshake, OptsInWithTheResolvedEndpointType) {
  start({endpoint("node-a")});
  auto cfg = config_for("node-a");
  cfg.maint.moving_endpoint_type = endpoint_type::external_fqdn;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  const auto hs = events_of<timeline::maint_handshake>("node-a");
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_TRUE(hs[0].second.enable);
  EXPECT_TRUE(hs[0].second.accepted);
  EXPECT_EQ(hs[0].second.protocol, 3);
  EXPECT_EQ(hs[0].second.endpoint_type, std::optional<std::string>{"external-fqdn"});
  EXPECT_EQ(c.connections().at(0).maint, maint_state::on);
}

TEST_F(Handshake, ServerWithoutSchInAutoModeCarriesOnSilently) {
  start({endpoint("node-a", without_sch())});
  auto& c = make_client(config_for("node-a"));
  ASSERT_EQ(connect(c), std::nullopt);
  EXPECT_TRUE(is_ok(exec(c, {"INCR", "hs:1"})));
  const auto hs = events_of<timeline::maint_handshake>("node-a");
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_FALSE(hs[0].second.accepted);
  EXPECT_EQ(c.connections().at(0).maint, maint_state::refused);
}

TEST_F(Handshake, ServerWithoutSchInEnabledModeFailsClearly) {
  start({endpoint("node-a", without_sch())});
  auto cfg = config_for("node-a");
  cfg.maint.mode = maint_mode::enabled;
  auto& c = make_client(cfg);
  const auto e = connect(c);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, error_class::handshake);
  EXPECT_NE(e->message.find("failed to enable maintnotifications"), std::string::npos)
      << e->message;
  EXPECT_NE(e->message.find("unknown subcommand"), std::string::npos) << e->message;
  EXPECT_TRUE(c.connections().empty());
}

TEST_F(Handshake, Resp2OnlyServerNeverGetsMaint) {
  start({endpoint("node-a", resp2_only())});
  auto& c = make_client(config_for("node-a"));
  ASSERT_EQ(connect(c), std::nullopt);
  const auto r = exec(c, {"PING"});
  ASSERT_TRUE(is_ok(r)) << describe(r);
  EXPECT_EQ(std::get<resp3::value>(r).text, "PONG");
  EXPECT_TRUE(events_of<timeline::maint_handshake>("node-a").empty());
  EXPECT_EQ(c.connections().at(0).protocol, resp3::protocol::resp2);
}

TEST_F(Handshake, Resp2OnlyServerInEnabledModeFails) {
  start({endpoint("node-a", resp2_only())});
  auto cfg = config_for("node-a");
  cfg.maint.mode = maint_mode::enabled;
  auto& c = make_client(cfg);
  const auto e = connect(c);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, error_class::handshake);
  EXPECT_NE(e->message.find("RESP3"), std::string::npos) << e->message;
  EXPECT_TRUE(events_of<timeline::maint_handshake>("node-a").empty());
}

TEST_F(Handshake, DisabledModeSendsNothing) {
  start({endpoint("node-a")});
  auto cfg = config_for("node-a");
  cfg.maint.mode = maint_mode::disabled;
  auto& c = make_client(cfg);
  ASSERT_EQ(connect(c), std::nullopt);
  EXPECT_TRUE(events_of<timeline::maint_handshake>("node-a").empty());
  EXPECT_EQ(events_of<timeline::hello>("node-a").size(), 1u);
}

TEST_F(Handshake, WrongPasswordFailsTheConnect) {
  simulator::endpoint_profile p;
  p.requirepass = "right";
  start({endpoint("node-a", p)});
  auto cfg = config_for("node-a");
  cfg.password = "wrong";
  auto& c = make_client(cfg);
  const auto e = connect(c);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, error_class::handshake) << e->message;
  cfg.password = "right";
  auto& ok = make_client(cfg);
  EXPECT_EQ(connect(ok), std::nullopt);
}

TEST_F(Handshake, RefusedConnectionIsAConnectionError) {
  start({endpoint("node-a")});
  auto cfg = config_for("node-a");
  server().stop();
  run_for(20ms);
  auto& c = make_client(cfg);
  const auto e = connect(c);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, error_class::connection) << e->message;
}

}  // namespace
}  // namespace schsim::refclient::itest::handshake_test
