#include <schsim/harness/checks.hpp>

#include <gtest/gtest.h>

#include <algorithm>

#include "support/standalone_run.hpp"

// Checks on hand-made timelines: each check passes on a correct run and fails on the bug it is
// meant to catch.

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace checks_test {
namespace {

using namespace schsim;
using namespace schsim::harness;
namespace tl = schsim::timeline;
using std::chrono::milliseconds;

using test_support::figure;
using test_support::good_handoff;
using test_support::has_finding;
using test_support::ms;
using test_support::run_builder;

// --------------------------------------------------------------------------------- zero_dropped

TEST(ZeroDropped, PassesWhenEveryCommandRanOnce) {
  const auto b = good_handoff();
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "succeeded"), 4.0);
  EXPECT_EQ(figure(r, "tracked_on_server"), 4.0);
}

TEST(ZeroDropped, FailsOnACommandExecutedOnBothEndpoints) {
  auto b = good_handoff();
  // resend-written: #2 was written to the old connection and sent again on the new one.
  b.add(1011, "node-b", 2, tl::command_received{99, {"INCR", "schsim:ctr:2"}});
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "executed 2 times (on both the old and the new endpoint)"))
      << r.summary;
  EXPECT_FALSE(r.excerpt.empty());
}

TEST(ZeroDropped, FailsOnACommandThatFailed) {
  auto b = good_handoff();
  // drop-buffered: a command held during the handoff is failed instead of resumed.
  b.incr(5, 1002, "", 0, 3, false, "connection");
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "#5 INCR schsim:ctr:5 failed")) << r.summary;
}

TEST(ZeroDropped, FailsOnAMissingResultAndOnAPhantomSuccess) {
  auto b = good_handoff();
  b.driver.commands[0].completed = false;
  b.driver.commands.push_back(b.driver.commands[1]);
  b.driver.commands.back().id = 50;
  b.driver.commands.back().args = {"INCR", "schsim:ctr:50"};
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "#1 INCR schsim:ctr:1 got no result"));
  EXPECT_TRUE(has_finding(r, "#50 INCR schsim:ctr:50 reported ok (1) but the server never"));
}

/// The server's reply to INCR #4 (index 14 on node-b #2) in the good handoff.
auto reply_to_incr4(run_builder& b) -> tl::event& {
  const auto it = std::find_if(b.events.begin(), b.events.end(), [](const tl::event& e) {
    const auto* r = std::get_if<tl::reply_written>(&e.what);
    return r != nullptr && r->index == 14;
  });
  EXPECT_NE(it, b.events.end());
  return *it;
}

TEST(ZeroDropped, CounterAboveOneIsADuplicate) {
  auto b = good_handoff();
  b.driver.commands[3].reply = "2";
  std::get<tl::reply_written>(reply_to_incr4(b).what).summary = ":2";
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "replied 2 (server: :2)")) << r.summary;
  EXPECT_EQ(figure(r, "executed_more_than_once"), 1.0);
}

TEST(ZeroDropped, AReplyTheServerDidNotSendIsAMismatchNotADuplicate) {
  // Executed once and answered :1, yet the client reported 2 (a frame taken from elsewhere).
  auto b = good_handoff();
  b.driver.commands[3].reply = "2";
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r,
                          "#4 INCR schsim:ctr:4 reported reply 2 but the server executed it "
                          "once"))
      << r.summary;
  EXPECT_EQ(figure(r, "reply_mismatch"), 1.0);
  EXPECT_EQ(figure(r, "executed_more_than_once"), 0.0);
}

TEST(ZeroDropped, APhantomIsNotAlsoADuplicate) {
  auto b = good_handoff();
  b.driver.commands.push_back(b.driver.commands[1]);
  b.driver.commands.back().id = 50;
  b.driver.commands.back().args = {"INCR", "schsim:ctr:50"};
  b.driver.commands.back().reply = "3";
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_EQ(figure(r, "ok_but_never_executed"), 1.0);
  EXPECT_EQ(figure(r, "executed_more_than_once"), 0.0);
}

TEST(ZeroDropped, AnOkTheServerNeverAnsweredIsAFalseReport) {
  auto b = good_handoff();
  std::get<tl::reply_written>(reply_to_incr4(b).what).index = 999;  // no reply to #4
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r,
                          "#4 INCR schsim:ctr:4 reported ok (1) at +1501.0 ms but the server "
                          "never wrote a reply to it"))
      << r.summary;
  EXPECT_EQ(figure(r, "ok_before_server_reply"), 1.0);
}

TEST(ZeroDropped, AnOkBeforeTheServerRepliedIsAFalseReport) {
  auto b = good_handoff();
  reply_to_incr4(b).t_ns += 400 * ms;
  auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "400.0 ms before the server wrote its reply")) << r.summary;
  // Within the write stamp's slack: a true report.
  reply_to_incr4(b).t_ns -= 350 * ms;
  r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
}

