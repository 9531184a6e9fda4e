// control_api routing and answers, with a fake backend (no sockets).
#include <schsim/control/api.hpp>

#include <gtest/gtest.h>

#include <algorithm>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::control::api_test {
namespace {

using json = nlohmann::json;
namespace sc = schsim::scenario;

class fake_backend final : public backend {
 public:
  void run_steps(std::vector<sc::step> steps) override {
    if (refuse) {
      throw std::invalid_argument("refused");
    }
    for (auto& s : steps) {
      scheduled.push_back(std::move(s));
    }
  }
  void set_maint_notifications(bool enabled) override { maint = enabled; }
  [[nodiscard]] auto connections() const -> std::vector<client_connection> override { return open; }
  auto send_to_connection(std::uint64_t id, const std::string& bytes, const std::string&)
      -> bool override {
    if (std::ranges::find(open, id, &client_connection::id) == open.end()) {
      return false;
    }
    sent.emplace_back(id, bytes);
    return true;
  }
  auto close_connection(std::uint64_t id, const std::string&) -> bool override {
    const auto it = std::ranges::find(open, id, &client_connection::id);
    if (it == open.end()) {
      return false;
    }
    open.erase(it);
    return true;
  }
  void set_interceptors(std::vector<interceptor> list) override { interceptors = std::move(list); }
  auto verdict() -> json override { return {{"cases", json::array()}}; }

  bool refuse = false;
  bool maint = true;
  std::vector<sc::step> scheduled;
  std::vector<client_connection> open = {{1, "node-a", "127.0.0.1:50001", 0},
                                         {2, "node-b", "127.0.0.1:50002", 0}};
  std::vector<std::pair<std::uint64_t, std::string>> sent;
  std::vector<interceptor> interceptors;
};

auto two_nodes() -> deployment {
  deployment d;
  d.scenario_id = "api-test";
  d.start = "node-a";
  d.endpoints = {served_endpoint{.name = "node-a", .host = "127.0.0.1", .port = 7001},
                 served_endpoint{.name = "node-b", .host = "127.0.0.2", .port = 7001}};
  return d;
}

class ControlApi : public ::testing::Test {
 protected:
  auto call(std::string method, std::string target, std::string body = {}, std::string auth = {})
      -> std::pair<int, json> {
    const auto r = api.handle(request{std::move(method), std::move(target), std::move(body),
                                      "application/json", std::move(auth)},
                              mono_clock::now());
    return {r.status, json::parse(r.body)};
  }
  // The engine ran a step: what the live backend's recorder would report.
  void executed(const std::string& step) {
    api.observe(timeline::event{
        to_ns(mono_clock::now()), {}, 0, timeline::step_executed{step, "send", 0, ""}});
  }

  fake_backend fake;
  control_api api{fake, two_nodes()};
};

TEST_F(ControlApi, ActionRunsUntilItsLastStepThenSucceeds) {
  const auto [status, body] =
      call("POST", "/action", R"({"type":"failover","parameters":{"bdb_id":1}})");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["action_id"], "action-1");
  EXPECT_EQ(body["status"], "running");
  ASSERT_EQ(fake.scheduled.size(), 2U);
  executed("action-1");
  EXPECT_EQ(call("GET", "/action/action-1").second["status"], "running");
  executed("action-1.end");
  const auto [s2, done] = call("GET", "/action/action-1");
  EXPECT_EQ(s2, 200);
  EXPECT_EQ(done["status"], "success");
  EXPECT_TRUE(done["error"].is_null());
  EXPECT_TRUE(done["output"].is_object());
  EXPECT_EQ(done["action_id"], "action-1");
  EXPECT_TRUE(done.contains("end_time"));
}

TEST_F(ControlApi, MalformedJsonIs400NamingTheProblem) {
  const auto [status, body] = call("POST", "/action", R"({"type": "failover",)");
  EXPECT_EQ(status, 400);
  const auto text = body["error"].get<std::string>();
  EXPECT_NE(text.find("malformed JSON"), std::string::npos) << text;
  EXPECT_NE(text.find("line 1, column"), std::string::npos) << text;
  EXPECT_EQ(call("POST", "/action", "[1,2]").first, 400);
  EXPECT_EQ(call("POST", "/action", R"({"parameters":{}})").first, 400);
}

