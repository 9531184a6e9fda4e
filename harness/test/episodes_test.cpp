// The episode layer on hand-made runs: what each check judges is built once, correctly.
#include "../src/episodes.hpp"

#include <gtest/gtest.h>

#include "support/standalone_run.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace episodes_test {
namespace {

using namespace schsim;
using namespace schsim::harness;
namespace tl = schsim::timeline;

using test_support::good_handoff;
using test_support::ms;
using test_support::standalone_t0;

TEST(Episodes, MovingEpisodeFollowsTheHandoff) {
  const auto b = good_handoff();
  const auto ep = detail::build_episodes(b.input());
  ASSERT_EQ(ep.movings.size(), 1U);
  const auto& m = ep.movings[0];
  EXPECT_EQ(m.seq, 7);
  EXPECT_EQ(m.at, standalone_t0 + 1000 * ms);
  EXPECT_EQ(m.destination(), "node-b");
  EXPECT_EQ(m.conns, (std::set<std::uint64_t>{1}));
  ASSERT_EQ(m.fresh.size(), 1U);
  EXPECT_EQ(m.fresh[0]->id, 2U);
  EXPECT_EQ(m.ready_at, standalone_t0 + 1006 * ms);  // the maintenance opt-in answered
  EXPECT_EQ(m.moved_at, standalone_t0 + 1010 * ms);
  EXPECT_TRUE(m.traffic_after);
  EXPECT_EQ(m.handoffs, 1U);
  EXPECT_EQ(m.handoffs_allowed, 1U);
  EXPECT_EQ(m.forced_close_at, standalone_t0 + 3000 * ms);  // no lifecycle: the grace's end
}

TEST(Episodes, CommandEpisodesTieResultsToExecutions) {
  auto b = good_handoff();
  b.add(1011, "node-b", 2, tl::command_received{99, {"INCR", "schsim:ctr:2"}});
  const auto ep = detail::build_episodes(b.input());
  ASSERT_EQ(ep.commands.size(), 4U);
  EXPECT_EQ(ep.commands[0].identity, "incr:1");
  EXPECT_EQ(ep.commands[0].executions.size(), 1U);
  EXPECT_EQ(ep.commands[1].executions.size(), 2U);  // on node-a and again on node-b
  EXPECT_EQ(ep.commands[1].executions[1]->endpoint, "node-b");
}

TEST(Episodes, MaintenanceWindowsPairOpeningAndClosing) {
  auto b = good_handoff();
  b.push(1500, "node-b", 2, "MIGRATING", 8, 1, "w");
  b.push(2500, "node-b", 2, "MIGRATED", 9, std::nullopt, "w2");
  b.push(3000, "node-b", 2, "FAILING_OVER", 10, 1, "f");
  const auto ep = detail::build_episodes(b.input());
  ASSERT_EQ(ep.windows.size(), 2U);
  EXPECT_EQ(ep.windows[0].label, "MIGRATING seq 8 .. MIGRATED seq 9");
  EXPECT_EQ(ep.windows[0].end, standalone_t0 + 2500 * ms);
  EXPECT_EQ(ep.windows[1].label, "FAILING_OVER seq 10 (never closed)");
  EXPECT_FALSE(ep.windows[1].end);
}

}  // namespace
}  // namespace episodes_test
