// `schsim serve --timeline-jsonl`: the buffered writer loses nothing on a clean stop. Every
// command the server answered before SIGTERM/SIGINT is in the file, with its reply, although
// the last ones arrive well within the writer's 100 ms flush interval.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"
#include "support/test_client.hpp"
#include <unistd.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace serve_timeline_jsonl_test {
namespace {

namespace fs = std::filesystem;
using schsim::testing::child_process;
using schsim::testing::test_client;
using namespace std::chrono_literals;

auto test_dir() -> fs::path {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  auto dir = fs::temp_directory_path() /
             ("schsim-jsonl-" + std::to_string(::getpid()) + "-" + info->name());
  fs::create_directories(dir);
  return dir;
}

auto wait_for_port(const fs::path& endpoints_json) -> std::uint16_t {
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!fs::exists(endpoints_json) && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(10ms);
  }
  std::ifstream in(endpoints_json);
  return nlohmann::json::parse(in)["endpoints"][0]["port"].get<std::uint16_t>();
}

/// `SET key:<conn>:<i> <i>` for i in [from, to), as one pipelined write, hand-written RESP.
auto pipelined_sets(int conn, int from, int to) -> std::string {
  std::string bytes;
  for (int i = from; i < to; ++i) {
    const std::string key = "key:" + std::to_string(conn) + ":" + std::to_string(i);
    const std::string value = std::to_string(i);
    bytes += "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n$" +
             std::to_string(value.size()) + "\r\n" + value + "\r\n";
  }
  return bytes;
}

struct recorded {
  std::set<std::string> commanded_keys;                      // args[1] of each SET command_received
  std::map<std::uint64_t, std::set<std::uint64_t>> replies;  // conn -> reply_written indexes
  std::size_t lines = 0;
};

auto read_timeline(const fs::path& path) -> recorded {
  recorded r;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto e = nlohmann::json::parse(line);  // a torn last line fails the test here
    ++r.lines;
    const auto kind = e.value("kind", "");
    if (kind == "command_received" && e["args"].size() == 3 && e["args"][0] == "SET") {
      r.commanded_keys.insert(e["args"][1].get<std::string>());
    } else if (kind == "reply_written") {
      r.replies[e["conn"].get<std::uint64_t>()].insert(e["index"].get<std::uint64_t>());
    }
  }
  return r;
}

void expect_every_answered_command_recorded(int signo) {
  const auto dir = test_dir();
  child_process serve({SCHSIM_EXE, "serve", "--endpoints-json", (dir / "endpoints.json").string(),
                       "--timeline-jsonl", (dir / "timeline.jsonl").string()},
                      dir / "serve.log");
  const auto port = wait_for_port(dir / "endpoints.json");
  constexpr int connections = 3;
  constexpr int per_batch = 500;
  constexpr int batches = 4;
  std::vector<std::unique_ptr<test_client>> clients;
  for (int c = 0; c < connections; ++c) {
    clients.push_back(std::make_unique<test_client>(port));
  }
  // Each batch is answered in full before the next is sent; the last batch is answered just
  // before the signal, far sooner than the writer's 100 ms flush interval.
  for (int b = 0; b < batches; ++b) {
    for (int c = 0; c < connections; ++c) {
      clients[c]->write(pipelined_sets(c, b * per_batch, (b + 1) * per_batch));
    }
    for (int c = 0; c < connections; ++c) {
      for (int i = 0; i < per_batch; ++i) {
        ASSERT_EQ(clients[c]->read_frame(), "+OK\r\n") << "connection " << c << " batch " << b;
      }
    }
  }
  serve.signal(signo);
  ASSERT_EQ(serve.wait(10s), 0) << "a clean stop";

  const auto timeline = read_timeline(dir / "timeline.jsonl");
  std::size_t missing = 0;
  for (int c = 0; c < connections; ++c) {
    for (int i = 0; i < batches * per_batch; ++i) {
      const auto key = "key:" + std::to_string(c) + ":" + std::to_string(i);
      missing += timeline.commanded_keys.count(key) == 0 ? 1 : 0;
    }
  }
  EXPECT_EQ(missing, 0u) << "answered commands missing from the file (" << timeline.lines
                         << " lines)";
  ASSERT_EQ(timeline.replies.size(), static_cast<std::size_t>(connections));
  for (const auto& [conn, indexes] : timeline.replies) {
    EXPECT_EQ(indexes.size(), static_cast<std::size_t>(batches * per_batch))
        << "replies recorded for connection " << conn;
  }
  fs::remove_all(dir);
}

TEST(ServeTimelineJsonl, SigtermLosesNoAnsweredCommand) {
  expect_every_answered_command_recorded(SIGTERM);
}

TEST(ServeTimelineJsonl, SigintLosesNoAnsweredCommand) {
  expect_every_answered_command_recorded(SIGINT);
}

}  // namespace
}  // namespace serve_timeline_jsonl_test