TEST(ZeroDropped, ErrorBudgetAllowsFailuresButNeverDuplicates) {
  auto b = good_handoff();
  b.incr(5, 1002, "", 0, 3, false, "connection");
  b.scn.expect.max_error_rate = 0.25;
  EXPECT_EQ(check_zero_dropped(b.input()).outcome, verdict::status::pass);
  b.add(1011, "node-b", 2, tl::command_received{99, {"INCR", "schsim:ctr:2"}});
  EXPECT_EQ(check_zero_dropped(b.input()).outcome, verdict::status::fail);
}

/// A drop after a slow window (cloud-relaxed-only): replies on node-a are delayed 400 ms from
/// 1000 ms, and the server closes connection #1 at 1300 ms with the replies of #2 and #3 still
/// held; the client reconnects and goes on.
auto drop_with_held_replies() -> run_builder {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.latency(1000, "slow", 400);
  b.incr(2, 1100, "node-a", 1, 200, false, "connection");
  b.incr(3, 1200, "node-a", 1, 100, false, "connection");
  b.close(1300, "node-a", 1, tl::close_initiator::server);
  b.open(1310, "node-a", 2);
  b.incr(4, 1320, "node-a", 2);
  b.finish(2000);
  return b;
}

TEST(ZeroDropped, RepliesLostWithTheServersCloseAreNotDropped) {
  const auto b = drop_with_held_replies();
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "failed_on_purpose"), 2.0);
  EXPECT_EQ(figure(r, "failed"), 0.0);
}

TEST(ZeroDropped, ACommandThatNeverReachedTheServerIsDroppedAtAClose) {
  auto b = drop_with_held_replies();
  // Sent just before the close but never received: the client can resend it safely.
  b.incr(5, 1295, "", 0, 5, false, "connection");
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "#5 INCR schsim:ctr:5 failed")) << r.summary;
  EXPECT_EQ(figure(r, "failed_on_purpose"), 2.0);
}

// Item 20: one rule for every command type. A GET carries no identity, but its receipt (same
// arguments, while it was in flight) shows it was cut by the server's close like an INCR.
TEST(ZeroDropped, AGetWhoseReplyWasLostWithTheServersCloseIsNotDropped) {
  auto b = drop_with_held_replies();
  b.add(1250, "node-a", 1, tl::command_received{40, {"GET", "schsim:k:7"}});
  b.outcome(30, {"GET", "schsim:k:7"}, 1250, 1301, false, "connection");
  auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "failed_on_purpose"), 3.0);
  // Never received and sent long before the close: a drop, whatever the command.
  b.events.pop_back();
  b.driver.commands.back().sent_ns -= 200 * ms;
  r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail) << r.summary;
  EXPECT_TRUE(has_finding(r, "#30 GET schsim:k:7 failed"));
}

// Item 19: a command handed to the client within 1 ms of the server's close crossed the FIN:
// the client had not read it and cannot know whether the server read the command.
TEST(ZeroDropped, ACommandThatCrossedTheServersFinIsNotDropped) {
  for (const std::int64_t sent : {1299, 1300, 1301}) {
    auto b = drop_with_held_replies();
    b.incr(5, sent, "", 0, 4, false, "connection");
    const auto r = check_zero_dropped(b.input());
    EXPECT_EQ(r.outcome, verdict::status::pass) << sent << ": " << r.summary;
    EXPECT_EQ(figure(r, "failed_on_purpose"), 3.0) << sent;
  }
  auto b = drop_with_held_replies();
  b.incr(5, 1302, "", 0, 4, false, "connection");  // 2 ms after: the client could have known
  EXPECT_EQ(check_zero_dropped(b.input()).outcome, verdict::status::fail);
  b = drop_with_held_replies();
  b.moving(1050, 1, "node-b");  // told MOVING: the client should have left the connection
  b.incr(5, 1300, "", 0, 4, false, "connection");
  EXPECT_TRUE(has_finding(check_zero_dropped(b.input()), "#5 INCR schsim:ctr:5 failed"));
}

TEST(ZeroDropped, RepliesLostOnAConnectionToldMovingAreDropped) {
  auto b = drop_with_held_replies();
  // MOVING reached #1 before #2 and #3 did: a client that heeds it sends them elsewhere.
  b.moving(1050, 1, "node-b");
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "#2 INCR schsim:ctr:2 failed")) << r.summary;
  EXPECT_TRUE(has_finding(r, "#3 INCR schsim:ctr:3 failed"));
}

TEST(ZeroDropped, RepliesLostWhenTheClientClosesAreDropped) {
  auto b = drop_with_held_replies();
  for (auto& e : b.events) {
    if (auto* closed = std::get_if<tl::connection_closed>(&e.what)) {
      closed->by = tl::close_initiator::client;
    }
  }
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail) << r.summary;
}

// ------------------------------------------------------------------------------------ handshake

TEST(Handshake, PassesOnEveryConnectionIncludingTheHandoff) {
  const auto b = good_handoff();
  const auto r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "connections_judged"), 2.0);
}

