#include <schsim/harness/checks.hpp>

#include <gtest/gtest.h>

#include <string>

#include "support/standalone_run.hpp"

// blocking_commands on hand-made timelines: a consumer whose pending BLPOP completes on the old
// connection across a MOVING passes; one that discards a popped reply, closes a connection with
// a pop on it, repeats an element, reports one the server never wrote or leaves a call
// unanswered fails with the rule it broke.

// Its own namespace: CI compiles the tests as unity builds.
namespace blocking_check_test {
namespace {

using namespace schsim;
using namespace schsim::harness;
namespace tl = schsim::timeline;

using test_support::has_finding;
using test_support::ms;
using test_support::run_builder;

/// One list, the blocker connection 2 on node-a, the producer every 100 ms from 100 ms; each
/// call sent 50 ms before the element that answers it.
struct blocking_run : run_builder {
  blocking_run() {
    scn.load.blocking = scenario::blocking_workload{1, 10, 1.0, scenario::blocking_command::blpop};
    driver.blocking.asked = true;
    driver.blocking.started = true;
    driver.blocking.at_ns = run_start_ns + 10 * ms;
    driver.client.capabilities.push_back("blocking");
  }
  static constexpr const char* key = "schsim:{blk}:0";
  static auto element(std::int64_t seq) -> std::string { return "seq:" + std::to_string(seq); }

  void pushed(std::int64_t seq, std::int64_t at_ms) {
    add(at_ms, "", 0, tl::list_pushed{key, element(seq), true});
  }
  /// Call `index` received on `conn` at at_ms - 50, served with seq at at_ms + 1.
  void popped(std::int64_t seq, std::int64_t at_ms, const std::string& ep, std::uint64_t conn,
              tl::list_popped::outcome result = tl::list_popped::outcome::written) {
    const auto index = static_cast<std::uint64_t>(100 + seq);
    add(at_ms - 50, ep, conn, tl::command_received{index, {"BLPOP", key, "1"}});
    add(at_ms + 1, ep, conn, tl::list_popped{key, element(seq), index, result});
    if (result == tl::list_popped::outcome::written) {
      add(at_ms + 1, ep, conn, tl::reply_written{index, false, "*2"});
    }
  }
  void report(std::int64_t seq, std::int64_t sent_ms, std::int64_t at_ms) {
    block_report r;
    r.key = key;
    r.element = element(seq);
    r.seq = seq;
    r.sent_ns = run_start_ns + sent_ms * ms;
    r.t_ns = run_start_ns + at_ms * ms;
    driver.blocking.reports.push_back(r);
  }
  /// seq pushed at seq * 100 ms, popped on `conn` and reported, unless `skip` says not.
  void produce(std::int64_t from, std::int64_t to, const std::string& ep, std::uint64_t conn) {
    for (auto seq = from; seq <= to; ++seq) {
      pushed(seq, seq * 100);
      popped(seq, seq * 100, ep, conn);
      report(seq, seq * 100 - 50, seq * 100 + 2);
    }
  }
};

/// The correct handoff: MOVING at 1000 ms to connections 1 and 2; the BLPOP pending on 2
/// completes there with seq 10, connection 2 closes at 1010 ms and the next calls go to
/// connection 4 on node-b.
auto moved_consumer() -> blocking_run {
  blocking_run b;
  b.open(0, "node-a", 1);
  b.open(5, "node-a", 2);
  b.produce(1, 9, "node-a", 2);
  b.moving(1000, 1, "node-b");
  b.push(1000, "node-a", 2, "MOVING", 7, 2, "m");
  b.open(1003, "node-b", 3);
  b.open(1004, "node-b", 4);
  b.produce(10, 10, "node-a", 2);
  b.close(1010, "node-a", 2);
  b.close(1010, "node-a", 1);
  b.produce(11, 29, "node-b", 4);
  b.finish(3000);
  return b;
}

TEST(BlockingCommands, PassesWhenThePendingCallCompletesOnTheOldConnection) {
  const auto b = moved_consumer();
  const auto r = check_blocking_commands(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_TRUE(r.violations.empty());
  EXPECT_EQ(test_support::figure(r, "elements_owed"), 25.0);  // pushed by 2500 ms
}

TEST(BlockingCommands, IsNotApplicableWithoutABlockingWorkload) {
  auto b = moved_consumer();
  b.scn.load.blocking.reset();
  EXPECT_EQ(check_blocking_commands(b.input()).outcome, verdict::status::skipped);
}

TEST(BlockingCommands, FailsWhenAPoppedReplyIsDiscarded) {
  auto b = moved_consumer();
  std::erase_if(b.driver.blocking.reports, [](const auto& r) { return r.seq == 10; });
  const auto r = check_blocking_commands(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "seq:10")) << r.summary;
  EXPECT_TRUE(has_finding(r, "never handed to the application")) << r.summary;
  EXPECT_FALSE(r.excerpt.empty());
}

TEST(BlockingCommands, FailsWhenTheClientClosesAConnectionWithAPopOnIt) {
  blocking_run b;
  b.open(5, "node-a", 2);
  b.produce(1, 9, "node-a", 2);
  b.pushed(10, 1000);
  b.popped(10, 1000, "node-a", 2, tl::list_popped::outcome::lost);
  b.close(1001, "node-a", 2);
  b.open(1002, "node-b", 4);
  b.produce(11, 20, "node-b", 4);
  b.finish(2600);
  const auto r = check_blocking_commands(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "when the client closed the connection")) << r.summary;
}

TEST(BlockingCommands, ExcusesAnElementLostWithAServerClose) {
  blocking_run b;
  b.open(5, "node-a", 2);
  b.produce(1, 9, "node-a", 2);
  b.pushed(10, 1000);
  b.popped(10, 1000, "node-a", 2, tl::list_popped::outcome::lost);
  b.close(1001, "node-a", 2, tl::close_initiator::server);
  b.open(1050, "node-b", 4);
  b.produce(11, 20, "node-b", 4);
  b.finish(2600);
  const auto r = check_blocking_commands(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(test_support::figure(r, "elements_excused"), 1.0);
}

/// The call popping seq 10 (sent at 950 ms, served at 1000 ms) has its reply held by a latency
/// step of `delay_ms` from 990 ms; the client gives up on it and closes the connection at
/// 2100 ms, the element lost with it.
auto held_reply(std::int64_t delay_ms) -> blocking_run {
  blocking_run b;
  b.open(5, "node-a", 2);
  b.produce(1, 9, "node-a", 2);
  b.add(1000 - 50, "node-a", 2, tl::command_received{110, {"BLPOP", blocking_run::key, "1"}});
  b.latency(990, "slow", delay_ms);
  b.pushed(10, 1000);
  b.add(2100, "node-a", 2,
        tl::list_popped{blocking_run::key, "seq:10", 110, tl::list_popped::outcome::lost});
  b.close(2100, "node-a", 2);
  b.open(2105, "node-b", 4);
  b.produce(22, 30, "node-b", 4);
  b.finish(3600);
  return b;
}

TEST(BlockingCommands, ExcusesAnElementWhoseReplyTheScenarioHeldPastTheDeadline) {
  // 50 ms waited + 2000 ms held > 1 s timeout + 500 ms normal read timeout.
  const auto r = check_blocking_commands(held_reply(2000).input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(test_support::figure(r, "elements_excused"), 1.0);
}

TEST(BlockingCommands, AReplyHeldWithinTheDeadlineExcusesNothing) {
  // 50 + 400 ms < 1500 ms: a client waiting the call's timeout plus its own would have got it.
  const auto r = check_blocking_commands(held_reply(400).input());
  EXPECT_EQ(r.outcome, verdict::status::fail) << r.summary;
  EXPECT_TRUE(has_finding(r, "seq:10")) << r.summary;
}

TEST(BlockingCommands, FailsWhenAnElementIsNeverPopped) {
  blocking_run b;
  b.open(5, "node-a", 2);
  b.produce(1, 5, "node-a", 2);
  b.pushed(6, 600);  // no call pops it
  b.finish(1500);
  const auto r = check_blocking_commands(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "never popped")) << r.summary;
}

TEST(BlockingCommands, FailsWhenAnElementIsHandedOverTwice) {
  auto b = moved_consumer();
  b.report(5, 600, 610);
  const auto r = check_blocking_commands(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "seq:5 handed to the application 2 times")) << r.summary;
}

TEST(BlockingCommands, FailsOnAnElementTheServerNeverWrote) {
  auto b = moved_consumer();
  b.report(999, 600, 610);
  const auto r = check_blocking_commands(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "\"seq:999\"")) << r.summary;
}

