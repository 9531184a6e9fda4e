#include <schsim/refclient/relaxation.hpp>

#include <gtest/gtest.h>

#include "support/wire.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::relaxation_test {
namespace {

using namespace std::chrono_literals;
using test::notification_from_wire;

constexpr std::string_view migrating_seq2 =
    ">4\r\n$9\r\nMIGRATING\r\n:2\r\n:5\r\n$5\r\n[\"1\"]\r\n";
constexpr std::string_view migrating_seq4 =
    ">4\r\n$9\r\nMIGRATING\r\n:4\r\n:5\r\n$5\r\n[\"2\"]\r\n";
constexpr std::string_view migrated_seq3 = ">3\r\n$8\r\nMIGRATED\r\n:3\r\n$5\r\n[\"1\"]\r\n";
constexpr std::string_view migrated_seq5 = ">3\r\n$8\r\nMIGRATED\r\n:5\r\n$5\r\n[\"2\"]\r\n";
constexpr std::string_view failing_over =
    ">4\r\n$12\r\nFAILING_OVER\r\n:4\r\n:5\r\n$5\r\n[\"1\"]\r\n";
constexpr std::string_view failed_over = ">3\r\n$11\r\nFAILED_OVER\r\n:5\r\n$5\r\n[\"1\"]\r\n";
constexpr std::string_view smigrating = ">3\r\n$10\r\nSMIGRATING\r\n:6\r\n$12\r\n123,789-1000\r\n";
constexpr std::string_view smigrated =
    ">3\r\n$9\r\nSMIGRATED\r\n:7\r\n*1\r\n*3\r\n$13\r\n10.0.0.1:6379\r\n$13\r\n10.0.0.2:6380\r\n"
    "$12\r\n123,789-1000\r\n";

const time_point t0{std::chrono::seconds{1000}};

auto tracker(broken_set b = {}) -> relaxation_tracker {
  return relaxation_tracker{500ms, 3000ms, 60s, b};
}

TEST(Relaxation, MigratingRelaxesUntilMigrated) {
  auto r = tracker();
  EXPECT_EQ(r.timeout(t0), 500ms);
  EXPECT_EQ(r.on_notification(notification_from_wire(migrating_seq2), t0), relax_change::opened);
  EXPECT_TRUE(r.relaxed(t0));
  EXPECT_EQ(r.timeout(t0 + 5s), 3000ms);
  EXPECT_EQ(r.on_notification(notification_from_wire(migrated_seq3), t0 + 5s),
            relax_change::closed);
  EXPECT_FALSE(r.relaxed(t0 + 5s));
  EXPECT_EQ(r.timeout(t0 + 5s), 500ms);  // exactly the configured value, never a stale one
}

TEST(Relaxation, FailoverAndClusterWindows) {
  auto r = tracker();
  r.on_notification(notification_from_wire(failing_over), t0);
  EXPECT_EQ(r.timeout(t0), 3000ms);
  r.on_notification(notification_from_wire(failed_over), t0 + 1s);
  EXPECT_EQ(r.timeout(t0 + 1s), 500ms);
  r.on_notification(notification_from_wire(smigrating), t0 + 2s);
  EXPECT_EQ(r.timeout(t0 + 2s), 3000ms);
  r.on_notification(notification_from_wire(smigrated), t0 + 3s);
  EXPECT_EQ(r.timeout(t0 + 3s), 500ms);
}

TEST(Relaxation, NestedWindowsAreCounted) {
  auto r = tracker();
  r.on_notification(notification_from_wire(migrating_seq2), t0);
  r.on_notification(notification_from_wire(migrating_seq4), t0 + 1s);
  EXPECT_EQ(r.open_windows(t0 + 1s), 2u);
  r.on_notification(notification_from_wire(migrated_seq3), t0 + 2s);
  EXPECT_TRUE(r.relaxed(t0 + 2s)) << "one window still open";
  r.on_notification(notification_from_wire(migrated_seq5), t0 + 3s);
  EXPECT_FALSE(r.relaxed(t0 + 3s));
}

TEST(Relaxation, EndOfAnotherKindDoesNotClose) {
  auto r = tracker();
  r.on_notification(notification_from_wire(migrating_seq2), t0);
  EXPECT_EQ(r.on_notification(notification_from_wire(failed_over), t0 + 1s), relax_change::ignored);
  EXPECT_TRUE(r.relaxed(t0 + 1s));
}

TEST(Relaxation, RepeatedStartIsOneWindowAndUnmatchedEndIsHarmless) {
  auto r = tracker();
  EXPECT_EQ(r.on_notification(notification_from_wire(migrated_seq3), t0), relax_change::ignored);
  EXPECT_FALSE(r.relaxed(t0));
  r.on_notification(notification_from_wire(migrating_seq2), t0);
  EXPECT_EQ(r.on_notification(notification_from_wire(migrating_seq2), t0), relax_change::ignored);
  r.on_notification(notification_from_wire(migrated_seq3), t0 + 1s);
  EXPECT_FALSE(r.relaxed(t0 + 1s));
}

TEST(Relaxation, BackstopEndsAWindowWhoseEndIsLost) {
  auto r = tracker();
  r.on_notification(notification_from_wire(migrating_seq2), t0);
  EXPECT_EQ(r.next_change(t0), t0 + 60s);
  EXPECT_TRUE(r.relaxed(t0 + 59s));
  EXPECT_FALSE(r.relaxed(t0 + 60s));
  EXPECT_EQ(r.timeout(t0 + 61s), 500ms);
  EXPECT_EQ(r.next_change(t0 + 61s), std::nullopt);
}

TEST(Relaxation, RelaxedNeverTightens) {
  relaxation_tracker r{5000ms, 1000ms, 60s};
  r.on_notification(notification_from_wire(migrating_seq2), t0);
  EXPECT_EQ(r.timeout(t0), 5000ms);
}

TEST(Relaxation, RelaxUntilForMovingAndPostHandoff) {
  auto r = tracker();
  r.relax_until(t0 + 20s);
  EXPECT_EQ(r.timeout(t0 + 19s), 3000ms);
  EXPECT_EQ(r.next_change(t0), t0 + 20s);
  EXPECT_EQ(r.timeout(t0 + 20s), 500ms);
  r.relax_until(t0 + 10s);  // never shortens
  EXPECT_FALSE(r.relaxed(t0 + 20s));
  r.relax_until(t0 + 30s);
  EXPECT_TRUE(r.relaxed(t0 + 25s));
}

TEST(Relaxation, BrokenNoRelax) {
  broken_set b;
  b.set(broken_mode::no_relax);
  auto r = tracker(b);
  r.on_notification(notification_from_wire(migrating_seq2), t0);
  r.relax_until(t0 + 20s);
  EXPECT_EQ(r.timeout(t0 + 1s), 500ms);
}

TEST(Relaxation, BrokenRelaxForever) {
  broken_set b;
  b.set(broken_mode::relax_forever);
  auto r = tracker(b);
  r.on_notification(notification_from_wire(migrating_seq2), t0);
  r.on_notification(notification_from_wire(migrated_seq3), t0 + 1s);
  EXPECT_EQ(r.timeout(t0 + 1h), 3000ms);
  auto p = tracker(b);
  p.relax_until(t0 + 1s);
  EXPECT_TRUE(p.relaxed(t0 + 1h));
}

}  // namespace
}  // namespace schsim::refclient::relaxation_test
