// zero_dropped without a driver (schsim serve's verdict): judged from the server's record alone,
// on hand-made timelines. A command is dropped when its connection closed before the server
// answered it, the close was the client's doing (its own close, or the server's after the
// connection was told MOVING), and the same command never came again on another connection.
#include <schsim/harness/checks.hpp>

#include <gtest/gtest.h>

#include <algorithm>

#include "support/standalone_run.hpp"

// Its own namespace: CI compiles the tests as unity builds.
namespace served_zero_dropped_test {
namespace {

using namespace schsim;
using namespace schsim::harness;
namespace tl = schsim::timeline;

using test_support::has_finding;
using test_support::run_builder;

auto figure(const verdict::check_result& r, const std::string& name) -> double {
  const auto it = std::find_if(r.figures.begin(), r.figures.end(),
                               [&](const auto& f) { return f.name == name; });
  return it != r.figures.end() ? it->value : -1;
}

/// A served session: connection 1 on node-a gets two INCRs and answers the first; the second
/// is unanswered when `by` closes the connection at 300 ms. With `moving`, the connection was
/// told MOVING at 150 ms, before the second INCR arrived.
struct served_run : run_builder {
  explicit served_run(tl::close_initiator by, bool moving) {
    driver.absent = true;
    driver.client.capabilities.clear();
    open(0, "node-a", 1);
    add(100, "node-a", 1, tl::command_received{2, {"INCR", "counter"}});
    add(101, "node-a", 1, tl::reply_written{2, false, ":1"});
    if (moving) push(150, "node-a", 1, "MOVING", 7, 2, "m");
    add(200, "node-a", 1, tl::command_received{3, {"INCR", "counter"}});
    close(300, "node-a", 1, by);
  }
};

constexpr auto server = tl::close_initiator::server;
constexpr auto client = tl::close_initiator::client;

TEST(ServedZeroDropped, AServerCloseAfterMovingCutsACommandTheClientNeverSentAgain) {
  served_run b(server, true);
  b.finish(1000);
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail) << r.summary;
  EXPECT_TRUE(has_finding(r, "INCR counter received on connection 1 (node-a) at")) << r.summary;
  EXPECT_TRUE(has_finding(r, "after the connection was told MOVING; the server closed it at"))
      << r.summary;
  EXPECT_TRUE(has_finding(r, "never sent it again")) << r.summary;
  EXPECT_EQ(figure(r, "received"), 2);
  EXPECT_EQ(figure(r, "dropped"), 1);
}

TEST(ServedZeroDropped, TheClientsOwnCloseCutsACommand) {
  served_run b(client, false);
  b.finish(1000);
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail) << r.summary;
  EXPECT_TRUE(has_finding(r, "the client closed it at")) << r.summary;
}

// As with a driver: a server's close takes the replies it had not written with it.
TEST(ServedZeroDropped, AServerCloseWithoutMovingIsTheServersDoing) {
  served_run b(server, false);
  b.finish(1000);
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "cut_by_a_close"), 1);
  EXPECT_EQ(figure(r, "cut_not_by_the_client"), 1);
}

// The client may have timed the command out; only a driver knows its timeout.
TEST(ServedZeroDropped, AClientCloseDuringAReplyDelayIsNotJudged) {
  served_run b(client, false);
  b.latency(150, "slow", 2000);
  b.finish(1000);
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "cut_not_by_the_client"), 1);
}

TEST(ServedZeroDropped, ACommandSentAgainOnAnotherConnectionIsNotDropped) {
  served_run b(server, true);
  b.open(310, "node-b", 2);
  b.add(320, "node-b", 2, tl::command_received{2, {"INCR", "counter"}});
  b.add(321, "node-b", 2, tl::reply_written{2, false, ":2"});
  b.finish(1000);
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "sent_again"), 1);
  EXPECT_EQ(figure(r, "dropped"), 0);
}

// The same arguments earlier, or on the connection that closed, cannot be a resend.
TEST(ServedZeroDropped, TheSameCommandEarlierIsNoResend) {
  served_run b(server, true);
  b.open(10, "node-b", 2);
  b.add(50, "node-b", 2, tl::command_received{2, {"INCR", "counter"}});
  b.add(51, "node-b", 2, tl::reply_written{2, false, ":1"});
  b.finish(1000);
  EXPECT_EQ(check_zero_dropped(b.input()).outcome, verdict::status::fail);
}

TEST(ServedZeroDropped, MaxErrorRateIsTheBudget) {
  served_run b(server, true);
  b.scn.expect.max_error_rate = 0.5;  // 1 of 2 received
  b.finish(1000);
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "dropped"), 1);
}

TEST(ServedZeroDropped, SubscriptionsBlockingCallsAndOpenConnectionsAreNotCuts) {
  run_builder b;
  b.driver.absent = true;
  b.open(0, "node-a", 1);
  b.add(100, "node-a", 1, tl::command_received{2, {"SUBSCRIBE", "news"}});
  b.add(110, "node-a", 1, tl::command_received{3, {"BLPOP", "jobs", "0"}});
  b.close(300, "node-a", 1, client);
  b.open(0, "node-a", 3);
  b.add(100, "node-a", 3, tl::command_received{2, {"GET", "k"}});  // still open at the end
  b.finish(1000);
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "cut_by_a_close"), 0);
}

TEST(ServedZeroDropped, NothingReceivedIsNotJudged) {
  run_builder b;
  b.driver.absent = true;
  b.open(0, "node-a", 1);
  b.finish(1000);
  EXPECT_EQ(check_zero_dropped(b.input()).outcome, verdict::status::not_judged);
}

}  // namespace
}  // namespace served_zero_dropped_test