TEST(Handshake, FailsWhenTheHandoffConnectionSkipsIt) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.moving(1000, 1, "node-b");
  b.add(1005, "node-b", 2, tl::connection_opened{"127.0.0.1:50002"});
  b.incr(2, 1010, "node-b", 2);
  const auto r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "#2 to node-b")) << r.summary;
  EXPECT_TRUE(has_finding(r, "no HELLO 3"));
  EXPECT_TRUE(has_finding(r, "no CLIENT MAINT_NOTIFICATIONS ON"));
}

// A reconnect whose HELLO reply the server held (reply latency) past the client's timeout: the
// client closed it before it could opt in, and sent no command on it (found by schsim explore
// against the correct reference client: a RST close during a latency window).
TEST(Handshake, AConnectionGivenUpWhileItsHelloWasUnansweredIsNotJudged) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.add(1000, "node-a", 2, tl::connection_opened{"127.0.0.1:50002"});
  b.add(1000, "node-a", 2, tl::command_received{0, {"HELLO", "3"}});
  b.add(1000, "node-a", 2, tl::hello{3, true, "", ""});
  b.close(1500, "node-a", 2);
  b.open(1600, "node-a", 3);
  b.incr(2, 1700, "node-a", 3);
  const auto r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  // Once it carried a command, the same connection is judged.
  b.incr(3, 1200, "node-a", 2, 1, false, "timeout");
  EXPECT_EQ(check_handshake(b.input()).outcome, verdict::status::fail);
}

TEST(Handshake, FailsOnASilentConnectionTheClientLeftOpen) {
  auto b = good_handoff();
  // A reconnect that opened a socket to node-b and never said a word.
  b.add(2000, "node-b", 9, tl::connection_opened{"127.0.0.1:50009"});
  auto r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r,
                          "#9 to node-b (opened +2000.0 ms): sent nothing (no HELLO, no "
                          "command) and was still open at the end"))
      << r.summary;
  // Closed by the client at once: a given-up dial, fine.
  b.close(2005, "node-b", 9);
  r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
}

TEST(Handshake, FailsOnTheWrongEndpointType) {
  run_builder b;
  b.scn.client.moving_endpoint_type = scenario::endpoint_type::external_fqdn;
  b.open(0, "node-a", 1, "internal-ip");
  b.incr(1, 100, "node-a", 1);
  const auto r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "moving-endpoint-type \"internal-ip\", expected \"external-fqdn\""))
      << r.summary;
}

TEST(Handshake, NothingMaySentOnResp2) {
  run_builder b;
  b.scn.client.protocol = 2;
  b.add(0, "node-a", 1, tl::connection_opened{"p"});
  b.add(1, "node-a", 1,
        tl::command_received{
            0, {"CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", "internal-ip"}});
  b.add(1, "node-a", 1, tl::maint_handshake{true, "internal-ip", false, "ERR", 2});
  b.incr(1, 100, "node-a", 1);
  const auto r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "must not (RESP2 client)")) << r.summary;
}

TEST(Handshake, AutoModeIsSilentOnAServerWithoutSch) {
  run_builder b;
  b.scn.topo.endpoints[0].sch = false;
  b.add(0, "node-a", 1, tl::connection_opened{"p"});
  b.add(0, "node-a", 1, tl::command_received{0, {"HELLO", "3"}});
  b.add(0, "node-a", 1, tl::hello{3, true, "", ""});
  b.add(1, "node-a", 1,
        tl::command_received{
            1, {"CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", "internal-ip"}});
  b.add(1, "node-a", 1,
        tl::maint_handshake{true, "internal-ip", false, "ERR unknown subcommand", 3});
  b.incr(1, 100, "node-a", 1);
  EXPECT_EQ(check_handshake(b.input()).outcome, verdict::status::pass);
  // The same client failing its connect is not silent.
  b.driver.connect = connect_result::failed;
  b.driver.connect_error_class = "handshake";
  const auto r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "connect failed (handshake"));
}

TEST(Handshake, EnabledModeMustFailOnAServerWithoutSch) {
  run_builder b;
  b.scn.topo.endpoints[0].sch = false;
  b.scn.client.mode = scenario::sch_mode::enabled;
  b.scn.expect.connect = scenario::connect_outcome::fails;
  b.add(0, "node-a", 1, tl::connection_opened{"p"});
  b.add(0, "node-a", 1, tl::command_received{0, {"HELLO", "3"}});
  b.add(0, "node-a", 1, tl::hello{3, true, "", ""});
  b.add(1, "node-a", 1, tl::command_received{1, {"CLIENT", "MAINT_NOTIFICATIONS", "ON"}});
  b.add(1, "node-a", 1, tl::maint_handshake{true, std::nullopt, false, "ERR", 3});
  b.add(2, "node-a", 1, tl::connection_closed{tl::close_initiator::client, tl::close_how::fin, ""});
  b.scn.client.moving_endpoint_type = scenario::endpoint_type::automatic;
  b.driver.connect = connect_result::connected;
  auto r = check_handshake(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "connect succeeded but must fail")) << r.summary;
  EXPECT_TRUE(has_finding(r, "(none: bare ON)"));
}

