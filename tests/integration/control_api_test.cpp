// The control API of `schsim serve` on real sockets: the schsim binary on loopback with
// OS-chosen ports, a RESP3 client opted in to maintenance notifications, and HTTP requests
// written with Boost.Beast (not with the server's own code).
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"
#include "support/test_client.hpp"
#include "support/wire.hpp"
#include <signal.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace control_api_test {
namespace {

namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;
using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;
using schsim::testing::child_process;
using schsim::testing::test_client;
namespace wire = schsim::testing::wire;

// `schsim serve` in the background; stopped with SIGTERM (its exit status is kept) or killed.
class serve_process {
 public:
  explicit serve_process(std::vector<std::string> args, const fs::path& dir)
      : endpoints_(prepared_endpoints_file(dir)),
        child_(with_serve_command(std::move(args), endpoints_), dir / "serve.log") {}

  // The --endpoints-json file, once written (it is renamed into place whole).
  auto endpoints() -> json {
    for (int i = 0; i < 200 && !fs::exists(endpoints_); ++i) {
      std::this_thread::sleep_for(50ms);
    }
    std::ifstream in(endpoints_);
    return json::parse(in);
  }
  auto port_of(const std::string& name) -> std::uint16_t {
    const auto all = endpoints();  // a range-for over a temporary's member would dangle
    for (const auto& e : all["endpoints"]) {
      if (e["name"] == name) {
        return e["port"].get<std::uint16_t>();
      }
    }
    return 0;
  }
  auto control_port() -> std::uint16_t { return endpoints()["control"]["port"]; }
  auto stop() -> int {
    child_.signal(SIGTERM);
    return child_.wait();
  }

 private:
  static auto prepared_endpoints_file(const fs::path& dir) -> fs::path {
    fs::create_directories(dir);
    fs::remove(dir / "endpoints.json");
    return dir / "endpoints.json";
  }
  static auto with_serve_command(std::vector<std::string> args, const fs::path& endpoints)
      -> std::vector<std::string> {
    args.insert(args.begin(), {SCHSIM_EXE, "serve", "--endpoints-json", endpoints.string()});
    return args;
  }