TEST_F(ControlApi, UnknownTypeIs400ListingTheKnownOnes) {
  const auto [status, body] = call("POST", "/action", R"({"type":"teleport"})");
  EXPECT_EQ(status, 400);
  const auto text = body["error"].get<std::string>();
  EXPECT_NE(text.find("teleport"), std::string::npos);
  for (const auto t : known_action_types()) {
    EXPECT_NE(text.find(t), std::string::npos) << t;
  }
  EXPECT_TRUE(fake.scheduled.empty());
}

TEST_F(ControlApi, UnknownIdIs404) {
  const auto [status, body] = call("GET", "/action/action-99");
  EXPECT_EQ(status, 404);
  EXPECT_NE(body["error"].get<std::string>().find("action-99"), std::string::npos);
}

TEST_F(ControlApi, ActionTheEngineRefusesEndsFailedWithTheReason) {
  fake.refuse = true;
  const auto [status, body] = call("POST", "/action", R"({"type":"migrate"})");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["status"], "failed");
  const auto got = call("GET", "/action/action-1").second;
  EXPECT_EQ(got["status"], "failed");
  EXPECT_NE(got["error"].get<std::string>().find("refused"), std::string::npos);
}

TEST_F(ControlApi, ActionWithoutStepsSucceedsAtOnce) {
  const auto [status, body] = call(
      "POST", "/action",
      R"({"type":"create_database","parameters":{"cluster_index":0,"database_config":{"name":"db-x"}}})");
  EXPECT_EQ(body["status"], "success");
  const auto got = call("GET", "/action/" + body["action_id"].get<std::string>()).second;
  EXPECT_EQ(got["output"]["endpoints"][0], "redis://127.0.0.1:7001");
}

TEST_F(ControlApi, ClusterConfigSwitchesTheServersPushes) {
  call(
      "POST", "/action",
      R"({"type":"update_cluster_config","parameters":{"config":{"client_maint_notifications":false}}})");
  EXPECT_FALSE(fake.maint);
  call("POST", "/action", R"({"type":"reset_cluster","parameters":{"clean_all_dbs":true}})");
  EXPECT_TRUE(fake.maint);
}

TEST_F(ControlApi, ListHealthAndProbes) {
  call("POST", "/action", R"({"type":"failover"})");
  const auto [status, list] = call("GET", "/action");
  EXPECT_EQ(status, 200);
  ASSERT_EQ(list["actions"].size(), 1U);
  EXPECT_EQ(list["actions"][0]["job_id"], "action-1");
  EXPECT_EQ(list["actions"][0]["action_type"], "failover");
  EXPECT_EQ(call("GET", "/health").first, 200);
  EXPECT_EQ(call("GET", "/actions").first, 200);
  EXPECT_EQ(call("GET", "/nope").first, 404);
}

TEST_F(ControlApi, SlotMigrateQueryFormAcceptsTriggerAndVariant) {
  const auto [status, body] = call("GET", "/slot-migrate?effect=remove-add&cluster_index=0");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["effect"], "remove-add");
  EXPECT_EQ(body["triggers"][0]["name"], "migrate");
  EXPECT_TRUE(body["triggers"][0]["requirements"][0]["dbconfig"]["oss_cluster"].get<bool>());
  EXPECT_EQ(call("GET", "/slot-migrate?effect=bogus").first, 400);
  // A standalone topology: the action exists and fails with the reason.
  const auto posted =
      call("POST", "/slot-migrate?effect=remove&bdb_id=1&cluster_index=0&variant=failover");
  EXPECT_EQ(posted.second["status"], "failed");
  const auto got = call("GET", "/action/" + posted.second["action_id"].get<std::string>()).second;
  EXPECT_EQ(got["parameters"]["trigger"], "failover");
  const auto standalone =
      call("GET", "/topology-change-standalone?effect=conn_drop&cluster_index=0");
  EXPECT_EQ(standalone.first, 200);
  const auto name = standalone.second["triggers"][0]["requirements"][0]["dbconfig"]["name"];
  EXPECT_NE(name.get<std::string>().find('-'), std::string::npos);
}