// ---------------------------------------------------------------------------- timeout_relaxation

/// MIGRATING at 1000 ms, MIGRATED at 3000 ms; replies on node-a delayed 1500 ms from 1500 to
/// 2500 ms (inside) and from 5000 to 7000 ms (after the window + post-handoff 1000 ms).
auto relaxation_run(bool relaxed_inside_ok, bool times_out_after, std::int64_t gave_up_after_ms)
    -> run_builder {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.notify(1000, "g", maint::migrating{3, 1, {"1"}});
  b.latency(1500, "g.latency", 1500);
  if (relaxed_inside_ok) {
    b.incr(2, 1600, "node-a", 1, 1502);
  } else {
    b.incr(2, 1600, "node-a", 1, 503, false, "timeout");
  }
  b.latency(2500, "g.latency_end", 0);
  b.notify(3000, "g.end", maint::migrated{4, {"1"}});
  b.latency(5000, "late", 1500);
  if (times_out_after) {
    b.incr(3, 5100, "node-a", 1, gave_up_after_ms, false, "timeout");
    b.close(5100 + gave_up_after_ms, "node-a", 1);
    b.open(5700, "node-a", 2);
  } else {
    b.incr(3, 5100, "node-a", 1, 1501);
  }
  b.latency(7000, "late.end", 0);
  b.finish(8000);
  return b;
}

TEST(TimeoutRelaxation, PassesWhenRelaxedInsideAndRestoredAfter) {
  const auto b = relaxation_run(true, true, 520);
  const auto r = check_timeout_relaxation(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "relaxed_successes"), 1.0);
  EXPECT_EQ(figure(r, "normal_timeouts"), 1.0);
  // The timeout on purpose is not a dropped command.
  EXPECT_EQ(check_zero_dropped(b.input()).outcome, verdict::status::pass);
}

TEST(TimeoutRelaxation, FailsWhenNeverRelaxed) {
  const auto b = relaxation_run(false, true, 520);
  const auto r = check_timeout_relaxation(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "#2 INCR schsim:ctr:2")) << r.summary;
  EXPECT_TRUE(has_finding(r,
                          "inside a maintenance window, but the relaxed timeout 3000 ms "
                          "(client.relaxed_timeout)"));
}

TEST(TimeoutRelaxation, FailsWhenRelaxedForever) {
  const auto b = relaxation_run(true, false, 0);
  const auto r = check_timeout_relaxation(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r,
                          "succeeded after 1501.0 ms outside any window, but the normal "
                          "timeout 500 ms (client.timeout)"))
      << r.summary;
}

// Item 20: a GET is judged by its delay as an INCR is. Inside the window a 1500 ms delay is
// below the relaxed timeout, so a GET that timed out after 503 ms was not provoked (it used to
// be excused merely for being sent while replies were delayed, where an INCR counted).
TEST(ZeroDropped, AGetThatTimedOutWhereItShouldHaveWaitedCountsLikeAnIncr) {
  auto b = relaxation_run(true, true, 520);
  b.add(1600, "node-a", 1, tl::command_received{50, {"GET", "schsim:key:9"}});
  b.add(3100, "node-a", 1, tl::reply_written{50, false, "$-1"});
  b.outcome(20, {"GET", "schsim:key:9"}, 1600, 2103, false, "timeout");
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail) << r.summary;
  EXPECT_TRUE(has_finding(r, "#20 GET schsim:key:9 failed")) << r.summary;
  const auto relax = check_timeout_relaxation(b.input());
  EXPECT_EQ(relax.outcome, verdict::status::fail) << relax.summary;
  EXPECT_TRUE(has_finding(relax, "#20 GET schsim:key:9")) << relax.summary;
}

/// Replies on node-a delayed 1500 ms from 500 ms; a command sent at 600 ms, outside any window,
/// succeeds after 1502 ms; MIGRATING arrives `migrating_at` ms in.
auto window_opens_while_waiting(std::int64_t migrating_at) -> run_builder {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.latency(500, "slow", 1500);
  b.incr(2, 600, "node-a", 1, 1502);
  b.notify(migrating_at, "g", maint::migrating{3, 1, {"1"}});
  b.latency(2500, "slow.end", 0);
  b.finish(4000);
  return b;
}

// The client relaxed the command it was already waiting for when the window opened (found by
// schsim explore against the correct reference client): not a failure.
TEST(TimeoutRelaxation, AWindowOpeningBeforeTheTimeoutRanOutMakesTheWaitUnjudged) {
  const auto b = window_opens_while_waiting(800);
  const auto r = check_timeout_relaxation(b.input());
  EXPECT_NE(r.outcome, verdict::status::fail) << r.summary;
  EXPECT_FALSE(has_finding(r, "#2 INCR")) << r.summary;
}