  fs::path endpoints_;
  child_process child_;
};

struct http_answer {
  int status = 0;
  std::string body;
  [[nodiscard]] auto as_json() const -> json { return json::parse(body); }
};

auto call(std::uint16_t port, http::verb method, const std::string& target,
          const std::string& body = {}, const std::string& token = {}) -> http_answer {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  if (!token.empty()) {
    req.set(http::field::authorization, "Bearer " + token);
  }
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {static_cast<int>(res.result_int()), res.body()};
}

auto test_dir(const std::string& name) -> fs::path {
  return fs::path(SCHSIM_BINARY_DIR) / "tests" / "control-api" / name;
}

// A RESP3 connection opted in with moving-endpoint-type internal-ip.
auto opted_in_client(std::uint16_t port) -> std::unique_ptr<test_client> {
  auto c = std::make_unique<test_client>(port);
  c->roundtrip(wire::hello3);
  EXPECT_EQ(c->roundtrip(wire::maint_on_internal_ip), "+OK\r\n");
  return c;
}

auto wait_for_status(std::uint16_t port, const std::string& id, const std::string& wanted) -> json {
  json last;
  for (int i = 0; i < 300; ++i) {
    last = call(port, http::verb::get, "/action/" + id).as_json();
    if (last["status"] == wanted || last["status"] == "failed") {
      return last;
    }
    std::this_thread::sleep_for(50ms);
  }
  return last;
}

TEST(ControlApiServe, FailoverActionReachesTheClientAndSucceedsAfterFailedOver) {
  serve_process serve({"--control", "127.0.0.1:0"}, test_dir("failover"));
  const auto control = serve.control_port();
  ASSERT_NE(control, 0);
  auto client = opted_in_client(serve.port_of("node-a"));

  const auto posted = call(control, http::verb::post, "/action",
                           R"({"type":"failover","parameters":{"bdb_id":1}})");
  ASSERT_EQ(posted.status, 200) << posted.body;
  const auto id = posted.as_json()["action_id"].get<std::string>();
  EXPECT_EQ(posted.as_json()["status"], "running");

  const auto opening = client->read_frame();
  EXPECT_TRUE(opening.starts_with(">")) << opening;
  EXPECT_NE(opening.find("FAILING_OVER"), std::string::npos) << opening;
  EXPECT_EQ(call(control, http::verb::get, "/action/" + id).as_json()["status"], "running");
  const auto closing = client->read_frame();
  EXPECT_NE(closing.find("FAILED_OVER"), std::string::npos) << closing;
  const auto done = wait_for_status(control, id, "success");
  EXPECT_EQ(done["status"], "success") << done.dump();
  EXPECT_TRUE(done["error"].is_null());
}

TEST(ControlApiServe, BindMovesTheClientToNodeB) {
  serve_process serve({"--control", "127.0.0.1:0"}, test_dir("bind"));
  const auto control = serve.control_port();
  const auto port = serve.port_of("node-a");
  auto client = opted_in_client(port);
  const auto posted = call(control, http::verb::post, "/action", R"({"type":"bind"})");
  ASSERT_EQ(posted.status, 200) << posted.body;
  const auto moving = client->read_frame();
  EXPECT_NE(moving.find("MOVING"), std::string::npos) << moving;
  EXPECT_NE(moving.find("127.0.0.2:" + std::to_string(port)), std::string::npos) << moving;
  // Running until the grace (5 s) is over and the old connection closed.
  const auto id = posted.as_json()["action_id"].get<std::string>();
  EXPECT_EQ(call(control, http::verb::get, "/action/" + id).as_json()["status"], "running");
  EXPECT_EQ(wait_for_status(control, id, "success")["status"], "success");
  client->read_until_closed();
  EXPECT_EQ(client->last_end(), schsim::testing::read_end::eof);
}

TEST(ControlApiServe, BadInputGetsClearAnswers) {
  serve_process serve({"--control", "127.0.0.1:0", "--control-max-body", "1000"},
                      test_dir("bad-input"));
  const auto control = serve.control_port();
  const auto malformed = call(control, http::verb::post, "/action", "{\"type\": ");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("malformed JSON"), std::string::npos) << malformed.body;
  const auto unknown = call(control, http::verb::post, "/action", R"({"type":"teleport"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("sequence_of_actions"), std::string::npos) << unknown.body;
  EXPECT_EQ(call(control, http::verb::get, "/action/action-42").status, 404);
  const auto big = call(control, http::verb::post, "/action", std::string(2000, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("1000 bytes"), std::string::npos) << big.body;
  // Still serving after all that.
  EXPECT_EQ(call(control, http::verb::get, "/health").status, 200);
}

TEST(ControlApiServe, TokenIsRequiredWhenSet) {
  serve_process serve({"--control", "127.0.0.1:0", "--control-token", "t0ken"}, test_dir("token"));
  const auto control = serve.control_port();
  EXPECT_EQ(call(control, http::verb::get, "/health").status, 401);
  EXPECT_EQ(call(control, http::verb::get, "/health", {}, "t0ken").status, 200);
}

TEST(ControlApiServe, ProxyApiWritesToAndClosesAConnection) {
  serve_process serve({"--control", "127.0.0.1:0"}, test_dir("proxy"));
  const auto control = serve.control_port();
  auto client = opted_in_client(serve.port_of("node-a"));
  const auto conns = call(control, http::verb::get, "/connections").as_json();
  ASSERT_EQ(conns.size(), 2U);  // node-a and node-b, node-b without connections
  std::string id;
  for (const auto& [node, ids] : conns.items()) {
    if (!ids.empty()) {
      id = ids[0].get<std::string>();
    }
  }
  ASSERT_FALSE(id.empty()) << conns.dump();
  // ">2\r\n$5\r\nhello\r\n:1\r\n" in base64.
  const auto sent =
      call(control, http::verb::post, "/send-to-client/" + id, "PjINCiQ1DQpoZWxsbw0KOjENCg==");
  EXPECT_EQ(sent.as_json()["success"], true) << sent.body;
  EXPECT_EQ(client->read_frame(), ">2\r\n$5\r\nhello\r\n:1\r\n");
  const auto intercepted = call(control, http::verb::post, "/interceptors",
                                json{{"name", "pong"},
                                     {"match", "*1\r\n$4\r\nping\r\n"},
                                     {"response", "+INTERCEPTED\r\n"},
                                     {"encoding", "raw"}}
                                    .dump());
  EXPECT_EQ(intercepted.status, 200) << intercepted.body;
  EXPECT_EQ(client->roundtrip(wire::ping), "+INTERCEPTED\r\n");
  EXPECT_EQ(call(control, http::verb::delete_, "/connections/" + id).as_json()["success"], true);
  client->read_until_closed();
  EXPECT_EQ(client->last_end(), schsim::testing::read_end::eof);
}

TEST(ControlApiServe, ReportIsWrittenOnSigterm) {
  const auto dir = test_dir("report");
  fs::remove_all(dir / "out");
  serve_process serve({"--control", "127.0.0.1:0", "--report", (dir / "out").string()}, dir);
  const auto control = serve.control_port();
  {
    auto client = opted_in_client(serve.port_of("node-a"));
    const auto verdict = call(control, http::verb::get, "/schsim/verdict");
    EXPECT_EQ(verdict.status, 200);
    EXPECT_EQ(verdict.as_json()["cases"].size(), 1U) << verdict.body;
  }
  const int rc = serve.stop();
  EXPECT_TRUE(rc == 0 || rc == 1) << rc;
  EXPECT_TRUE(fs::exists(dir / "out" / "report.json"));
  EXPECT_TRUE(fs::exists(dir / "out" / "junit.xml"));
  EXPECT_TRUE(fs::exists(dir / "out" / "index.html"));
}

}  // namespace
}  // namespace control_api_test