TEST_F(ControlApi, BearerTokenGuardsEveryRoute) {
  api_options options;
  options.token = "s3cret";
  control_api guarded(fake, two_nodes(), options);
  auto status_of = [&](std::string auth) {
    return guarded.handle(request{"GET", "/health", {}, {}, std::move(auth)}, mono_clock::now())
        .status;
  };
  EXPECT_EQ(status_of(""), 401);
  EXPECT_EQ(status_of("Bearer wrong"), 401);
  EXPECT_EQ(status_of("Bearer s3cret"), 200);
}

// --- cae-resp-proxy ---------------------------------------------------------------------------

TEST_F(ControlApi, ConnectionsAndStatsAreKeyedByNode) {
  const auto [s1, conns] = call("GET", "/connections");
  EXPECT_EQ(s1, 200);
  EXPECT_EQ(conns["127.0.0.1:7001@7001"], json::array({"conn_1"}));
  EXPECT_EQ(conns["127.0.0.2:7001@7001"], json::array({"conn_2"}));
  const auto [s2, stats] = call("GET", "/stats");
  const auto& node = stats["127.0.0.1:7001@7001"];
  EXPECT_EQ(node["activeConnections"], 1);
  EXPECT_EQ(node["connections"][0]["id"], "conn_1");
  EXPECT_EQ(node["connections"][0]["clientPort"], 50001);
  EXPECT_EQ(call("GET", "/nodes").second["ids"].size(), 2U);
}

TEST_F(ControlApi, SendToClientDecodesBase64ByDefaultAndRawOnRequest) {
  // "+OK\r\n" in base64.
  auto [status, result] = call("POST", "/send-to-client/conn_1", "K09LDQo=");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(result, (json{{"success", true}, {"connectionId", "conn_1"}}));
  call("POST", "/send-to-client/conn_2?encoding=raw", ">2\r\n$4\r\nping\r\n:1\r\n");
  ASSERT_EQ(fake.sent.size(), 2U);
  EXPECT_EQ(fake.sent[0].second, "+OK\r\n");
  EXPECT_EQ(fake.sent[1].second, ">2\r\n$4\r\nping\r\n:1\r\n");
  const auto missing = call("POST", "/send-to-client/conn_77", "K09LDQo=");
  EXPECT_EQ(missing.first, 200);
  EXPECT_EQ(
      missing.second,
      (json{{"success", false}, {"error", "Connection not found"}, {"connectionId", "conn_77"}}));
  EXPECT_EQ(call("POST", "/send-to-client/conn_1", "not base64!").first, 400);
}

TEST_F(ControlApi, SendToClientsDropsUnknownIdsAndSendToAllReachesEveryone) {
  const auto [status, body] =
      call("POST", "/send-to-clients?connectionIds=conn_1,conn_9&encoding=raw", "+X\r\n");
  EXPECT_EQ(status, 200);
  ASSERT_EQ(body["results"].size(), 1U);
  EXPECT_EQ(call("POST", "/send-to-clients", "K09LDQo=").first, 400);
  const auto all = call("POST", "/send-to-all-clients?encoding=raw", "+Y\r\n").second;
  EXPECT_EQ(all["results"].size(), 2U);
}

TEST_F(ControlApi, DeleteConnectionCloses) {
  EXPECT_EQ(call("DELETE", "/connections/conn_2").second,
            (json{{"success", true}, {"connectionId", "conn_2"}}));
  EXPECT_EQ(call("DELETE", "/connections/conn_2").second["success"], false);
}

TEST_F(ControlApi, InterceptorsNewestFirstSameNameReplaces) {
  const auto raw = [](std::string name, std::string match) {
    return json{{"name", name}, {"match", match}, {"response", "+OK\r\n"}, {"encoding", "raw"}}
        .dump();
  };
  EXPECT_EQ(call("POST", "/interceptors", raw("a", "*1\r\n$4\r\nPING\r\n")).first, 200);
  call("POST", "/interceptors", raw("b", "*1\r\n$4\r\nINFO\r\n"));
  call("POST", "/interceptors", raw("a", "no_match"));
  ASSERT_EQ(fake.interceptors.size(), 2U);
  EXPECT_EQ(fake.interceptors[0].name, "a");
  EXPECT_EQ(fake.interceptors[0].match, "no_match");
  EXPECT_EQ(fake.interceptors[1].name, "b");
  EXPECT_EQ(call("POST", "/interceptors", R"({"name":"x"})").first, 400);
}

}  // namespace
}  // namespace schsim::control::api_test
