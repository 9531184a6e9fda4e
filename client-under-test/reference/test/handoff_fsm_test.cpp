#include <schsim/refclient/handoff.hpp>

#include <gtest/gtest.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::handoff_fsm_test {
namespace {

using namespace std::chrono_literals;
using actions = std::vector<handoff_action>;

const time_point t0{std::chrono::seconds{1000}};
const address node_b{"127.0.0.1", 7002};
const time_point close_by = t0 + 3s;

auto fsm(broken_set b = {}) -> handoff_fsm { return handoff_fsm{{15s, 3, 500ms, b}}; }

const handoff_swap clean_swap{buffered_disposition::resume, inflight_disposition::none};

TEST(HandoffFsm, DialThenSwapOnceTheOldConnectionDrained) {
  auto h = fsm();
  EXPECT_EQ(h.start(node_b, close_by, t0), (actions{handoff_dial{node_b, 1}}));
  EXPECT_EQ(h.next_deadline(), close_by);
  EXPECT_EQ(h.on_dial_result(true, t0 + 5ms), actions{}) << "old still has commands in flight";
  EXPECT_EQ(h.on_old_drained(t0 + 20ms), (actions{clean_swap}));
  EXPECT_TRUE(h.finished());
  EXPECT_EQ(h.next_deadline(), std::nullopt);
}

TEST(HandoffFsm, DrainedBeforeTheNewConnectionIsReady) {
  auto h = fsm();
  (void)h.start(node_b, close_by, t0);
  EXPECT_EQ(h.on_old_drained(t0 + 1ms), actions{});
  EXPECT_EQ(h.on_dial_result(true, t0 + 5ms), (actions{clean_swap}));
}

TEST(HandoffFsm, DialFailuresAreRetriedAfterADelay) {
  auto h = fsm();
  (void)h.start(node_b, close_by, t0);
  (void)h.on_old_drained(t0);
  EXPECT_EQ(h.on_dial_result(false, t0 + 10ms), actions{});
  EXPECT_EQ(h.next_deadline(), t0 + 510ms);
  EXPECT_EQ(h.on_timer(t0 + 509ms), actions{}) << "spurious wake-ups are harmless";
  EXPECT_EQ(h.on_timer(t0 + 510ms), (actions{handoff_dial{node_b, 2}}));
  EXPECT_EQ(h.on_dial_result(true, t0 + 520ms), (actions{clean_swap}));
  EXPECT_EQ(h.attempts(), 2);
}

TEST(HandoffFsm, GivesUpAfterMaxRetries) {
  auto h = fsm();
  (void)h.start(node_b, t0 + 14s, t0);
  (void)h.on_dial_result(false, t0);
  EXPECT_EQ(h.on_timer(t0 + 500ms), (actions{handoff_dial{node_b, 2}}));
  (void)h.on_dial_result(false, t0 + 500ms);
  EXPECT_EQ(h.on_timer(t0 + 1s), (actions{handoff_dial{node_b, 3}}));
  const auto last = h.on_dial_result(false, t0 + 1s);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<handoff_abandon>(last[0])) << last[0];
  EXPECT_TRUE(h.finished());
}

TEST(HandoffFsm, HandoffTimeoutBoundsAHangingDial) {
  handoff_fsm h{{2s, 3, 500ms, {}}};
  (void)h.start(node_b, t0 + 10s, t0);
  EXPECT_EQ(h.next_deadline(), t0 + 2s);
  const auto a = h.on_timer(t0 + 2s);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<handoff_abandon>(a[0])) << a[0];
  EXPECT_EQ(h.on_dial_result(true, t0 + 3s), actions{}) << "a late dial result is dropped";
}

TEST(HandoffFsm, CloseDeadlineWithTheNewConnectionReadyFailsWhatIsInFlight) {
  auto h = fsm();
  (void)h.start(node_b, close_by, t0);
  (void)h.on_dial_result(true, t0 + 5ms);
  EXPECT_EQ(h.on_timer(close_by),
            (actions{handoff_swap{buffered_disposition::resume, inflight_disposition::fail}}));
}

TEST(HandoffFsm, CloseDeadlineBeforeTheNewConnectionClosesTheOldOne) {
  auto h = fsm();
  (void)h.start(node_b, close_by, t0);
  (void)h.on_dial_result(false, t0 + 2900ms);
  EXPECT_EQ(h.on_timer(close_by), (actions{handoff_close_old{}}));
  EXPECT_EQ(h.on_timer(t0 + 3400ms), (actions{handoff_dial{node_b, 2}}));
  EXPECT_EQ(h.on_dial_result(true, t0 + 3500ms), (actions{clean_swap}));
}

TEST(HandoffFsm, ServerClosingTheOldConnectionCountsAsDrained) {
  auto h = fsm();
  (void)h.start(node_b, close_by, t0);
  (void)h.on_dial_result(true, t0 + 5ms);
  EXPECT_EQ(h.on_old_drained(t0 + 1s), (actions{clean_swap}));
}

TEST(HandoffFsm, NewConnectionLostBeforeTheSwapIsRedialled) {
  auto h = fsm();
  (void)h.start(node_b, close_by, t0);
  (void)h.on_dial_result(true, t0 + 5ms);
  EXPECT_EQ(h.on_new_lost(t0 + 10ms), actions{});
  EXPECT_EQ(h.on_timer(t0 + 510ms), (actions{handoff_dial{node_b, 2}}));
}

TEST(HandoffFsm, PastCloseDeadlineAtStart) {
  auto h = fsm();
  EXPECT_EQ(h.start(node_b, t0, t0), (actions{handoff_dial{node_b, 1}, handoff_close_old{}}));
}

TEST(HandoffFsm, BrokenModesShowInTheActions) {
  broken_set resend;
  resend.set(broken_mode::resend_written);
  auto h = fsm(resend);
  (void)h.start(node_b, close_by, t0);
  EXPECT_EQ(h.on_dial_result(true, t0 + 5ms),
            (actions{handoff_swap{buffered_disposition::resume, inflight_disposition::resend}}));

  broken_set drop;
  drop.set(broken_mode::drop_buffered);
  auto d = fsm(drop);
  (void)d.start(node_b, close_by, t0);
  (void)d.on_old_drained(t0);
  EXPECT_EQ(d.on_dial_result(true, t0 + 5ms),
            (actions{handoff_swap{buffered_disposition::drop, inflight_disposition::none}}));

  broken_set skip;
  skip.set(broken_mode::skip_handoff_handshake);
  auto s = fsm(skip);
  EXPECT_EQ(s.start(node_b, close_by, t0),
            (actions{handoff_dial{node_b, 1, handshake_scope::skip}}));
}

TEST(HandoffFsm, BrokenBackoffWaitsBeforeTheFirstDial) {
  broken_set backoff;
  backoff.set(broken_mode::handoff_backoff);
  auto h = fsm(backoff);
  EXPECT_EQ(h.start(node_b, close_by, t0), actions{}) << "no dial before the backoff";
  EXPECT_EQ(h.next_deadline(), t0 + 2s);
  EXPECT_EQ(h.on_old_drained(t0 + 1ms), actions{});
  EXPECT_EQ(h.on_timer(t0 + 1999ms), actions{});
  EXPECT_EQ(h.on_timer(t0 + 2s), (actions{handoff_dial{node_b, 1}}));
  EXPECT_EQ(h.on_dial_result(true, t0 + 2005ms), (actions{clean_swap}));
}

}  // namespace
}  // namespace schsim::refclient::handoff_fsm_test