namespace control_api_test {
namespace {

/// One check's result in GET /schsim/verdict.
auto verdict_check(std::uint16_t control, const std::string& id) -> json {
  const auto verdict = call(control, http::verb::get, "/schsim/verdict").as_json();
  for (const auto& c : verdict["cases"][0]["checks"]) {
    if (c["id"] == id) return c;
  }
  return json::object();
}

// A MOVING the client ignores (time 1 s), with node-a holding replies 5 s from just before it.
constexpr std::string_view ignored_moving_scenario = R"([scenario]
id = "served-cut"
title = "A MOVING the client ignores, with replies held on node-a"
duration = "10s"

[topology]
start = "node-a"

[[topology.endpoint]]
name = "node-a"

[[topology.endpoint]]
name = "node-b"
state = "down"

[[step]]
id = "slow"
action = "latency"
when = { handshakes = 1, delay = "50ms" }
endpoint = "node-a"
delay = "5s"
window = "3s"

[[step]]
id = "move"
action = "moving_lifecycle"
when = { handshakes = 1, delay = "100ms" }
from = "node-a"
to = "node-b"
time = 1
)";

// Without a driver the verdict judges zero_dropped from the server's record: an INCR sent on
// a connection already told MOVING, still unanswered when node-a closes that connection at the
// end of the grace, is dropped, until the client sends it again on another connection.
TEST(ControlApiServe, VerdictJudgesACommandCutByACloseWithoutADriver) {
  const auto dir = test_dir("served-cut");
  fs::create_directories(dir);
  const auto scenario = dir / "served-cut.toml";
  std::ofstream(scenario) << ignored_moving_scenario;
  serve_process serve({scenario.string(), "--control", "127.0.0.1:0"}, dir);
  const auto control = serve.control_port();
  auto client = opted_in_client(serve.port_of("node-a"));
  const auto moving = client->read_frame();
  ASSERT_EQ(moving.rfind(">4\r\n$6\r\nMOVING\r\n", 0), 0U) << moving;
  const std::string incr = "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n";
  client->write(incr);
  client->read_until_closed();  // node-a's forced close, 1 s after the MOVING

  const auto dropped = verdict_check(control, "zero_dropped");
  EXPECT_EQ(dropped["status"], "fail") << dropped.dump(1);
  EXPECT_NE(
      dropped["summary"].get<std::string>().find("INCR counter received on connection 1 (node-a)"),
      std::string::npos)
      << dropped.dump(1);
  EXPECT_EQ(dropped["violations"], json::array({"cut_and_never_sent_again"}));

  auto again = opted_in_client(serve.port_of("node-b"));
  EXPECT_EQ(again->roundtrip(incr), ":2\r\n");  // the first INCR ran before its connection closed
  const auto resent = verdict_check(control, "zero_dropped");
  EXPECT_EQ(resent["status"], "pass") << resent.dump(1);
}

}  // namespace
}  // namespace control_api_test
