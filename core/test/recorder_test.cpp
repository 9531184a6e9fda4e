#include <schsim/core/timeline/recorder.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace recorder_test {
namespace {

using schsim::timeline::command_received;
using schsim::timeline::command_view;
using schsim::timeline::event;
using schsim::timeline::interest;
using schsim::timeline::note;
using schsim::timeline::recorder;
using schsim::timeline::reply_view;
using schsim::timeline::reply_written;
using schsim::timeline::retention;
using schsim::timeline::sink;

auto note_event(std::int64_t t, std::string text) -> event {
  return event{t, "ep", 1, note{std::move(text)}};
}

auto note_text(const event& e) -> const std::string& { return std::get<note>(e.what).text; }

constexpr int per_thread = 20'000;

/// Two threads record `per_thread` notes each at once: 20 'a's from one, 20 'b's from the other.
void record_from_two_threads(recorder& r) {
  const auto work = [&](char c) {
    for (int i = 0; i < per_thread; ++i) {
      r.record(note_event(i, std::string(20, c)));
    }
  };
  std::thread a(work, 'a');
  std::thread b(work, 'b');
  a.join();
  b.join();
}

TEST(TimelineRecorder, ObserversSeeTheStoredEventAndItStaysValid) {
  recorder r;
  std::vector<const event*> seen_by_first;
  std::vector<const event*> seen_by_second;
  r.subscribe([&](const event& e) { seen_by_first.push_back(&e); });
  r.subscribe([&](const event& e) { seen_by_second.push_back(&e); });
  constexpr int count = 5000;  // many growth steps of the store
  for (int i = 0; i < count; ++i) {
    r.record(note_event(i, "event " + std::to_string(i) + std::string(40, 'x')));
  }
  ASSERT_EQ(seen_by_first.size(), static_cast<std::size_t>(count));
  EXPECT_EQ(seen_by_first, seen_by_second);  // one stored element, no copy per observer
  // Every reference handed out earlier still reads its own event after all the growth.
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(seen_by_first[static_cast<std::size_t>(i)]->t_ns, i);
    EXPECT_EQ(note_text(*seen_by_first[static_cast<std::size_t>(i)]),
              "event " + std::to_string(i) + std::string(40, 'x'));
  }
  const auto all = r.snapshot();
  ASSERT_EQ(all.size(), static_cast<std::size_t>(count));
  EXPECT_EQ(r.size(), static_cast<std::size_t>(count));
  EXPECT_EQ(note_text(all.back()), note_text(*seen_by_first.back()));
}

TEST(TimelineRecorder, AnObserverMayRecordAndKeepsItsReference) {
  recorder r;
  std::vector<std::string> seen;
  r.subscribe([&](const event& e) {
    const std::string& text = note_text(e);
    if (text.starts_with("request")) {
      // Recording from the callback grows the store while `e` is still in use.
      for (int i = 0; i < 300; ++i) {
        r.record(note_event(e.t_ns, "reply"));
      }
    }
    seen.push_back(note_text(e));
  });
  r.record(note_event(1, "request one"));
  ASSERT_EQ(seen.size(), 301u);
  EXPECT_EQ(seen.back(), "request one");
  EXPECT_EQ(r.size(), 301u);
  const auto all = r.snapshot();
  EXPECT_EQ(note_text(all.front()), "request one");
  EXPECT_EQ(note_text(all.back()), "reply");
}

TEST(TimelineRecorder, ConcurrentRecordersWhileObserversRead) {
  recorder r;
  std::atomic<std::size_t> chars{0};
  r.subscribe([&](const event& e) { chars += note_text(e).size(); });
  record_from_two_threads(r);
  EXPECT_EQ(chars.load(), 2u * per_thread * 20);
  const auto all = r.snapshot();
  ASSERT_EQ(all.size(), 2u * per_thread);
  std::size_t from_a = 0;
  for (const auto& e : all) {
    from_a += note_text(e) == std::string(20, 'a') ? 1 : 0;
  }
  EXPECT_EQ(from_a, static_cast<std::size_t>(per_thread));
}

