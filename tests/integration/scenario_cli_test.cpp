// The schsim executable's scenario commands: serve (with and without a scenario), check, list.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"
#include "support/test_client.hpp"
#include "support/timing_band.hpp"
#include <sys/wait.h>
#include <unistd.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace scenario_cli_test {
namespace {

namespace fs = std::filesystem;
using schsim::testing::child_process;
using schsim::testing::child_stderr;
using schsim::testing::loaded_machine_slack_ns;
using schsim::testing::test_client;
using namespace std::chrono_literals;

const fs::path source_dir = SCHSIM_SOURCE_DIR;

auto now_ns() -> std::int64_t {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct result {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

// Runs schsim with `args` to completion.
auto run(const std::string& args) -> result {
  result r;
  FILE* p = ::popen((std::string(SCHSIM_EXE) + " " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return r;
  }
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
    r.out.append(buf, n);
  }
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

auto temp_dir() -> fs::path {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  auto dir =
      fs::temp_directory_path() / ("schsim-" + std::to_string(::getpid()) + "-" + info->name());
  fs::create_directories(dir);
  return dir;
}

auto wait_for_file(const fs::path& p, std::chrono::milliseconds timeout) -> bool {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!fs::exists(p) && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(10ms);
  }
  return fs::exists(p);
}

auto read_json(const fs::path& p) -> nlohmann::json {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

auto read_jsonl(const fs::path& p) -> std::vector<nlohmann::json> {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

auto port_of(const nlohmann::json& endpoints, const std::string& name) -> std::uint16_t {
  for (const auto& e : endpoints["endpoints"]) {
    if (e["name"] == name) {
      return e["port"].get<std::uint16_t>();
    }
  }
  return 0;
}

auto step(const std::vector<nlohmann::json>& timeline, const std::string& id) -> nlohmann::json {
  for (const auto& e : timeline) {
    if (e.value("kind", "") == "step_executed" && e.value("step", "") == id) {
      return e;
    }
  }
  return {};
}

TEST(SchsimServe, MovingScenarioPushOnTimeAndOldEndpointClosesOnSchedule) {
  const auto dir = temp_dir();
  child_process serve(
      {SCHSIM_EXE, "serve", "moving-new-endpoint", "--seed", "11", "--exit-when-done", "--duration",
       "10s", "--endpoints-json", (dir / "endpoints.json").string(), "--timeline-jsonl",
       (dir / "timeline.jsonl").string()},
      dir / "stdout.txt", child_stderr::inherited);
  ASSERT_TRUE(wait_for_file(dir / "endpoints.json", 5s));
  const auto endpoints = read_json(dir / "endpoints.json");
  EXPECT_EQ(endpoints["seed"], 11);
  EXPECT_EQ(endpoints["scenario"], "moving-new-endpoint");
  const auto a_port = port_of(endpoints, "node-a");
  const auto b_port = port_of(endpoints, "node-b");
  ASSERT_NE(a_port, 0);

  test_client a(a_port);
  ASSERT_EQ(a.roundtrip("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n")[0], '%');
  ASSERT_EQ(a.roundtrip("*5\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n$20\r\n"
                        "moving-endpoint-type\r\n$11\r\ninternal-ip\r\n"),
            "+OK\r\n");
  const auto push = a.read_frame();
  const auto push_at = now_ns();
  a.read_until_closed();
  const auto closed_at = now_ns();
  EXPECT_EQ(serve.wait(10s), 0) << "exits cleanly when the timeline is done";

  const auto timeline = read_jsonl(dir / "timeline.jsonl");
  ASSERT_FALSE(timeline.empty());
  EXPECT_EQ(timeline[0]["kind"], "run");
  EXPECT_EQ(timeline[0]["seed"], 11);
  const auto moving = step(timeline, "move");
  const auto close = step(timeline, "move.close");
  ASSERT_FALSE(moving.is_null());
  ASSERT_FALSE(close.is_null());
  std::int64_t seq = 0;
  for (const auto& e : timeline) {
    if (e.value("kind", "") == "push_written" && e.value("name", "") == "MOVING") {
      seq = e["seq"].get<std::int64_t>();
    }
  }
  const std::string endpoint = "127.0.0.1:" + std::to_string(b_port);
  EXPECT_EQ(push, ">4\r\n$6\r\nMOVING\r\n:" + std::to_string(seq) + "\r\n:3\r\n$" +
                      std::to_string(endpoint.size()) + "\r\n" + endpoint + "\r\n");
  const auto moving_scheduled = moving["scheduled_ns"].get<std::int64_t>();
  const auto close_scheduled = close["scheduled_ns"].get<std::int64_t>();
  EXPECT_GE(push_at, moving_scheduled);
  EXPECT_LT(push_at - moving_scheduled, 5'000'000 + loaded_machine_slack_ns())
      << "the client sees the push on schedule (5 ms on an idle machine, plus the band)";
  EXPECT_EQ(close_scheduled - moving_scheduled, 3'000'000'000) << "time = 3";
  EXPECT_GE(closed_at, close_scheduled);
  EXPECT_LT(closed_at - close_scheduled, 5'000'000 + loaded_machine_slack_ns())
      << "the old endpoint closes on schedule";

  const auto out = serve.log_text();
  EXPECT_NE(out.find("node-a 127.0.0.1:" + std::to_string(a_port) + "\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("node-b " + endpoint + "\n"), std::string::npos) << out;
  fs::remove_all(dir);
}

TEST(SchsimServe, DefaultEndpointRunsUntilSigterm) {
  const auto dir = temp_dir();
  child_process serve({SCHSIM_EXE, "serve", "--endpoints-json", (dir / "endpoints.json").string()},
                      dir / "stdout.txt", child_stderr::inherited);
  ASSERT_TRUE(wait_for_file(dir / "endpoints.json", 5s));
  const auto port = port_of(read_json(dir / "endpoints.json"), "node-a");
  {
    test_client c(port);
    EXPECT_EQ(c.roundtrip("*1\r\n$4\r\nPING\r\n"), "+PONG\r\n");
  }
  EXPECT_EQ(serve.wait(300ms), -1) << "keeps running without --duration";
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(5s), 0);
  EXPECT_EQ(serve.log_text(), "node-a 127.0.0.1:" + std::to_string(port) + "\n");
  fs::remove_all(dir);
}

TEST(SchsimServe, LoopsTheTimelineUntilSigint) {
  const auto dir = temp_dir();
  {
    std::ofstream f(dir / "short.toml");
    f << R"([scenario]
id = "short"
title = "a 300 ms timeline"
duration = "300ms"
[topology]
[[topology.endpoint]]
name = "node-a"
[[step]]
at = "100ms"
action = "stall"
endpoint = "node-a"
window = "100ms"
)";
  }
  child_process serve({SCHSIM_EXE, "serve", (dir / "short.toml").string(), "--loop", "--loop-pause",
                       "100ms", "--timeline-jsonl", (dir / "timeline.jsonl").string(),
                       "--endpoints-json", (dir / "endpoints.json").string()},
                      dir / "stdout.txt", child_stderr::inherited);
  ASSERT_TRUE(wait_for_file(dir / "endpoints.json", 5s));
  std::this_thread::sleep_for(1200ms);
  serve.signal(SIGINT);
  EXPECT_EQ(serve.wait(5s), 0);
  int starts = 0;
  int steps = 0;
  for (const auto& e : read_jsonl(dir / "timeline.jsonl")) {
    if (e.value("kind", "") == "note" && e.value("text", "").starts_with("timeline started")) {
      ++starts;
    }
    steps += e.value("kind", "") == "step_executed" ? 1 : 0;
  }
  EXPECT_GE(starts, 2) << "400 ms per loop";
  EXPECT_GE(steps, 2 * 2);
  fs::remove_all(dir);
}

TEST(SchsimServe, BadScenarioExitsWithUsageError) {
  const auto r =
      run("serve " + (source_dir / "core/scenario_io/test/bad/unknown-action.toml").string());
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("unknown-action.toml:18:10: error: unknown action \"sendd\""),
            std::string::npos)
      << r.out;
  EXPECT_EQ(run("serve no-such-scenario").rc, 2);
}

TEST(SchsimCheck, EveryBuiltinScenarioPasses) {
  const auto r = run("check " + (source_dir / "scenarios").string() + "/*.toml");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(run("check -q").rc, 0) << "no files: the built-in suite";
}

TEST(SchsimCheck, EveryBadFileFailsWithItsLocation) {
  int files = 0;
  for (const auto& e : fs::directory_iterator(source_dir / "core/scenario_io/test/bad")) {
    std::ifstream in(e.path());
    std::string first;
    std::getline(in, first);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(first, m, std::regex(R"(# expect: (\d+):(\d+) .*)")));
    const auto r = run("check " + e.path().string());
    EXPECT_EQ(r.rc, 2) << e.path();
    EXPECT_NE(r.out.find(e.path().string() + ":" + m[1].str() + ":" + m[2].str() + ": error: "),
              std::string::npos)
        << r.out;
    ++files;
  }
  EXPECT_GE(files, 20);
}

TEST(SchsimList, ShowsEveryBuiltinWithItsTitle) {
  const auto r = run("list");
  EXPECT_EQ(r.rc, 0);
  for (const auto& e : fs::directory_iterator(source_dir / "scenarios")) {
    if (e.path().extension() == ".toml") {
      EXPECT_NE(r.out.find(e.path().stem().string() + " "), std::string::npos) << e.path();
    }
  }
  EXPECT_NE(r.out.find("MOVING to a new endpoint"), std::string::npos);
  const auto actions = run("list --actions");
  EXPECT_NE(actions.out.find("rolling_upgrade"), std::string::npos);
}

}  // namespace
}  // namespace scenario_cli_test