TEST(BlockingCommands, FailsWhenACallHangsPastItsTimeoutPlusTheRelaxedOne) {
  // Allowed: 1 s + 3 s x 1.2 + 250 ms = 4850 ms. The call sent at 950 ms is answered at 6000.
  blocking_run b;
  b.open(5, "node-a", 2);
  b.produce(1, 9, "node-a", 2);
  b.push(1000, "node-a", 2, "MOVING", 7, 2, "m");
  b.pushed(10, 6000);
  b.popped(10, 6000, "node-a", 2);
  b.report(10, 950, 6002);
  b.finish(6600);
  const auto r = check_blocking_commands(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "was answered 5052 ms later")) << r.summary;
  EXPECT_TRUE(has_finding(r, "MOVING to connection 2")) << r.summary;
}

TEST(BlockingCommands, FailsWhenACallIsStillPendingTooLongAtTheEnd) {
  blocking_run b;
  b.open(5, "node-a", 2);
  b.produce(1, 3, "node-a", 2);
  b.finish(9000);
  const auto r = check_blocking_commands(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "was still pending")) << r.summary;
}

TEST(BlockingCommands, NeverHungWhenCallsBlockForever) {
  blocking_run b;
  b.scn.load.blocking->timeout = 0;
  b.open(5, "node-a", 2);
  b.produce(1, 3, "node-a", 2);
  b.finish(9000);
  EXPECT_EQ(check_blocking_commands(b.input()).outcome, verdict::status::pass);
}

TEST(BlockingCommands, FailsWhenTheConsumerNeverStarted) {
  blocking_run b;
  b.driver.blocking.started = false;
  b.driver.blocking.error_class = "other";
  b.driver.blocking.message = "no blocking API";
  b.finish(1000);
  const auto r = check_blocking_commands(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "no blocking API")) << r.summary;
}

TEST(BlockingCommands, JudgedWheneverTheWorkloadHasIt) {
  auto b = moved_consumer();
  b.scn.expect.checks = {"handshake"};
  const auto ids = applicable_checks(b.scn);
  EXPECT_NE(std::find(ids.begin(), ids.end(), blocking_commands_id), ids.end());
  const auto caps = required_capabilities(b.scn);
  EXPECT_NE(std::find(caps.begin(), caps.end(), "blocking"), caps.end());
}

}  // namespace
}  // namespace blocking_check_test
