// Real third-party clients against the simulator: redis-cli, redis-benchmark and node-redis.
// A missing tool skips the test, or fails it when SCHSIM_REQUIRE_TOOLS=1.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "support/sim_fixture.hpp"
#include "support/tools.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace external_clients_test {
namespace {

using namespace std::chrono_literals;
using schsim::testing::events_of;
using schsim::testing::run_process;
using schsim::testing::sim_fixture;
namespace sim = schsim::simulator;
namespace tl = schsim::timeline;

auto split_lines(const std::string& text) -> std::vector<std::string> {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    lines.push_back(line);
  }
  return lines;
}

TEST(RedisCli, MaintNotificationsOnPrintsOk) {
  SCHSIM_REQUIRE_TOOL(redis_cli, "redis-cli");
  sim_fixture f(sim_fixture::single());
  const auto r =
      run_process({redis_cli, "-3", "-h", "127.0.0.1", "-p", std::to_string(f.port()), "CLIENT",
                   "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", "internal-ip"},
                  30s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "OK\n");
  const auto maint = f.wait_for(
      [](const tl::event& e) { return std::holds_alternative<tl::maint_handshake>(e.what); });
  ASSERT_TRUE(maint);
  const auto& m = std::get<tl::maint_handshake>(maint->what);
  EXPECT_TRUE(m.accepted);
  EXPECT_EQ(m.endpoint_type, "internal-ip");
  EXPECT_EQ(m.protocol, 3);  // redis-cli -3 sent HELLO 3 first
}

TEST(RedisCli, SchOffPrintsTheOpenSourceError) {
  SCHSIM_REQUIRE_TOOL(redis_cli, "redis-cli");
  sim::endpoint_profile oss;
  oss.sch_supported = false;
  sim_fixture f(sim_fixture::single(oss));
  const auto r =
      run_process({redis_cli, "-3", "-h", "127.0.0.1", "-p", std::to_string(f.port()), "CLIENT",
                   "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", "internal-ip"},
                  30s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Not a tty, so redis-cli prints the error without its "(error) " prefix.
  EXPECT_EQ(split_lines(r.out).at(0),
            "ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.");
}

TEST(RedisBenchmark, SetGetIncrCompleteWithoutErrors) {
  SCHSIM_REQUIRE_TOOL(redis_benchmark, "redis-benchmark");
  sim_fixture f(sim_fixture::single());
  constexpr int requests = 100000;
  const auto r = run_process({redis_benchmark, "-h", "127.0.0.1", "-p", std::to_string(f.port()),
                              "-t", "set,get,incr", "-n", std::to_string(requests), "-q", "--csv"},
                             600s);
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("rror"), std::string::npos) << r.err;
  std::vector<std::string> tests;
  for (const auto& line : split_lines(r.out)) {
    if (line.empty() || line.starts_with("\"test\"")) {
      continue;
    }
    // "SET","98039.22",...
    const auto comma = line.find(',');
    ASSERT_NE(comma, std::string::npos) << line;
    tests.push_back(line.substr(1, comma - 2));
    const auto rest = line.substr(comma + 2);
    EXPECT_GT(std::stod(rest.substr(0, rest.find('"'))), 0.0) << line;
  }
  EXPECT_EQ(tests, (std::vector<std::string>{"SET", "GET", "INCR"})) << r.out;
  // Every INCR was applied exactly once on the server side.
  const auto counter = f.call([](sim::server& s) -> std::string {
    const auto* v = s.data().get(0, "counter:__rand_int__", schsim::mono_clock::now());
    return v != nullptr ? *v : std::string("(missing)");
  });
  EXPECT_EQ(counter, std::to_string(requests));
  // redis-benchmark's startup probe.
  bool saw_config_get = false;
  for (const auto& c : events_of<tl::command_received>(f.events())) {
    saw_config_get = saw_config_get || (c.args.size() == 3 && c.args[0] == "CONFIG");
  }
  EXPECT_TRUE(saw_config_get);
}

TEST(NodeRedis, Resp3MaintEnabledSetGetIncr) {
  SCHSIM_REQUIRE_TOOL(node, "node");
  const std::filesystem::path project = std::filesystem::path(SCHSIM_SOURCE_DIR) / "tests" / "node";
  if (!std::filesystem::exists(project / "node_modules" / "redis")) {
    if (schsim::testing::tools_required()) {
      FAIL() << "node-redis is not installed: run `npm ci` in " << project;
    }
    GTEST_SKIP() << "node-redis is not installed: run `npm ci` in " << project;
  }
  sim_fixture f(sim_fixture::single());
  const auto r = run_process({node, (project / "smoke.mjs").string(), std::to_string(f.port())},
                             60s, project.string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\"ok\":true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"set\":\"OK\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"get\":\"node-value\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"incr\":[1,2,3,4,5]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"errors\":[]"), std::string::npos) << r.out;

  const auto events = f.events();
  const auto hellos = events_of<tl::hello>(events);
  ASSERT_FALSE(hellos.empty());
  EXPECT_EQ(hellos[0].protover, 3);
  EXPECT_TRUE(hellos[0].accepted);
  const auto maints = events_of<tl::maint_handshake>(events);
  ASSERT_EQ(maints.size(), 1u);
  EXPECT_TRUE(maints[0].enable);
  EXPECT_TRUE(maints[0].accepted);
  // node-redis resolves loopback to external-ip (sch-protocol.md §10).
  EXPECT_EQ(maints[0].endpoint_type, "external-ip");
  EXPECT_EQ(maints[0].protocol, 3);
  bool saw_lib_name = false;
  for (const auto& c : events_of<tl::command_received>(events)) {
    saw_lib_name = saw_lib_name || (c.args.size() == 4 && c.args[1] == "SETINFO" &&
                                    c.args[2] == "LIB-NAME" && c.args[3].starts_with("node-redis"));
  }
  EXPECT_TRUE(saw_lib_name);
}

}  // namespace
}  // namespace external_clients_test