// Once the normal timeout (500 ms, +20%) has run out, a window opening later does not excuse it.
TEST(TimeoutRelaxation, AWindowOpeningAfterTheTimeoutRanOutExcusesNothing) {
  const auto b = window_opens_while_waiting(1300);
  const auto r = check_timeout_relaxation(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail) << r.summary;
  EXPECT_TRUE(has_finding(r, "succeeded after 1502.0 ms outside any window")) << r.summary;
}

// MIGRATING at 1000 ms, MIGRATED at 1400 ms; a command sent at 1100 ms waits for a reply held
// 1500 ms: the window closed while it waited, and the client restored its normal timeout
// (500 ms) for it. Found by schsim explore against the correct reference client.
TEST(TimeoutRelaxation, AWindowClosingWhileTheCommandWaitsMakesTheWaitUnjudged) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.notify(1000, "g", maint::migrating{3, 1, {"1"}});
  b.latency(1000, "g.latency", 1500);
  b.incr(2, 1100, "node-a", 1, 500, false, "timeout");
  b.notify(1400, "g.end", maint::migrated{4, {"1"}});
  b.latency(1400, "g.latency_end", 0);
  b.finish(4000);
  const auto r = check_timeout_relaxation(b.input());
  EXPECT_FALSE(has_finding(r, "#2 INCR")) << r.summary;
  EXPECT_NE(r.outcome, verdict::status::fail) << r.summary;
}

// Two MIGRATINGs (1000 ms, 1200 ms), the first MIGRATED at 1500 ms, the second at 3500 ms: a
// client that still counts the second window as open after the first MIGRATED waits 1500 ms
// for a command sent at 2000 ms. Not judged: which window a MIGRATED closes is not defined.
TEST(TimeoutRelaxation, AfterOverlappingWindowsTheGapToTheLastClosingIsUnjudged) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  for (const auto& [at, seq] : {std::pair{1000, 3}, std::pair{1200, 4}}) {
    b.notify(at, "m" + std::to_string(seq), maint::migrating{seq, 1, {"1"}});
  }
  b.push(1500, "node-a", 1, "MIGRATED", 5, std::nullopt, "m3.end");
  b.latency(1900, "slow", 1500);
  b.incr(2, 2000, "node-a", 1, 1502);
  b.latency(3600, "slow.end", 0);
  b.push(3500, "node-a", 1, "MIGRATED", 6, std::nullopt, "m4.end");
  b.finish(5000);
  const auto r = check_timeout_relaxation(b.input());
  EXPECT_FALSE(has_finding(r, "#2 INCR")) << r.summary;
}

// MIGRATED ends the MIGRATING window only: FAILING_OVER stays open until FAILED_OVER, so a
// command that times out at the normal timeout in between was not relaxed.
TEST(TimeoutRelaxation, AClosingNotificationEndsOnlyItsOwnKindOfWindow) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.notify(1000, "m", maint::migrating{3, 1, {"1"}});
  b.notify(1200, "f", maint::failing_over{4, 1, {"1"}});
  b.push(1500, "node-a", 1, "MIGRATED", 5, std::nullopt, "m.end");
  b.latency(1900, "slow", 1500);
  b.incr(2, 2000, "node-a", 1, 500, false, "timeout");
  b.latency(3600, "slow.end", 0);
  b.push(3700, "node-a", 1, "FAILED_OVER", 6, std::nullopt, "f.end");
  b.finish(5000);
  const auto r = check_timeout_relaxation(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail) << r.summary;
  EXPECT_TRUE(has_finding(r, "#2 INCR")) << r.summary;
  EXPECT_TRUE(has_finding(r, "inside a maintenance window")) << r.summary;
  // Inside the FAILING_OVER window the 1500 ms delay is below the relaxed timeout: the
  // command had to succeed, and it gave up at the normal timeout.
  EXPECT_EQ(r.violations, std::vector<std::string>{"relaxed.failed_before_timeout"});
}

TEST(TimeoutRelaxation, FailsWhenTheTimeoutFallsOutsideTheBand) {
  const auto b = relaxation_run(true, true, 700);
  const auto r = check_timeout_relaxation(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r,
                          "gave up after 700.0 ms (timeout), outside [500, 600) ms "
                          "(client.timeout x [1, 1 + expect.timeout_tolerance 0.2))"))
      << r.summary;
  // The client closed its connection at 700 ms too: the server saw the same late give-up.
  EXPECT_EQ(r.violations,
            (std::vector<std::string>{"normal.timed_out_late", "normal.server_saw_late_give_up"}));
  const auto early = check_timeout_relaxation(relaxation_run(true, true, 450).input());
  EXPECT_EQ(early.violations, std::vector<std::string>{"normal.timed_out_early"}) << early.summary;
}

TEST(TimeoutRelaxation, UnsupportedWithoutAReplyTimeout) {
  auto b = relaxation_run(true, false, 0);
  b.driver.client.reply_timeout = "none";
  EXPECT_EQ(check_timeout_relaxation(b.input()).outcome, verdict::status::unsupported);
}

