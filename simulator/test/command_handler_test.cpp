#include <schsim/core/resp3/parser.hpp>
#include <schsim/simulator/command_handler.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <string>
#include <vector>

// Requests and expected replies are hand-written wire bytes (never produced by schsim's own
// serializer), so a symmetric codec bug cannot hide here.

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace command_handler_test {
namespace {

using namespace std::string_literals;
using schsim::seconds;
using schsim::time_point;
namespace sim = schsim::simulator;
namespace resp3 = schsim::resp3;

struct handler_fixture {
  explicit handler_fixture(sim::endpoint_profile p = {}) : profile(std::move(p)) {
    s.id = 7;
    s.peer = "127.0.0.1:50000";
    s.local = "127.0.0.1:6379";
    s.opened_at = now;
    handler.init_session(s);
  }

  /// Feeds wire bytes through the server-side parser and runs every complete command.
  auto run(std::string_view wire) -> std::string {
    parser.feed(wire);
    std::string out;
    std::vector<std::string_view> args;
    while (auto v = parser.next()) {
      const auto check = sim::request_args(*v, args);
      if (check.kind == sim::request_kind::command) {
        outcomes.push_back(handler.execute(s, args, now, out));
      } else if (check.kind == sim::request_kind::protocol_error) {
        out += "-" + check.error + "\r\n";
      }
    }
    if (parser.failed()) {
      out += "-ERR " + parser.error_message() + "\r\n";
    }
    return out;
  }

  sim::endpoint_profile profile;
  sim::keyspace data;
  sim::command_handler handler{data, profile};
  sim::session_state s;
  time_point now = time_point{} + seconds(5000);
  resp3::parser parser{{}, resp3::inline_mode::accepted};
  std::vector<sim::command_outcome> outcomes;
};

constexpr std::string_view hello3_reply_id7 =
    "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.4.0\r\n$5\r\nproto\r\n:3\r\n"
    "$2\r\nid\r\n:7\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$7\r\nmodules\r\n*0\r\n";

TEST(CommandHandler, UnknownCommandQuotesArgsLikeRedis7) {
  handler_fixture f;
  EXPECT_EQ(f.run("*3\r\n$3\r\nfoo\r\n$1\r\na\r\n$1\r\nb\r\n"),
            "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
  EXPECT_EQ(f.run("*1\r\n$3\r\nfoo\r\n"),
            "-ERR unknown command 'foo', with args beginning with: \r\n");
  EXPECT_TRUE(f.outcomes.back().error);
}

TEST(CommandHandler, UnknownCommandCutsArgumentsAt128Bytes) {
  handler_fixture f;
  const std::string a(200, 'a');
  const std::string reply = f.run("*3\r\n$3\r\nfoo\r\n$200\r\n" + a + "\r\n$1\r\nb\r\n");
  EXPECT_EQ(reply, "-ERR unknown command 'foo', with args beginning with: '" +
                       std::string(128, 'a') + "' \r\n");
}

TEST(CommandHandler, WrongArityUsesTheFullCommandName) {
  handler_fixture f;
  EXPECT_EQ(f.run("*1\r\n$3\r\nGET\r\n"), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(f.run("*2\r\n$6\r\nCLIENT\r\n$7\r\nsetname\r\n"),
            "-ERR wrong number of arguments for 'client|setname' command\r\n");
  EXPECT_EQ(f.run("*1\r\n$6\r\nclient\r\n"),
            "-ERR wrong number of arguments for 'client' command\r\n");
  EXPECT_EQ(
      f.run("*2\r\n$4\r\nMSET\r\n$1\r\na\r\n*4\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n"),
      "-ERR wrong number of arguments for 'mset' command\r\n"
      "-ERR wrong number of arguments for 'mset' command\r\n");
}

TEST(CommandHandler, UnknownSubcommandEchoesItAsSent) {
  handler_fixture f;
  EXPECT_EQ(f.run("*2\r\n$6\r\nclient\r\n$1\r\nX\r\n"),
            "-ERR unknown subcommand 'X'. Try CLIENT HELP.\r\n");
}

TEST(CommandHandler, NonBulkRequestElementIsAProtocolError) {
  handler_fixture f;
  EXPECT_EQ(f.run("*1\r\n:1\r\n"), "-ERR Protocol error: expected '$', got ':'\r\n");
}

TEST(CommandHandler, InlineCommandsAndEmptyRequestsLikeRedis) {
  handler_fixture f;
  EXPECT_EQ(f.run("PING\r\n\r\n*0\r\nECHO \"a b\"\r\n"), "+PONG\r\n$3\r\na b\r\n");
}

TEST(CommandHandler, PingAndEcho) {
  handler_fixture f;
  EXPECT_EQ(f.run("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nping\r\n$2\r\nhi\r\n"), "+PONG\r\n$2\r\nhi\r\n");
  EXPECT_EQ(f.run("*3\r\n$4\r\nPING\r\n$2\r\nhi\r\n$1\r\nx\r\n*1\r\n$4\r\nECHO\r\n"),
            "-ERR wrong number of arguments for 'ping' command\r\n"
            "-ERR wrong number of arguments for 'echo' command\r\n");
  f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  EXPECT_EQ(f.run("*1\r\n$4\r\nPING\r\n"), "+PONG\r\n");
}

TEST(CommandHandler, Hello3ReplyCarriesTheConnectionId) {
  handler_fixture f;
  EXPECT_EQ(f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"), hello3_reply_id7);
  EXPECT_EQ(f.s.protocol, resp3::protocol::resp3);
  ASSERT_TRUE(f.outcomes.back().hello);
  EXPECT_EQ(f.outcomes.back().hello->protover, 3);
  EXPECT_TRUE(f.outcomes.back().hello->accepted);
}

TEST(CommandHandler, Hello2AndBareHelloAnswerAFlatArray) {
  handler_fixture f;
  constexpr std::string_view flat =
      "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.4.0\r\n$5\r\nproto\r\n"
      ":2\r\n$2\r\nid\r\n:7\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
      "$7\r\nmodules\r\n*0\r\n";
  EXPECT_EQ(f.run("*1\r\n$5\r\nHELLO\r\n"), flat);
  EXPECT_EQ(f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n2\r\n"), flat);
  EXPECT_EQ(f.outcomes.front().hello->protover, 2);
}

TEST(CommandHandler, HelloRejectsBadVersions) {
  handler_fixture f;
  EXPECT_EQ(f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n4\r\n*2\r\n$5\r\nHELLO\r\n$1\r\nx\r\n"),
            "-NOPROTO unsupported protocol version\r\n"
            "-ERR Protocol version is not an integer or out of range\r\n");
  EXPECT_FALSE(f.outcomes[0].hello->accepted);
  EXPECT_EQ(f.outcomes[0].hello->error, "NOPROTO unsupported protocol version");
}

TEST(CommandHandler, Resp2OnlyProfileRefusesHello3) {
  sim::endpoint_profile p;
  p.resp3_supported = false;
  handler_fixture f(p);
  EXPECT_EQ(f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"), "-NOPROTO unsupported protocol version\r\n");
  EXPECT_EQ(f.s.protocol, resp3::protocol::resp2);
}

TEST(CommandHandler, AuthWithoutConfiguredPassword) {
  handler_fixture f;
  EXPECT_EQ(f.run("*2\r\n$4\r\nAUTH\r\n$1\r\nx\r\n"),
            "-ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?\r\n");
  EXPECT_EQ(f.run("*3\r\n$4\r\nAUTH\r\n$1\r\nx\r\n$1\r\ny\r\n"),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
}

TEST(CommandHandler, RequirePassGatesCommands) {
  sim::endpoint_profile p;
  p.requirepass = "secret";
  p.users.push_back({"app", "pw"});
  handler_fixture f(p);
  EXPECT_EQ(f.run("*1\r\n$4\r\nPING\r\n"), "-NOAUTH Authentication required.\r\n");
  // Unknown commands and arity errors come before the auth check, as in Redis.
  EXPECT_EQ(f.run("*1\r\n$3\r\nfoo\r\n*1\r\n$3\r\nget\r\n"),
            "-ERR unknown command 'foo', with args beginning with: \r\n"
            "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"),
            "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
            "the RESP protocol version at the same time\r\n");
  EXPECT_EQ(f.run("*2\r\n$4\r\nAUTH\r\n$1\r\nx\r\n"),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(f.run("*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*1\r\n$4\r\nPING\r\n"), "+OK\r\n+PONG\r\n");
  // RESET drops the authentication again.
  EXPECT_EQ(f.run("*1\r\n$5\r\nRESET\r\n*1\r\n$4\r\nPING\r\n"),
            "+RESET\r\n-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(f.run("*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$2\r\npw\r\n"), "+OK\r\n");
  EXPECT_EQ(f.s.user, "app");
}

TEST(CommandHandler, HelloWithAuthAndSetname) {
  sim::endpoint_profile p;
  p.requirepass = "secret";
  handler_fixture f(p);
  EXPECT_EQ(f.run("*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$1\r\nx\r\n"),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(f.outcomes.back().hello->user, "default");
  EXPECT_EQ(f.run("*7\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$6\r\nsecret\r\n"
                  "$7\r\nSETNAME\r\n$2\r\nab\r\n*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n"),
            std::string(hello3_reply_id7) + "$2\r\nab\r\n");
  EXPECT_EQ(f.run("*3\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$3\r\nfoo\r\n"),
            "-ERR Syntax error in HELLO option 'foo'\r\n");
}

TEST(CommandHandler, QuitRepliesOkThenCloses) {
  sim::endpoint_profile p;
  p.requirepass = "secret";
  handler_fixture f(p);
  EXPECT_EQ(f.run("*1\r\n$4\r\nQUIT\r\n"), "+OK\r\n");
  EXPECT_EQ(f.outcomes.back().then, sim::after_reply::close);
}

TEST(CommandHandler, ResetRestoresTheInitialState) {
  handler_fixture f;
  f.run(
      "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n4\r\n"
      "*3\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n");
  ASSERT_TRUE(f.s.maint_enabled);
  EXPECT_EQ(f.run("*1\r\n$5\r\nRESET\r\n"), "+RESET\r\n");
  EXPECT_EQ(f.s.protocol, resp3::protocol::resp2);
  EXPECT_EQ(f.s.db, 0);
  EXPECT_FALSE(f.s.maint_enabled);
  EXPECT_EQ(f.run("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), "$-1\r\n");  // RESP2 null again
}

TEST(CommandHandler, SelectValidatesTheIndex) {
  handler_fixture f;
  EXPECT_EQ(f.run("*2\r\n$6\r\nSELECT\r\n$2\r\n16\r\n*2\r\n$6\r\nSELECT\r\n$1\r\nx\r\n"),
            "-ERR DB index is out of range\r\n-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(f.run("SET k v0\r\nSELECT 15\r\nGET k\r\nSET k v15\r\nSELECT 0\r\nGET k\r\n"),
            "+OK\r\n+OK\r\n$-1\r\n+OK\r\n+OK\r\n$2\r\nv0\r\n");
}

TEST(CommandHandler, MaintNotificationsHandshakeAnyCase) {
  handler_fixture f;
  f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  EXPECT_EQ(f.run("*5\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n$20\r\n"
                  "moving-endpoint-type\r\n$11\r\nexternal-ip\r\n"),
            "+OK\r\n");
  const auto& ev = *f.outcomes.back().maint;
  EXPECT_TRUE(ev.enable);
  EXPECT_TRUE(ev.accepted);
  EXPECT_EQ(ev.endpoint_type, "external-ip");
  EXPECT_EQ(ev.reply, "OK");
  EXPECT_EQ(ev.protocol, 3);
  EXPECT_EQ(f.s.endpoint_type, "external-ip");
  // go-redis lower case, Lettuce `on`, the bare OSS-cluster form.
  EXPECT_EQ(f.run("*5\r\n$6\r\nclient\r\n$19\r\nmaint_notifications\r\n$2\r\non\r\n$20\r\n"
                  "moving-endpoint-type\r\n$4\r\nnone\r\n"
                  "*3\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n"),
            "+OK\r\n+OK\r\n");
  EXPECT_FALSE(f.outcomes.back().maint->endpoint_type.has_value());
  EXPECT_EQ(f.run("*3\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$3\r\noff\r\n"), "+OK\r\n");
  EXPECT_FALSE(f.s.maint_enabled);
}

TEST(CommandHandler, MaintNotificationsRejectsUnknownTypesAndSyntax) {
  handler_fixture f;
  f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  EXPECT_EQ(f.run("*5\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n$20\r\n"
                  "moving-endpoint-type\r\n$4\r\nauto\r\n"),
            "-ERR invalid moving-endpoint-type 'auto', expected one of internal-ip, "
            "internal-fqdn, external-ip, external-fqdn, none\r\n");
  EXPECT_FALSE(f.outcomes.back().maint->accepted);
  EXPECT_EQ(f.run("*3\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$5\r\nmaybe\r\n"
                  "*4\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n$20\r\n"
                  "moving-endpoint-type\r\n"),
            "-ERR syntax error\r\n-ERR syntax error\r\n");
  EXPECT_FALSE(f.s.maint_enabled);
}

TEST(CommandHandler, MaintNotificationsOnNeedsResp3) {
  handler_fixture f;
  EXPECT_EQ(f.run("*3\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n"),
            "-ERR CLIENT MAINT_NOTIFICATIONS ON requires RESP3 (send HELLO 3 first)\r\n");
  EXPECT_EQ(f.outcomes.back().maint->protocol, 2);
  EXPECT_FALSE(f.s.maint_enabled);
}

TEST(CommandHandler, SchOffAnswersLikeOpenSourceRedis) {
  sim::endpoint_profile p;
  p.sch_supported = false;
  handler_fixture f(p);
  f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  EXPECT_EQ(f.run("*5\r\n$6\r\nclient\r\n$19\r\nmaint_notifications\r\n$2\r\non\r\n$20\r\n"
                  "moving-endpoint-type\r\n$11\r\ninternal-ip\r\n"),
            "-ERR unknown subcommand 'maint_notifications'. Try CLIENT HELP.\r\n");
  const auto& ev = *f.outcomes.back().maint;
  EXPECT_FALSE(ev.accepted);
  EXPECT_EQ(ev.endpoint_type, "internal-ip");
  EXPECT_EQ(f.run("*3\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n"),
            "-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n");
}

TEST(CommandHandler, SchOffRecordsWhatAMalformedHandshakeAskedFor) {
  // The refused handshake is read by the same parser as an accepted one, but its arity is never
  // checked: a bare subcommand must not read past the arguments, and the type sent before a
  // malformed option is still what the client asked for.
  sim::endpoint_profile p;
  p.sch_supported = false;
  handler_fixture f(p);
  f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  EXPECT_EQ(f.run("*2\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n"),
            "-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n");
  EXPECT_FALSE(f.outcomes.back().maint->enable);
  EXPECT_FALSE(f.outcomes.back().maint->endpoint_type.has_value());
  EXPECT_EQ(f.run("*6\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nOn\r\n$20\r\n"
                  "MOVING-ENDPOINT-TYPE\r\n$13\r\nexternal-fqdn\r\n$5\r\nextra\r\n"),
            "-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n");
  const auto& ev = *f.outcomes.back().maint;
  EXPECT_TRUE(ev.enable);
  EXPECT_FALSE(ev.accepted);
  EXPECT_EQ(ev.endpoint_type, "external-fqdn");
  EXPECT_FALSE(f.s.maint_enabled);
}

TEST(CommandHandler, ClientNameIdInfoAndSetinfo) {
  handler_fixture f;
  EXPECT_EQ(f.run("*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n"
                  "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$3\r\na b\r\n"
                  "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$2\r\nab\r\n"
                  "*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n"),
            ":7\r\n$-1\r\n"
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
            "+OK\r\n$2\r\nab\r\n");
  EXPECT_EQ(f.run("*4\r\n$6\r\nCLIENT\r\n$7\r\nSETINFO\r\n$8\r\nLIB-NAME\r\n$10\r\nnode-redis\r\n"
                  "*4\r\n$6\r\nCLIENT\r\n$7\r\nSETINFO\r\n$7\r\nlib-ver\r\n$5\r\n6.3.1\r\n"
                  "*4\r\n$6\r\nCLIENT\r\n$7\r\nSETINFO\r\n$3\r\nfoo\r\n$1\r\nx\r\n"),
            "+OK\r\n+OK\r\n-ERR Unrecognized option 'foo'\r\n");
  EXPECT_EQ(f.s.lib_name, "node-redis");
  EXPECT_EQ(f.s.lib_ver, "6.3.1");
  const std::string info = f.run("*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n");
  EXPECT_TRUE(info.starts_with("$")) << info;
  EXPECT_NE(info.find("id=7 addr=127.0.0.1:50000 laddr=127.0.0.1:6379 "), std::string::npos);
  EXPECT_NE(info.find("lib-name=node-redis lib-ver=6.3.1\n"), std::string::npos);
}

TEST(CommandHandler, StringCommands) {
  handler_fixture f;
  EXPECT_EQ(f.run("SET k v\r\nGET k\r\nSET k w GET\r\nSET k x NX\r\nSET k x XX\r\nGET k\r\n"
                  "SET k v NX XX\r\nSET k v FOO\r\nSET k v EX 0\r\nSET k v EX x\r\n"
                  "SET k v KEEPTTL EX 5\r\n"),
            "+OK\r\n$1\r\nv\r\n$1\r\nv\r\n$-1\r\n+OK\r\n$1\r\nx\r\n"
            "-ERR syntax error\r\n-ERR syntax error\r\n"
            "-ERR invalid expire time in 'set' command\r\n"
            "-ERR value is not an integer or out of range\r\n-ERR syntax error\r\n");
  EXPECT_EQ(f.run("MSET a 1 b 2\r\nMGET a nokey b\r\nEXISTS a a nokey\r\nDEL a b nokey\r\n"
                  "DBSIZE\r\nFLUSHALL\r\nDBSIZE\r\nFLUSHALL x\r\n"),
            "+OK\r\n*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n:2\r\n:2\r\n:1\r\n+OK\r\n:0\r\n"
            "-ERR syntax error\r\n");
}

TEST(CommandHandler, Counters) {
  handler_fixture f;
  EXPECT_EQ(f.run("INCR n\r\nINCRBY n 10\r\nDECR n\r\nDECRBY n 5\r\nINCRBY n x\r\nSET s abc\r\n"
                  "INCR s\r\nSET m 9223372036854775807\r\nINCR m\r\n"),
            ":1\r\n:11\r\n:10\r\n:5\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"
            "-ERR value is not an integer or out of range\r\n+OK\r\n"
            "-ERR increment or decrement would overflow\r\n");
}

TEST(CommandHandler, ExpiryFollowsTheInjectedClock) {
  handler_fixture f;
  EXPECT_EQ(f.run("SET k v EX 10\r\nTTL k\r\nPTTL k\r\nTTL nokey\r\nSET p v\r\nTTL p\r\n"),
            "+OK\r\n:10\r\n:10000\r\n:-2\r\n+OK\r\n:-1\r\n");
  f.now += std::chrono::milliseconds(9500);
  EXPECT_EQ(f.run("TTL k\r\nPTTL k\r\n"), ":1\r\n:500\r\n");
  f.now += std::chrono::milliseconds(500);
  EXPECT_EQ(f.run("GET k\r\nEXPIRE p x\r\nEXPIRE p 100\r\nTTL p\r\nEXPIRE p 5 NX\r\n"
                  "PEXPIRE p 1500\r\nPTTL p\r\nEXPIRE nokey 5\r\nEXPIRE p -1\r\nEXISTS p\r\n"),
            "$-1\r\n-ERR value is not an integer or out of range\r\n:1\r\n:100\r\n:0\r\n:1\r\n"
            ":1500\r\n:0\r\n:1\r\n:0\r\n");
}

TEST(CommandHandler, Resp3NullsAndMaps) {
  handler_fixture f;
  f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  EXPECT_EQ(f.run("GET nokey\r\nCONFIG GET save\r\n"), "_\r\n%1\r\n$4\r\nsave\r\n$0\r\n\r\n");
}

TEST(CommandHandler, ConfigGetForRedisBenchmark) {
  handler_fixture f;
  EXPECT_EQ(f.run("*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n"
                  "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$10\r\nappendonly\r\n"),
            "*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
  const std::string all = f.run("CONFIG GET *\r\n");
  EXPECT_TRUE(all.starts_with("*")) << all;
  EXPECT_NE(all.find("$9\r\ndatabases\r\n$2\r\n16\r\n"), std::string::npos);
  EXPECT_EQ(f.run("CONFIG GET nomatch*\r\n"), "*0\r\n");
}

TEST(CommandHandler, InfoAndCommand) {
  handler_fixture f;
  f.run("SET k v\r\n");
  const std::string info = f.run("INFO\r\n");
  EXPECT_NE(info.find("# Server\r\nredis_version:7.4.0\r\nredis_mode:standalone\r\n"),
            std::string::npos);
  EXPECT_NE(info.find("# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\n"
                      "db0:keys=1,expires=0,avg_ttl=0"),
            std::string::npos);
  EXPECT_EQ(f.run("INFO cluster\r\n"), "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n");
  f.run("HELLO 3\r\n");
  EXPECT_TRUE(f.run("INFO server\r\n").starts_with("=")) << "RESP3 INFO is a verbatim string";
  EXPECT_EQ(f.run("COMMAND DOCS\r\n"), "%0\r\n");
  EXPECT_TRUE(f.run("COMMAND COUNT\r\n").starts_with(":"));
  EXPECT_EQ(f.run("COMMAND INFO nosuch\r\n"), "*1\r\n_\r\n");
}

}  // namespace

namespace {

// -- transactions ------------------------------------------------------------------------------

constexpr std::string_view multi = "*1\r\n$5\r\nMULTI\r\n";
constexpr std::string_view exec = "*1\r\n$4\r\nEXEC\r\n";
constexpr std::string_view discard = "*1\r\n$7\r\nDISCARD\r\n";

TEST(Transactions, QueuedCommandsRunAtExecAndAnswerInOneArray) {
  handler_fixture f;
  EXPECT_EQ(f.run(multi), "+OK\r\n");
  EXPECT_EQ(f.run("*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$1\r\nv\r\n"
                  "*2\r\n$4\r\nINCR\r\n$1\r\ns\r\n"),
            "+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n");
  EXPECT_EQ(f.data.get(0, "k", f.now), nullptr);  // nothing ran yet
  // A command's own error inside EXEC does not stop the others (Redis runs them all).
  EXPECT_EQ(f.run(exec), "*3\r\n:1\r\n+OK\r\n-ERR value is not an integer or out of range\r\n");
  EXPECT_FALSE(f.outcomes.back().error);
  EXPECT_EQ(f.run("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), "$1\r\n1\r\n");
}

TEST(Transactions, ExecAndDiscardWithoutMultiAndNestedMulti) {
  handler_fixture f;
  EXPECT_EQ(f.run(exec), "-ERR EXEC without MULTI\r\n");
  EXPECT_TRUE(f.outcomes.back().error);
  EXPECT_EQ(f.run(discard), "-ERR DISCARD without MULTI\r\n");
  EXPECT_EQ(f.run(multi), "+OK\r\n");
  // Nested MULTI is an error that does not abort the transaction.
  EXPECT_EQ(f.run(multi), "-ERR MULTI calls can not be nested\r\n");
  EXPECT_EQ(f.run("*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"), "+QUEUED\r\n");
  EXPECT_EQ(f.run(exec), "*1\r\n:1\r\n");
  EXPECT_EQ(f.run(multi), "+OK\r\n");
  EXPECT_EQ(f.run("*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"), "+QUEUED\r\n");
  EXPECT_EQ(f.run(discard), "+OK\r\n");
  EXPECT_EQ(f.run(exec), "-ERR EXEC without MULTI\r\n");
  EXPECT_EQ(f.run("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), "$1\r\n1\r\n");
}

TEST(Transactions, AnErrorWhileQueuingAbortsExec) {
  handler_fixture f;
  f.run(multi);
  EXPECT_EQ(f.run("*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"), "+QUEUED\r\n");
  EXPECT_EQ(f.run("*2\r\n$3\r\nFOO\r\n$1\r\nx\r\n"),
            "-ERR unknown command 'FOO', with args beginning with: 'x' \r\n");
  EXPECT_EQ(f.run(exec), "-EXECABORT Transaction discarded because of previous errors.\r\n");
  EXPECT_EQ(f.data.get(0, "k", f.now), nullptr);
  f.run(multi);
  EXPECT_EQ(f.run("*1\r\n$4\r\nINCR\r\n"), "-ERR wrong number of arguments for 'incr' command\r\n");
  EXPECT_EQ(f.run(exec), "-EXECABORT Transaction discarded because of previous errors.\r\n");
  // The transaction is over either way.
  EXPECT_EQ(f.run(exec), "-ERR EXEC without MULTI\r\n");
}

TEST(Transactions, ExecRefusedBeforeItRunsIsAnExecAbortWithTheReason) {
  handler_fixture f;
  f.run(multi);
  EXPECT_EQ(f.run("*2\r\n$4\r\nEXEC\r\n$1\r\nx\r\n"),
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' "
            "command\r\n");
  EXPECT_EQ(f.run(exec), "-ERR EXEC without MULTI\r\n");
}

TEST(Transactions, WatchInsideMultiIsAnErrorThatKeepsTheTransaction) {
  handler_fixture f;
  f.run(multi);
  EXPECT_EQ(f.run("*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n"),
            "-ERR WATCH inside MULTI is not allowed\r\n");
  EXPECT_EQ(f.run("*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"), "+QUEUED\r\n");
  EXPECT_EQ(f.run(exec), "*1\r\n:1\r\n");
}

TEST(Transactions, WatchedKeyModifiedByAnotherConnectionNullsExec) {
  handler_fixture f;
  sim::session_state other;
  other.id = 8;
  f.handler.init_session(other);
  std::string other_out;
  const std::array<std::string_view, 3> set_k = {"SET", "k", "x"};

  // RESP2: a null array.
  EXPECT_EQ(f.run("*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n"), "+OK\r\n");
  f.run(multi);
  f.run("*2\r\n$4\r\nINCR\r\n$1\r\nj\r\n");
  f.handler.execute(other, set_k, f.now, other_out);
  EXPECT_EQ(f.run(exec), "*-1\r\n");
  EXPECT_EQ(f.data.get(0, "j", f.now), nullptr);

  // RESP3: `_`. EXEC unwatched, so this time the write before WATCH does not count.
  f.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  f.handler.execute(other, set_k, f.now, other_out);
  f.run("*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n");
  f.run(multi);
  f.run("*2\r\n$4\r\nINCR\r\n$1\r\nj\r\n");
  f.handler.execute(other, set_k, f.now, other_out);
  EXPECT_EQ(f.run(exec), "_\r\n");

  // Untouched: runs. UNWATCH forgets a broken watch.
  f.run("*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n");
  f.handler.execute(other, set_k, f.now, other_out);
  EXPECT_EQ(f.run("*1\r\n$7\r\nUNWATCH\r\n"), "+OK\r\n");
  f.run(multi);
  f.run("*2\r\n$4\r\nINCR\r\n$1\r\nj\r\n");
  EXPECT_EQ(f.run(exec), "*1\r\n:1\r\n");
}

TEST(Transactions, ClosedConnectionDiscardsItsTransactionAndWatches) {
  handler_fixture f;
  f.run("*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n");
  f.run(multi);
  f.run("*2\r\n$4\r\nINCR\r\n$1\r\nj\r\n");
  f.handler.end_session(f.s);
  EXPECT_FALSE(f.s.multi.active);
  EXPECT_FALSE(f.data.watch_broken(f.s.id, f.now));
  EXPECT_EQ(f.data.get(0, "j", f.now), nullptr);
}

TEST(Transactions, QuitAndResetInsideMultiRunAtOnce) {
  handler_fixture f;
  f.run(multi);
  f.run("*2\r\n$4\r\nINCR\r\n$1\r\nj\r\n");
  EXPECT_EQ(f.run("*1\r\n$5\r\nRESET\r\n"), "+RESET\r\n");
  EXPECT_EQ(f.run(exec), "-ERR EXEC without MULTI\r\n");
  f.run(multi);
  EXPECT_EQ(f.run("*1\r\n$4\r\nQUIT\r\n"), "+OK\r\n");
  EXPECT_EQ(f.outcomes.back().then, sim::after_reply::close);
}

}  // namespace

namespace {

TEST(Transactions, EachEndIsReportedForTheTimelineWithItsCommandIndices) {
  using outcome = schsim::timeline::transaction_ended::outcome;
  handler_fixture f;
  auto at = [&](std::uint64_t index, std::string_view wire) {
    f.s.command_index = index;
    return f.run(wire);
  };
  at(3, multi);
  at(4, "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
  at(5, "*3\r\n$4\r\nINCR\r\n$1\r\nk\r\n$1\r\nx\r\n");  // refused: wrong arity
  at(6, "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
  EXPECT_FALSE(f.outcomes.back().transaction);
  at(7, exec);
  ASSERT_TRUE(f.outcomes.back().transaction);
  auto ev = *f.outcomes.back().transaction;
  EXPECT_EQ(ev.result, outcome::aborted);
  EXPECT_EQ(ev.multi_index, 3u);
  EXPECT_EQ(ev.end_index, 7u);
  EXPECT_EQ(ev.commands, (std::vector<std::uint64_t>{4, 6}));

  at(8, multi);
  at(9, "*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$1\r\nv\r\n");
  at(10, "*2\r\n$4\r\nINCR\r\n$1\r\ns\r\n");
  at(11, exec);
  ev = *f.outcomes.back().transaction;
  EXPECT_EQ(ev.result, outcome::executed);
  EXPECT_EQ(ev.commands, (std::vector<std::uint64_t>{9, 10}));
  EXPECT_EQ(ev.errors, 1u);

  at(12, multi);
  at(13, discard);
  EXPECT_EQ(f.outcomes.back().transaction->result, outcome::discarded);
  at(14, exec);  // without MULTI: no transaction ended
  EXPECT_FALSE(f.outcomes.back().transaction);

  at(15, multi);
  at(16, "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
  const auto closed = f.handler.end_session(f.s);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->result, outcome::closed);
  EXPECT_EQ(closed->commands, (std::vector<std::uint64_t>{16}));
}

}  // namespace
}  // namespace command_handler_test
