#include <schsim/core/timeline/recorder.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace {

using schsim::timeline::event;
using schsim::timeline::note;
using schsim::timeline::recorder;
using schsim::timeline::retention;

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

}  // namespace