TEST(TimeoutRelaxation, RunChecksMarksItUnsupportedWithoutTheCapability) {
  auto b = relaxation_run(true, true, 520);
  b.driver.client.capabilities = {"maint_notifications"};
  const auto results = run_checks(b.input());
  const auto it = std::find_if(results.begin(), results.end(),
                               [](const auto& r) { return r.id == timeout_relaxation_id; });
  ASSERT_NE(it, results.end());
  EXPECT_EQ(it->outcome, verdict::status::unsupported);
}

TEST(TimeoutRelaxation, NeedsNoCapabilityWhenTheClientIsNotToldOfMaintenance) {
  // mode = "disabled" (the legacy profile, Jedis): nothing is relaxed, so the check judges the
  // normal timeout alone, which every client with a reply timeout has.
  run_builder b;
  b.scn.client.mode = scenario::sch_mode::disabled;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.latency(5000, "late", 1500);
  b.incr(2, 5100, "node-a", 1, 520, false, "timeout");
  b.close(5620, "node-a", 1);
  b.finish(8000);
  b.driver.client.capabilities = {"resp2", "auth"};
  const auto results = run_checks(b.input());
  const auto it = std::find_if(results.begin(), results.end(),
                               [](const auto& r) { return r.id == timeout_relaxation_id; });
  ASSERT_NE(it, results.end());
  EXPECT_EQ(it->outcome, verdict::status::pass) << it->summary;
}

// -------------------------------------------------------------------------------- handoff_timing

TEST(HandoffTiming, PassesOnAPromptHandoff) {
  const auto b = good_handoff();
  const auto r = check_handoff_timing(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "seq7.handshaken_after"), 6.0);
  EXPECT_FALSE(r.excerpt.empty());
}

TEST(HandoffTiming, FailsWhenMovingIsIgnored) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.moving(1000, 1, "node-b");
  b.incr(2, 1200, "node-a", 1);
  b.step(3000, "m.close", scenario::close_action{});
  b.close(3000, "node-a", 1, tl::close_initiator::server);
  b.finish(4000);
  const auto r = check_handoff_timing(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "no connection to node-b was opened")) << r.summary;
  EXPECT_TRUE(has_finding(r, "the server had to force-close the old connection #1"));
  // One id per broken rule, in the order the findings came, each once.
  EXPECT_EQ(r.violations, (std::vector<std::string>{"no_new_connection", "traffic_not_moved",
                                                    "old_connection_force_closed"}));
}

TEST(HandoffTiming, FailsWhenTheHandoffComesAfterTheGrace) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.moving(1000, 1, "node-b");
  b.open(3100, "node-b", 2);
  b.incr(1, 3110, "node-b", 2);
  b.close(3120, "node-a", 1);
  b.finish(4000);
  const auto r = check_handoff_timing(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "past the bound (the MOVING's time = 2 s)")) << r.summary;
  // The scenario's own bound is named as such (not as the MOVING's grace).
  b.scn.expect.handoff_within = milliseconds{1000};
  const auto own = check_handoff_timing(b.input());
  EXPECT_TRUE(has_finding(own, "past the bound (expect.handoff_within = 1000 ms)")) << own.summary;
}

TEST(HandoffTiming, FailsWhenTheOldConnectionKeepsGettingCommands) {
  auto b = good_handoff();
  b.incr(9, 1300, "node-a", 1);
  const auto r = check_handoff_timing(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "written to the old connection #1")) << r.summary;
}

TEST(HandoffTiming, FailsOnRepeatedHandoffsForOneSeq) {
  // A duplicate seq handled again, or a loop: node-b connections opened one after another.
  auto b = good_handoff();
  EXPECT_EQ(check_handoff_timing(b.input()).outcome, verdict::status::pass);
  for (std::uint64_t conn = 3; conn <= 6; ++conn) {
    const auto at_ms = 1100 + static_cast<std::int64_t>(conn) * 50;
    b.open(at_ms, "node-b", conn);
    b.close(1600 + static_cast<std::int64_t>(conn), "node-b", conn);
  }
  const auto r = check_handoff_timing(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r,
                          "MOVING seq 7 at +1000.0 ms: 5 connections to node-b opened for this "
                          "one seq before the grace ended, told on 1 connection"))
      << r.summary;
  EXPECT_EQ(figure(r, "seq7.handoffs"), 5.0);
}

TEST(HandoffTiming, AReconnectReplacingAClosedHandoffConnectionIsNotASecondHandoff) {
  auto b = good_handoff();
  b.close(1300, "node-b", 2);  // e.g. a timeout on the handoff connection
  b.open(1301, "node-b", 3);
  b.incr(5, 1310, "node-b", 3);
  const auto r = check_handoff_timing(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "seq7.handoffs"), 1.0);
}

