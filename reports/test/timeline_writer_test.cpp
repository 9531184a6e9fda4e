#include <schsim/reports/json.hpp>
#include <schsim/reports/timeline_writer.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace timeline_writer_test {
namespace {

namespace fs = std::filesystem;
namespace tl = schsim::timeline;
using schsim::reports::jsonl_timeline_writer;
using namespace std::chrono_literals;

auto temp_file(const std::string& name) -> fs::path {
  return fs::temp_directory_path() /
         ("schsim-writer-" + std::to_string(::getpid()) + "-" + name + ".jsonl");
}

auto read_lines(const fs::path& path) -> std::vector<std::string> {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

auto json_string(std::string_view text) -> std::string {
  std::string out;
  schsim::reports::append_json_string(out, text);
  return out;
}

TEST(TimelineJsonl, StringsAreEscapedAsJsonAndInvalidUtf8Replaced) {
  EXPECT_EQ(json_string("key:1"), R"("key:1")");
  EXPECT_EQ(json_string("say \"hi\" \\ now"), R"("say \"hi\" \\ now")");
  EXPECT_EQ(json_string(std::string_view("a\r\n\t\b\f\x01\x1f", 8)),
            R"("a\r\n\t\b\f\u0001\u001f")");
  EXPECT_EQ(json_string(std::string_view("nul\0!", 5)), R"("nul\u0000!")");
  EXPECT_EQ(json_string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"")
      << "valid UTF-8 is kept as it is";
  EXPECT_EQ(json_string("\xFF"), "\"\xEF\xBF\xBD\"");
  EXPECT_EQ(json_string("a\xC3"), "\"a\xEF\xBF\xBD\"") << "truncated sequence";
  EXPECT_EQ(json_string("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"") << "overlong form";
  EXPECT_EQ(json_string("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"") << "surrogate";
  EXPECT_EQ(json_string("\x80x"), "\"\xEF\xBF\xBDx\"") << "stray continuation byte";
}

TEST(TimelineJsonl, CommandAndReplyLinesAreTheEventsJson) {
  const std::string long_arg(200, 'v');
  const std::array<std::string_view, 3> args{"SET", "key:1", long_arg};
  std::string line;
  schsim::reports::append_command_line(line, tl::command_view{1234, "node-a", 7, 2, args});
  EXPECT_EQ(line, R"({"args":["SET","key:1",")" + std::string(128, 'v') +
                      R"("],"conn":7,"endpoint":"node-a","index":2,"kind":"command_received",)"
                      R"("t_ns":1234})");
  line.clear();
  schsim::reports::append_reply_line(line,
                                     tl::reply_view{1300, "node-a", 7, 2, true, "-ERR \"x\""});
  EXPECT_EQ(line, R"({"conn":7,"endpoint":"node-a","error":true,"index":2,"kind":"reply_written",)"
                  R"("summary":"-ERR \"x\"","t_ns":1300})");
  // The same text event_to_json_line() gives for the events.
  tl::command_received cmd{2, {"SET", "key:1", std::string(128, 'v')}};
  line.clear();
  schsim::reports::append_command_line(line, tl::command_view{1234, "node-a", 7, 2, args});
  EXPECT_EQ(line, schsim::reports::event_to_json_line(tl::event{1234, "node-a", 7, cmd}));
}

TEST(TimelineJsonl, CloseWritesEverythingInRecordOrder) {
  const auto path = temp_file("close");
  tl::recorder record(tl::retention::observers_only);
  auto writer = std::make_shared<jsonl_timeline_writer>(path.string());
  writer->write_line(R"({"kind":"run"})");
  record.subscribe(writer);
  constexpr int count = 20'000;  // ~2.5 MB: passes the 1 MiB wake threshold
  for (int i = 0; i < count; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const std::array<std::string_view, 2> args{"GET", key};
    record.record_command(tl::command_view{i, "node-a", 1, static_cast<std::uint64_t>(i), args});
    record.record_reply(
        tl::reply_view{i, "node-a", 1, static_cast<std::uint64_t>(i), false, "$-1"});
  }
  record.record(tl::event{count, "", 0, tl::note{"last"}});
  EXPECT_EQ(writer->close(), "");
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u * count + 2);
  EXPECT_EQ(lines.front(), R"({"kind":"run"})");
  for (int i = 0; i < count; i += 997) {
    const auto at = static_cast<std::size_t>(1 + 2 * i);
    EXPECT_NE(lines[at].find("\"key:" + std::to_string(i) + "\""), std::string::npos) << lines[at];
    EXPECT_NE(lines[at + 1].find("\"index\":" + std::to_string(i) + ","), std::string::npos);
  }
  EXPECT_EQ(lines.back(),
            schsim::reports::event_to_json_line(tl::event{count, "", 0, tl::note{"last"}}));
  fs::remove(path);
}

TEST(TimelineJsonl, AStepIsOnDiskAtOnce) {
  const auto path = temp_file("step");
  jsonl_timeline_writer writer(path.string(), {.interval = 60s});
  const std::array<std::string_view, 1> ping{"PING"};
  writer.on_command(tl::command_view{1, "node-a", 1, 0, ping});
  EXPECT_TRUE(read_lines(path).empty()) << "buffered";
  writer.on_event(tl::event{2, "", 0, tl::step_executed{"s1", "send", 2, "to 1 connection"}});
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u) << "the step and everything before it";
  EXPECT_NE(lines[1].find(R"("step":"s1")"), std::string::npos) << lines[1];
  EXPECT_EQ(writer.close(), "");
  fs::remove(path);
}

TEST(TimelineJsonl, TheFlusherWritesWithinItsIntervalWithoutAClose) {
  const auto path = temp_file("timer");
  jsonl_timeline_writer writer(path.string(), {.interval = 50ms});
  writer.on_reply(tl::reply_view{3, "node-a", 1, 0, false, "+PONG"});
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (read_lines(path).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(read_lines(path).size(), 1u);
  EXPECT_EQ(writer.close(), "");
  fs::remove(path);
}

TEST(TimelineJsonl, AnUnwritableFileIsAClearError) {
  try {
    jsonl_timeline_writer writer("/nonexistent-dir/timeline.jsonl");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/timeline.jsonl"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace timeline_writer_test
