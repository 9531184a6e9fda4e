#include <schsim/refclient/handoff.hpp>

#include <gtest/gtest.h>

#include "support/wire.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::handoff_planner_test {
namespace {

using namespace std::chrono_literals;
using test::notification_from_wire;

const time_point t0{std::chrono::seconds{1000}};
const address node_a{"127.0.0.1", 7001};
const address node_b{"127.0.0.1", 7002};

// MOVING seq 1, time 4, to 127.0.0.1:7002 (14 bytes) / with a RESP3 null endpoint.
constexpr std::string_view moving_to_b =
    ">4\r\n$6\r\nMOVING\r\n:1\r\n:4\r\n$14\r\n127.0.0.1:7002\r\n";
constexpr std::string_view moving_null = ">4\r\n$6\r\nMOVING\r\n:2\r\n:4\r\n_\r\n";
constexpr std::string_view moving_back_to_a =
    ">4\r\n$6\r\nMOVING\r\n:0\r\n:4\r\n$14\r\n127.0.0.1:7001\r\n";

auto moving(std::string_view wire) -> maint::moving {
  return std::get<maint::moving>(notification_from_wire(wire));
}

auto pool_at(const address& a, std::size_t n) -> std::vector<conn_view> {
  std::vector<conn_view> pool;
  for (std::size_t i = 1; i <= n; ++i) pool.push_back(conn_view{i, a, t0 - 10s, false});
  return pool;
}

auto planner(broken_set b = {}) -> handoff_planner { return handoff_planner{{node_a, b}}; }

// grace 4 s, margin min(1 s, 1 s): the client closes the old socket by t0 + 3 s.
const time_point close_by = t0 + 3s;

TEST(HandoffPlanner, MovingMovesEveryConnectionToTheSameEndpoint) {
  auto p = planner();
  auto pool = pool_at(node_a, 3);
  pool.push_back(conn_view{9, node_b, t0 - 1s, false});  // elsewhere: untouched
  const auto actions = p.on_moving(2, moving(moving_to_b), pool, t0);
  const std::vector<planner_action> expected{
      remap_target{node_a, node_b},
      start_handoff{2, node_b, 1, close_by},
      start_handoff{1, node_b, 1, close_by},
      start_handoff{3, node_b, 1, close_by},
  };
  EXPECT_EQ(actions, expected);
  EXPECT_EQ(p.dial_target(), node_b);
}

TEST(HandoffPlanner, EachConnectionsOwnCopyIsADuplicate) {
  auto p = planner();
  auto pool = pool_at(node_a, 2);
  (void)p.on_moving(1, moving(moving_to_b), pool, t0);
  pool[0].handing_off = pool[1].handing_off = true;
  const auto again = p.on_moving(2, moving(moving_to_b), pool, t0 + 1ms);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<moving_ignored>(again[0])) << again[0];
  EXPECT_NE(std::get<moving_ignored>(again[0]).why.find("duplicate"), std::string::npos);
}

TEST(HandoffPlanner, ReplayOnAConnectionAlreadyAtTheTargetIsIgnored) {
  auto p = planner();
  std::vector<conn_view> pool{conn_view{1, node_b, t0, false}};
  const auto a = p.on_moving(1, moving(moving_to_b), pool, t0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<moving_ignored>(a[0])) << a[0];
  EXPECT_EQ(p.dial_target(), node_a);
}

TEST(HandoffPlanner, ALowerSeqLaterIsNotDroppedAsStale) {
  // redis/jedis PR #4572: ordering by seq dropped a legitimate later MOVING.
  auto p = planner();
  auto pool = pool_at(node_a, 1);
  (void)p.on_moving(1, moving(moving_to_b), pool, t0);
  pool[0].endpoint = node_b;
  const auto back = p.on_moving(1, moving(moving_back_to_a), pool, t0 + 10s);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0], planner_action(remap_target{node_b, node_a}));
  EXPECT_EQ(back[1], planner_action(start_handoff{1, node_a, 0, t0 + 13s}));
}

TEST(HandoffPlanner, NewConnectionAtTheOldEndpointStillMoves) {
  auto p = planner();
  auto pool = pool_at(node_a, 1);
  (void)p.on_moving(1, moving(moving_to_b), pool, t0);
  pool[0].endpoint = node_b;
  pool.push_back(conn_view{5, node_a, t0 + 1s, false});  // e.g. opened elsewhere before the remap
  const auto a = p.on_moving(5, moving(moving_to_b), pool, t0 + 1s);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0], planner_action(start_handoff{5, node_b, 1, close_by}));
}