TEST(HandoffTiming, NullEndpointReconnectsAtHalfTheTime) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.moving(1000, 1, std::nullopt, 4);
  b.open(3005, "node-a", 2);
  b.incr(1, 3010, "node-a", 2);
  b.close(3006, "node-a", 1);
  b.finish(6000);
  auto r = check_handoff_timing(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "seq7.reconnect_after"), 2005.0);
}

TEST(HandoffTiming, NullEndpointReconnectingAtOnceFails) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.moving(1000, 1, std::nullopt, 4);
  b.open(1003, "node-a", 2);
  b.incr(1, 1010, "node-a", 2);
  b.close(1004, "node-a", 1);
  b.finish(6000);
  const auto r = check_handoff_timing(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "reconnected 3.0 ms after MOVING, expected time/2 = 2000 ms"))
      << r.summary;
}

TEST(HandoffTiming, ResolvesALiteralTargetAddress) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.moving(1000, 1, "127.0.0.1:7002");
  b.open(1005, "node-b", 2);
  b.incr(1, 1010, "node-b", 2);
  b.close(1020, "node-a", 1);
  b.finish(4000);
  EXPECT_EQ(check_handoff_timing(b.input()).outcome, verdict::status::pass);
}

// -------------------------------------------------------------------------------------- no_leaks

TEST(NoLeaks, PassesWhenTheCountReturns) {
  const auto b = good_handoff();
  const auto r = check_no_leaks(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(figure(r, "open_at_end"), 1.0);
  EXPECT_EQ(figure(r, "peak_open"), 2.0);
}

TEST(NoLeaks, FailsWhenTheOldConnectionStaysOpen) {
  auto b = good_handoff();
  b.events.erase(std::remove_if(b.events.begin(), b.events.end(),
                                [](const tl::event& e) {
                                  return std::holds_alternative<tl::connection_closed>(e.what);
                                }),
                 b.events.end());
  const auto r = check_no_leaks(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "2 connections open at the end")) << r.summary;
}

TEST(NoLeaks, ReconnectBand) {
  auto b = good_handoff();
  b.scn.expect.reconnects = scenario::count_band{0, 0};
  const auto r = check_no_leaks(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "1 reconnects, expected 0..0")) << r.summary;
}

// --------------------------------------------------------------------------------------- latency

TEST(Latency, ReportsBaselineAndEventWithoutBound) {
  const auto b = good_handoff();
  const auto r = check_latency(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass);
  EXPECT_FALSE(r.critical);
  EXPECT_EQ(figure(r, "baseline.count"), 2.0);
  EXPECT_EQ(figure(r, "event.count"), 2.0);
}