TEST(TimelineRecorder, ObserversOnlyKeepsNothingButEveryObserverSeesEveryEvent) {
  recorder r(retention::observers_only);
  std::vector<std::string> first;
  std::vector<std::string> second;
  r.subscribe([&](const event& e) { first.push_back(note_text(e)); });
  r.subscribe([&](const event& e) { second.push_back(note_text(e)); });
  r.record(note_event(1, "one"));
  r.record(note_event(2, "two"));
  EXPECT_EQ(first, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(second, first);
  EXPECT_TRUE(r.snapshot().empty());
  EXPECT_EQ(r.size(), 2u);  // counted, not kept
}

TEST(TimelineRecorder, ObserversOnlyWithConcurrentRecorders) {
  recorder r(retention::observers_only);
  std::atomic<std::size_t> seen{0};
  r.subscribe([&](const event& e) { seen += note_text(e).size() == 20 ? 1 : 0; });
  record_from_two_threads(r);
  EXPECT_EQ(seen.load(), 2u * per_thread);
  EXPECT_EQ(r.size(), 2u * per_thread);
  EXPECT_TRUE(r.snapshot().empty());
}

// The views a sink is handed, copied while they are valid.
struct recording_sink : sink {
  std::vector<std::string> lines;
  void on_event(const event& e) override { lines.push_back("event " + note_text(e)); }
  void on_command(const command_view& c) override {
    std::string line = "command " + std::string(c.endpoint) + " " + std::to_string(c.conn) + "#" +
                       std::to_string(c.index) + " @" + std::to_string(c.t_ns);
    for (const auto a : c.args) {
      line += " " + std::string(a);
    }
    lines.push_back(line);
  }
  void on_reply(const reply_view& r) override {
    lines.push_back("reply " + std::string(r.endpoint) + " " + std::to_string(r.conn) + "#" +
                    std::to_string(r.index) + " @" + std::to_string(r.t_ns) + " " +
                    (r.error ? "error " : "") + std::string(r.summary));
  }
};

TEST(TimelineRecorder, CommandsAndRepliesKeptCompactlyComeBackAsEventsInRecordOrder) {
  recorder r;
  const std::string long_value(300, 'v');
  const std::array<std::string_view, 3> set{"SET", "key:1", long_value};
  r.record(note_event(10, "before"));
  r.record_command(command_view{20, "node-a", 7, 0, set});
  r.record_reply(reply_view{30, "node-a", 7, 0, false, "+OK"});
  r.record(note_event(40, "between"));
  const std::array<std::string_view, 1> bad{"NOPE"};
  r.record_command(command_view{50, "node-b", 8, 3, bad});
  r.record_reply(reply_view{60, "node-b", 8, 3, true, "-ERR unknown command 'NOPE'"});
  ASSERT_EQ(r.size(), 6u);

  const auto all = r.snapshot();
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(note_text(all[0]), "before");
  const auto& cmd = std::get<command_received>(all[1].what);
  EXPECT_EQ(all[1].t_ns, 20);
  EXPECT_EQ(all[1].endpoint, "node-a");
  EXPECT_EQ(all[1].conn, 7u);
  EXPECT_EQ(cmd.index, 0u);
  EXPECT_EQ(cmd.args, (std::vector<std::string>{"SET", "key:1", std::string(128, 'v')}))
      << "each argument cut to 128 bytes";
  const auto& ok = std::get<reply_written>(all[2].what);
  EXPECT_EQ(all[2].t_ns, 30);
  EXPECT_EQ(ok.summary, "+OK");
  EXPECT_FALSE(ok.error);
  EXPECT_EQ(note_text(all[3]), "between");
  EXPECT_EQ(all[4].endpoint, "node-b");
  EXPECT_EQ(std::get<command_received>(all[4].what).args, (std::vector<std::string>{"NOPE"}));
  EXPECT_EQ(std::get<command_received>(all[4].what).index, 3u);
  const auto& err = std::get<reply_written>(all[5].what);
  EXPECT_TRUE(err.error);
  EXPECT_EQ(err.summary, "-ERR unknown command 'NOPE'");
}

TEST(TimelineRecorder, ManyCommandsKeepTheirTextAcrossArenaBlocks) {
  recorder r;
  constexpr int count = 3000;  // 3000 x 130 bytes: several 64 KiB blocks
  const std::string value(128, 'x');
  for (int i = 0; i < count; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const std::array<std::string_view, 3> args{"SET", key, value};
    r.record_command(command_view{i, "node-a", 1, static_cast<std::uint64_t>(i), args});
  }
  const auto all = r.snapshot();
  ASSERT_EQ(all.size(), static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const auto& args = std::get<command_received>(all[static_cast<std::size_t>(i)].what).args;
    ASSERT_EQ(args.size(), 3u);
    EXPECT_EQ(args[1], "key:" + std::to_string(i));
    EXPECT_EQ(args[2], value);
  }
}

TEST(TimelineRecorder, ACommandStampOlderThanTheNewestEventIsRaisedToIt) {
  recorder r;
  r.record(note_event(100, "push written"));
  const std::array<std::string_view, 1> ping{"PING"};
  r.record_command(command_view{90, "node-a", 1, 0, ping});  // read before the push was written
  r.record_reply(reply_view{95, "node-a", 1, 0, false, "+PONG"});
  r.record_reply(reply_view{120, "node-a", 1, 1, false, "+PONG"});
  const auto all = r.snapshot();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].t_ns, 100);
  EXPECT_EQ(all[2].t_ns, 100);
  EXPECT_EQ(all[3].t_ns, 120);
}

TEST(TimelineRecorder, CommandsBuildNoEventForObserversThatDoNotWantThem) {
  recorder r(retention::observers_only);
  std::vector<std::string> steps_only;
  std::vector<std::string> everything;
  r.subscribe([&](const event& e) { steps_only.push_back(schsim::timeline::kind_name(e.what)); },
              interest::no_commands);
  r.subscribe([&](const event& e) { everything.push_back(schsim::timeline::kind_name(e.what)); });
  const std::array<std::string_view, 2> get{"GET", "k"};
  r.record_command(command_view{1, "node-a", 1, 0, get});
  r.record_reply(reply_view{2, "node-a", 1, 0, false, "$-1"});
  r.record(note_event(3, "note"));
  EXPECT_EQ(steps_only, (std::vector<std::string>{"note"}));
  EXPECT_EQ(everything, (std::vector<std::string>{"command_received", "reply_written", "note"}));
  EXPECT_EQ(r.size(), 3u);
}

TEST(TimelineRecorder, ASinkGetsCommandsAndRepliesAsViewsAndOtherEventsWhole) {
  recorder r(retention::observers_only);
  auto out = std::make_shared<recording_sink>();
  const auto id = r.subscribe(out);
  const std::array<std::string_view, 2> incr{"INCR", "n"};
  r.record(note_event(1, "opened"));
  r.record_command(command_view{2, "node-a", 4, 0, incr});
  r.record_reply(reply_view{3, "node-a", 4, 0, false, ":1"});
  r.unsubscribe(id);
  r.record_command(command_view{4, "node-a", 4, 1, incr});
  EXPECT_EQ(out->lines, (std::vector<std::string>{"event opened", "command node-a 4#0 @2 INCR n",
                                                  "reply node-a 4#0 @3 :1"}));
  EXPECT_EQ(r.size(), 4u);
}

}  // namespace
}  // namespace recorder_test
