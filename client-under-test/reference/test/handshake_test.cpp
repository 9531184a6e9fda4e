#include <schsim/refclient/handshake.hpp>

#include <gtest/gtest.h>

#include "support/wire.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::handshake_test {
namespace {

using test::from_wire;
using args = std::vector<std::string>;

// redis-py's mock HELLO 3 reply (sch-protocol.md §1.4).
constexpr std::string_view hello3_reply =
    "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.4.0\r\n$5\r\nproto\r\n:3\r\n"
    "$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$7\r\nmodules\r\n*0\r\n";
constexpr std::string_view ok = "+OK\r\n";
constexpr std::string_view unknown_subcommand =
    "-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n";
constexpr std::string_view noproto = "-NOPROTO unsupported protocol version\r\n";

auto params(maint_mode mode, endpoint_type type = endpoint_type::internal_ip) -> handshake_params {
  handshake_params p;
  p.mode = mode;
  p.moving_endpoint_type = type;
  return p;
}

auto send(std::initializer_list<std::string> a) -> handshake_action {
  return handshake_send{args(a)};
}

auto maint_on(std::string type) -> handshake_action {
  return send({"CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", type});
}

TEST(Handshake, AutoModeOptsInAfterHello) {
  handshake_fsm fsm{params(maint_mode::automatic)};
  EXPECT_EQ(fsm.start(), send({"HELLO", "3"}));
  EXPECT_EQ(fsm.on_reply(from_wire(hello3_reply)), maint_on("internal-ip"));
  EXPECT_EQ(fsm.on_reply(from_wire(ok)),
            handshake_action(handshake_done{resp3::protocol::resp3, maint_state::on}));
}

TEST(Handshake, EveryEndpointTypeIsSentAsNegotiated) {
  for (auto [type, name] : {std::pair{endpoint_type::internal_fqdn, "internal-fqdn"},
                            std::pair{endpoint_type::external_ip, "external-ip"},
                            std::pair{endpoint_type::external_fqdn, "external-fqdn"},
                            std::pair{endpoint_type::none, "none"}}) {
    handshake_fsm fsm{params(maint_mode::enabled, type)};
    (void)fsm.start();
    EXPECT_EQ(fsm.on_reply(from_wire(hello3_reply)), maint_on(name));
  }
}

TEST(Handshake, AnySimpleStringIsSuccess) {
  // go-redis uses a StatusCmd: any status reply counts as success.
  handshake_fsm fsm{params(maint_mode::enabled)};
  (void)fsm.start();
  (void)fsm.on_reply(from_wire(hello3_reply));
  EXPECT_EQ(fsm.on_reply(from_wire("+QUEUED\r\n")),
            handshake_action(handshake_done{resp3::protocol::resp3, maint_state::on}));
}

TEST(Handshake, AutoModeFallsBackSilentlyOnUnknownSubcommand) {
  handshake_fsm fsm{params(maint_mode::automatic)};
  (void)fsm.start();
  (void)fsm.on_reply(from_wire(hello3_reply));
  EXPECT_EQ(fsm.on_reply(from_wire(unknown_subcommand)),
            handshake_action(handshake_done{resp3::protocol::resp3, maint_state::refused}));
}

TEST(Handshake, EnabledModeFailsWithTheServersText) {
  handshake_fsm fsm{params(maint_mode::enabled)};
  (void)fsm.start();
  (void)fsm.on_reply(from_wire(hello3_reply));
  const auto a = fsm.on_reply(from_wire(unknown_subcommand));
  ASSERT_TRUE(std::holds_alternative<handshake_failed>(a)) << a;
  const auto& e = std::get<handshake_failed>(a).error;
  EXPECT_EQ(e.kind, error_class::handshake);
  EXPECT_EQ(e.message,
            "failed to enable maintnotifications: ERR unknown subcommand 'MAINT_NOTIFICATIONS'. "
            "Try CLIENT HELP.");
}

TEST(Handshake, DisabledModeNeverSendsMaint) {
  handshake_fsm fsm{params(maint_mode::disabled)};
  EXPECT_EQ(fsm.start(), send({"HELLO", "3"}));
  EXPECT_EQ(fsm.on_reply(from_wire(hello3_reply)),
            handshake_action(handshake_done{resp3::protocol::resp3, maint_state::off}));
}

// The deliberate bug the sch-disabled scenario must catch: the disabled mode is ignored.
TEST(Handshake, BrokenOptInWhenDisabledOptsInAsAutoModeDoes) {
  resolved_config config;
  config.config.maint.mode = maint_mode::disabled;
  config.moving_endpoint_type = endpoint_type::none;
  EXPECT_EQ(handshake_params::from(config, handshake_scope::full).mode, maint_mode::disabled);
  config.config.broken.set(broken_mode::opt_in_when_disabled);
  handshake_fsm fsm{handshake_params::from(config, handshake_scope::full)};
  EXPECT_EQ(fsm.start(), send({"HELLO", "3"}));
  EXPECT_EQ(fsm.on_reply(from_wire(hello3_reply)), maint_on("internal-ip"));
}

TEST(Handshake, Resp2OnlyServerInAutoModeNeverSendsMaint) {
  // go-redis PR #3788: MAINT must not follow a failed HELLO.
  handshake_fsm fsm{params(maint_mode::automatic)};
  (void)fsm.start();
  EXPECT_EQ(fsm.on_reply(from_wire(noproto)),
            handshake_action(handshake_done{resp3::protocol::resp2, maint_state::off}));
}

TEST(Handshake, Resp2OnlyServerInEnabledModeFails) {
  handshake_fsm fsm{params(maint_mode::enabled)};
  (void)fsm.start();
  const auto a = fsm.on_reply(from_wire(noproto));
  ASSERT_TRUE(std::holds_alternative<handshake_failed>(a)) << a;
  EXPECT_NE(std::get<handshake_failed>(a).error.message.find("does not support RESP3"),
            std::string::npos);
}

TEST(Handshake, Resp2OnlyServerWithPasswordAuthenticatesTheOldWay) {
  auto p = params(maint_mode::automatic);
  p.password = "secret";
  handshake_fsm fsm{p};
  EXPECT_EQ(fsm.start(), send({"HELLO", "3", "AUTH", "default", "secret"}));
  EXPECT_EQ(fsm.on_reply(from_wire("-ERR unknown command 'HELLO'\r\n")), send({"AUTH", "secret"}));
  EXPECT_EQ(fsm.on_reply(from_wire(ok)),
            handshake_action(handshake_done{resp3::protocol::resp2, maint_state::off}));
}

TEST(Handshake, AuthWithUserInHelloThenMaint) {
  auto p = params(maint_mode::automatic);
  p.username = "alice";
  p.password = "pw";
  handshake_fsm fsm{p};
  EXPECT_EQ(fsm.start(), send({"HELLO", "3", "AUTH", "alice", "pw"}));
  EXPECT_EQ(fsm.on_reply(from_wire(hello3_reply)), maint_on("internal-ip"));
}

TEST(Handshake, WrongPasswordFails) {
  auto p = params(maint_mode::automatic);
  p.username = "alice";
  p.password = "bad";
  handshake_fsm fsm{p};
  (void)fsm.start();
  constexpr std::string_view wrongpass =
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
  EXPECT_EQ(fsm.on_reply(from_wire(wrongpass)), send({"AUTH", "alice", "bad"}));
  const auto a = fsm.on_reply(from_wire(wrongpass));
  ASSERT_TRUE(std::holds_alternative<handshake_failed>(a)) << a;
  EXPECT_NE(std::get<handshake_failed>(a).error.message.find("WRONGPASS"), std::string::npos);
}

TEST(Handshake, Protocol2SendsNoHello) {
  auto p = params(maint_mode::automatic);
  p.protocol = 2;
  handshake_fsm fsm{p};
  EXPECT_EQ(fsm.start(),
            handshake_action(handshake_done{resp3::protocol::resp2, maint_state::off}));
  p.password = "pw";
  handshake_fsm with_auth{p};
  EXPECT_EQ(with_auth.start(), send({"AUTH", "pw"}));
  EXPECT_EQ(with_auth.on_reply(from_wire(ok)),
            handshake_action(handshake_done{resp3::protocol::resp2, maint_state::off}));
}

TEST(Handshake, SkipScopeSendsNothing) {
  auto p = params(maint_mode::enabled);
  p.scope = handshake_scope::skip;
  handshake_fsm fsm{p};
  EXPECT_EQ(fsm.start(),
            handshake_action(handshake_done{resp3::protocol::resp2, maint_state::off}));
}

TEST(Handshake, UnexpectedReplyAfterDoneFails) {
  handshake_fsm fsm{params(maint_mode::disabled)};
  (void)fsm.start();
  (void)fsm.on_reply(from_wire(hello3_reply));
  EXPECT_TRUE(std::holds_alternative<handshake_failed>(fsm.on_reply(from_wire(ok))));
}

}  // namespace
}  // namespace schsim::refclient::handshake_test