TEST(Latency, FailsPastItsBound) {
  auto b = good_handoff();
  b.driver.commands[2].done_ns += 900 * ms;  // a stall hidden by a closed-loop measurement
  b.scn.expect.max_latency = milliseconds{200};
  const auto r = check_latency(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(r.critical);
  EXPECT_TRUE(has_finding(r, "max latency 901.0 ms reached the bound 200 ms")) << r.summary;
}

// ----------------------------------------------------------------------------------- run_checks

TEST(RunChecks, DefaultsFollowTheScenario) {
  const auto b = good_handoff();
  const auto results = run_checks(b.input());
  ASSERT_EQ(results.size(), all_check_ids().size());
  for (const auto& r : results) {
    EXPECT_FALSE(r.meaning.empty()) << r.id;
    if (r.id == timeout_relaxation_id || r.id == topology_refresh_id ||
        r.id == removed_node_traffic_id || r.id == pubsub_continuity_id ||
        r.id == blocking_commands_id || r.id == transactions_id) {
      // No delay, not a cluster, no subscription, no blocking consumer, no transactions.
      EXPECT_EQ(r.outcome, verdict::status::skipped) << r.id;
    } else {
      EXPECT_EQ(r.outcome, verdict::status::pass) << r.id << ": " << r.summary;
    }
  }
}

TEST(RunChecks, ScenarioNamesSelectChecks) {
  auto b = good_handoff();
  b.scn.expect.checks = {"no_lost_commands", "handoff", "latency"};
  const auto results = run_checks(b.input());
  for (const auto& r : results) {
    const bool selected =
        r.id == zero_dropped_id || r.id == handoff_timing_id || r.id == latency_id;
    EXPECT_EQ(r.outcome == verdict::status::skipped, !selected) << r.id;
  }
  EXPECT_EQ(check_for_expectation("silent_fallback"), handshake_id);
  EXPECT_TRUE(check_for_expectation("nonsense").empty());
}

auto has_cap(const std::vector<std::string>& caps, std::string_view cap) -> bool {
  return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

TEST(RequiredCapabilities, FollowTheScenario) {
  auto b = good_handoff();
  b.scn.client.password = "secret";
  for (const auto* cap : {"handoff", "auth", "mode_auto", "maint_notifications"}) {
    EXPECT_TRUE(has_cap(required_capabilities(b.scn), cap)) << cap;
  }
  b.scn.client.protocol = 2;
  EXPECT_TRUE(has_cap(required_capabilities(b.scn), "resp2"));
}

// Item 9: pushes go only to connections that opted in, so a client that never opts in is never
// asked to hand off, whatever MOVING steps the scenario has.
TEST(RequiredCapabilities, NoHandoffForAClientThatNeverReceivesMoving) {
  auto b = good_handoff();
  b.scn.client.mode = scenario::sch_mode::disabled;
  EXPECT_FALSE(has_cap(required_capabilities(b.scn), "handoff"));
  b.scn.client.mode = scenario::sch_mode::automatic;
  b.scn.client.protocol = 2;
  EXPECT_FALSE(has_cap(required_capabilities(b.scn), "handoff"));
  b.scn.client.protocol = 3;
  for (auto& e : b.scn.topo.endpoints) {
    e.sch = false;  // open-source Redis: the opt-in is refused everywhere
  }
  EXPECT_FALSE(has_cap(required_capabilities(b.scn), "handoff"));
  // A step that targets every connection, opted in or not, does reach it.
  auto& send = std::get<scenario::send_action>(b.scn.steps.front().what);
  send.to.filter = scenario::opt_in_filter::any;
  EXPECT_TRUE(has_cap(required_capabilities(b.scn), "handoff"));
}

// -------------------------------------------------------------------- checks that judged nothing

// Item 8: a check that applied but had nothing to judge says so and is never a pass; one whose
// trigger the client is never sent does not apply.
TEST(JudgedNothing, NoMovingWrittenToAClientThatOptsIn) {
  auto b = good_handoff();
  std::erase_if(b.events, [](const tl::event& e) {
    return std::holds_alternative<tl::push_written>(e.what);
  });
  auto r = check_handoff_timing(b.input());
  EXPECT_EQ(r.outcome, verdict::status::not_judged) << r.summary;
  EXPECT_EQ(r.summary, "judged nothing: no MOVING was written to the client");
  b.scn.client.mode = scenario::sch_mode::disabled;
  r = check_handoff_timing(b.input());
  EXPECT_EQ(r.outcome, verdict::status::skipped) << r.summary;
  EXPECT_EQ(r.summary, "not applicable: the client does not opt in, so no MOVING reaches it");
  b.scn.steps.clear();
  EXPECT_EQ(check_handoff_timing(b.input()).summary,
            "not applicable: no step of the scenario sends MOVING");
}

TEST(JudgedNothing, NoCommandIssued) {
  auto b = good_handoff();
  b.driver.commands.clear();
  const auto r = check_zero_dropped(b.input());
  EXPECT_EQ(r.outcome, verdict::status::not_judged) << r.summary;
  const auto lat = check_latency(b.input());
  EXPECT_EQ(lat.outcome, verdict::status::not_judged) << lat.summary;
  EXPECT_FALSE(lat.critical);  // reported, bounded only on request
  b.scn.load.rate = 0;         // idle connections: nothing was meant to be issued
  EXPECT_EQ(check_zero_dropped(b.input()).outcome, verdict::status::skipped);
  EXPECT_EQ(check_latency(b.input()).outcome, verdict::status::skipped);
}

TEST(JudgedNothing, ADelayThatNoCommandMet) {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.step(1000, "slow", scenario::latency_action{"node-a", milliseconds{1500}, milliseconds{500}});
  b.finish(3000);
  auto r = check_timeout_relaxation(b.input());
  EXPECT_EQ(r.outcome, verdict::status::not_judged) << r.summary;
  b.scn.steps.clear();
  r = check_timeout_relaxation(b.input());
  EXPECT_EQ(r.outcome, verdict::status::skipped) << r.summary;
}

TEST(JudgedNothing, ACriticalCheckThatJudgedNothingMakesTheCaseInconclusive) {
  auto b = good_handoff();
  std::erase_if(b.events, [](const tl::event& e) {
    return std::holds_alternative<tl::push_written>(e.what);
  });
  const auto checks = run_checks(b.input());
  EXPECT_EQ(verdict::outcome_of_case(checks, {}), verdict::case_outcome::inconclusive);
}

TEST(DeriveWindows, ShadesMaintenanceMovingAndDelays) {
  const auto b = relaxation_run(true, true, 520);
  const auto windows = derive_windows(b.input());
  ASSERT_GE(windows.size(), 3U);
  EXPECT_EQ(windows[0].kind, "maintenance");
  EXPECT_EQ(windows[0].label, "MIGRATING seq 3 .. MIGRATED seq 4");
  EXPECT_EQ(windows[0].end_ns - windows[0].start_ns, 2000 * ms);
  EXPECT_EQ(windows[1].kind, "latency");
  const auto moving = derive_windows(good_handoff().input());
  ASSERT_EQ(moving.size(), 1U);
  EXPECT_EQ(moving[0].label, "MOVING seq 7 (2 s) to node-b");
}

}  // namespace
}  // namespace checks_test