TEST(HandoffPlanner, NullEndpointWaitsHalfTheTimeThenReconnectsToTheDialTarget) {
  auto p = planner();
  auto pool = pool_at(node_a, 2);
  const auto first = p.on_moving(1, moving(moving_null), pool, t0);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<schedule_timer>(first[0])) << first[0];
  const auto timer = std::get<schedule_timer>(first[0]);
  EXPECT_EQ(timer.at,
            t0 + 2s);  // time 4 → 2 s, in milliseconds rather than go-redis's whole seconds
  EXPECT_EQ(p.dial_target(), node_a);
  const auto fired = p.on_timer(timer.token, pool, t0 + 2s);
  const std::vector<planner_action> expected{start_handoff{1, node_a, 2, close_by},
                                             start_handoff{2, node_a, 2, close_by}};
  EXPECT_EQ(fired, expected);
  EXPECT_TRUE(p.on_timer(timer.token, pool, t0 + 2s).empty()) << "a timer fires once";
}

TEST(HandoffPlanner, NullEndpointOddTimeUsesMilliseconds) {
  auto p = planner();
  constexpr std::string_view moving_null_15 = ">4\r\n$6\r\nMOVING\r\n:7\r\n:15\r\n_\r\n";
  const auto a = p.on_moving(1, moving(moving_null_15), pool_at(node_a, 1), t0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(std::get<schedule_timer>(a[0]).at, t0 + 7500ms);
}

TEST(HandoffPlanner, NullEndpointReplayAfterTheReconnectPointIsIgnored) {
  auto p = planner();
  auto pool = pool_at(node_a, 1);
  const auto timer = std::get<schedule_timer>(p.on_moving(1, moving(moving_null), pool, t0)[0]);
  (void)p.on_timer(timer.token, pool, t0 + 2s);
  pool.push_back(conn_view{4, node_a, t0 + 2500ms, false});  // opened after the reconnect
  const auto a = p.on_moving(4, maint::moving{2, 1, std::nullopt}, pool, t0 + 3s);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<moving_ignored>(a[0])) << a[0];
}

TEST(HandoffPlanner, ConnectionInHandoffIgnoresAnotherEvent) {
  auto p = planner();
  std::vector<conn_view> pool{conn_view{1, node_a, t0, true}};
  const auto a = p.on_moving(1, moving(moving_to_b), pool, t0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<moving_ignored>(a[0]));
}

TEST(HandoffPlanner, UnparsableEndpointIsIgnored) {
  auto p = planner();
  const auto a = p.on_moving(1, maint::moving{3, 4, "no-port"}, pool_at(node_a, 1), t0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<moving_ignored>(a[0]));
}

TEST(HandoffPlanner, ZeroTimeClosesAtOnce) {
  auto p = planner();
  const auto a = p.on_moving(1, maint::moving{3, 0, "127.0.0.1:7002"}, pool_at(node_a, 1), t0);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(std::get<start_handoff>(a[1]).close_deadline, t0);
}

TEST(HandoffPlanner, BrokenIgnoreMoving) {
  broken_set b;
  b.set(broken_mode::ignore_moving);
  auto p = planner(b);
  const auto a = p.on_moving(1, moving(moving_to_b), pool_at(node_a, 1), t0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<moving_ignored>(a[0]));
  EXPECT_EQ(p.dial_target(), node_a);
}

TEST(HandoffPlanner, BrokenIgnoreNullDelay) {
  broken_set b;
  b.set(broken_mode::ignore_null_delay);
  auto p = planner(b);
  const auto a = p.on_moving(1, moving(moving_null), pool_at(node_a, 1), t0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0], planner_action(start_handoff{1, node_a, 2, close_by}));
}

TEST(HandoffPlanner, BrokenLateReconnectStartsAfterTheGrace) {
  broken_set b;
  b.set(broken_mode::late_reconnect);
  auto p = planner(b);
  auto pool = pool_at(node_a, 1);
  const auto a = p.on_moving(1, moving(moving_to_b), pool, t0);
  ASSERT_EQ(a.size(), 2u);
  const auto timer = std::get<schedule_timer>(a[1]);
  EXPECT_EQ(timer.at, t0 + 4500ms);
  EXPECT_EQ(p.on_timer(timer.token, pool, timer.at),
            (std::vector<planner_action>{start_handoff{1, node_b, 1, close_by}}));
}

TEST(HandoffPlanner, ForgetDropsAConnection) {
  auto p = planner();
  auto pool = pool_at(node_a, 2);
  const auto timer = std::get<schedule_timer>(p.on_moving(1, moving(moving_null), pool, t0)[0]);
  p.forget(2);
  pool.pop_back();
  EXPECT_EQ(p.on_timer(timer.token, pool, t0 + 2s),
            (std::vector<planner_action>{start_handoff{1, node_a, 2, close_by}}));
}

}  // namespace
}  // namespace schsim::refclient::handoff_planner_test
