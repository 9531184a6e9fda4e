#include <schsim/harness/checks.hpp>
#include <schsim/harness/workload.hpp>

#include <gtest/gtest.h>

#include <algorithm>

#include "support/standalone_run.hpp"

// transactions on hand-made timelines: blocks that run whole, once, and are answered pass; a
// block split between two connections, run twice, reported without running, or never answered
// fails with the rule it broke.

// Its own namespace: CI compiles the tests as unity builds.
namespace transaction_check_test {
namespace {

using namespace schsim;
using namespace schsim::harness;
namespace tl = schsim::timeline;

using test_support::ms;
using test_support::run_builder;

/// Two-INCR blocks; the client's connections 1 (node-a) and 2 (node-b) are opened by the tests.
struct tx_run : run_builder {
  tx_run() { scn.load.transactions = scenario::transactions_workload{10, 2, false}; }
  std::map<std::uint64_t, std::uint64_t> next_index;  ///< per connection, from 2 (after setup)

  auto index(std::uint64_t conn) -> std::uint64_t {
    auto [it, fresh] = next_index.try_emplace(conn, 2);
    return it->second++;
  }
  static auto key(std::uint64_t id, std::uint32_t i) -> std::string {
    return transaction_key(scenario::workload{}, id, i);
  }
  /// Transaction `id` issued at `at_ms`; its result `ok` (replies 1, 1) or failed.
  void issue(std::uint64_t id, std::int64_t at_ms, std::optional<bool> ok = true) {
    transaction_outcome t;
    t.id = id;
    t.commands = {{"INCR", key(id, 1)}, {"INCR", key(id, 2)}};
    t.intended_ns = t.issued_ns = t.sent_ns = run_start_ns + at_ms * ms;
    t.completed = ok.has_value();
    t.ok = ok.value_or(false);
    t.done_ns = run_start_ns + (at_ms + 5) * ms;
    if (t.ok) t.replies = {"1", "1"};
    if (ok && !*ok) t.error_class = "connection";
    driver.transactions.push_back(std::move(t));
  }
  void command(std::int64_t at_ms, const std::string& ep, std::uint64_t conn,
               std::vector<std::string> args, const std::string& reply = "+QUEUED") {
    const auto i = index(conn);
    add(at_ms, ep, conn, tl::command_received{i, std::move(args)});
    add(at_ms, ep, conn, tl::reply_written{i, reply.starts_with("-"), reply});
  }
  /// MULTI, INCR k<from>..k<to> of `id`, and (with `how`) the block's end: EXEC or the close.
  void block(std::uint64_t id, std::int64_t at_ms, const std::string& ep, std::uint64_t conn,
             std::uint32_t from = 1, std::uint32_t to = 2,
             std::optional<tl::transaction_ended::outcome> how =
                 tl::transaction_ended::outcome::executed) {
    const auto multi = next_index.try_emplace(conn, 2).first->second;
    command(at_ms, ep, conn, {"MULTI"}, "+OK");
    std::vector<std::uint64_t> queued;
    for (auto i = from; i <= to; ++i) {
      queued.push_back(next_index[conn]);
      command(at_ms, ep, conn, {"INCR", key(id, i)});
    }
    if (!how) return;
    auto end = next_index[conn] - 1;
    if (*how == tl::transaction_ended::outcome::executed) {
      end = next_index[conn];
      command(at_ms + 1, ep, conn, {"EXEC"}, "*2");
    }
    add(at_ms + 1, ep, conn, tl::transaction_ended{*how, multi, end, queued, 0});
  }
  [[nodiscard]] auto check() const -> verdict::check_result { return check_transactions(input()); }
};

auto violated(const verdict::check_result& r, const std::string& rule) -> bool {
  return std::find(r.violations.begin(), r.violations.end(), rule) != r.violations.end();
}

auto base() -> tx_run {
  tx_run b;
  b.open(0, "node-a", 1);
  b.open(1000, "node-b", 2);
  b.finish(3000);
  return b;
}

TEST(TransactionsCheck, WholeBlocksOnceAnsweredPass) {
  auto b = base();
  b.issue(1, 100);
  b.block(1, 100, "node-a", 1);
  b.issue(2, 1100);
  b.block(2, 1100, "node-b", 2);
  const auto r = b.check();
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_TRUE(r.violations.empty());
}

TEST(TransactionsCheck, NotApplicableWithoutTheWorkload) {
  auto b = base();
  b.scn.load.transactions.reset();
  EXPECT_EQ(b.check().outcome, verdict::status::skipped);
}

// A block the old connection got only part of (it closed inside MULTI), sent again whole on the
// new one: nothing ran twice and nothing ran partly.
TEST(TransactionsCheck, AWholeResendAfterAnUnfinishedBlockPasses) {
  auto b = base();
  b.issue(1, 900);
  b.block(1, 900, "node-a", 1, 1, 1, tl::transaction_ended::outcome::closed);
  b.block(1, 1100, "node-b", 2);
  const auto r = b.check();
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
}

// The swap fell between MULTI and EXEC: k2 and EXEC went to node-b, where k2 ran on its own.
TEST(TransactionsCheck, ABlockSplitAcrossConnectionsFails) {
  auto b = base();
  b.issue(1, 900, false);
  b.block(1, 900, "node-a", 1, 1, 1, tl::transaction_ended::outcome::closed);
  b.command(1100, "node-b", 2, {"INCR", tx_run::key(1, 2)}, ":1");
  b.command(1100, "node-b", 2, {"EXEC"}, "-ERR EXEC without MULTI");
  const auto r = b.check();
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(violated(r, "split_across_connections")) << r.summary;
  EXPECT_TRUE(violated(r, "executed_outside_multi")) << r.summary;
}

TEST(TransactionsCheck, ABlockRunTwiceFails) {
  auto b = base();
  b.issue(1, 900);
  b.block(1, 900, "node-a", 1);
  b.block(1, 1100, "node-b", 2);
  const auto r = b.check();
  EXPECT_TRUE(violated(r, "executed_twice")) << r.summary;
}

TEST(TransactionsCheck, OkWithoutAnExecutedBlockFails) {
  auto b = base();
  b.issue(1, 900);
  b.block(1, 900, "node-a", 1, 1, 2, tl::transaction_ended::outcome::discarded);
  const auto r = b.check();
  EXPECT_TRUE(violated(r, "ok_without_execution")) << r.summary;
}

TEST(TransactionsCheck, AMissingResultIsAFinding) {
  auto b = base();
  b.issue(1, 900, std::nullopt);
  b.block(1, 900, "node-a", 1);
  const auto r = b.check();
  EXPECT_TRUE(violated(r, "no_result")) << r.summary;
}

// Another command queued inside the block (the client wrote it between MULTI and EXEC).
TEST(TransactionsCheck, AForeignCommandInsideTheBlockFails) {
  auto b = base();
  b.issue(1, 900);
  const auto multi = b.next_index.try_emplace(1, 2).first->second;
  b.command(900, "node-a", 1, {"MULTI"}, "+OK");
  b.command(900, "node-a", 1, {"INCR", tx_run::key(1, 1)});
  b.command(900, "node-a", 1, {"INCR", "schsim:ctr:7"});
  b.command(900, "node-a", 1, {"INCR", tx_run::key(1, 2)});
  b.command(901, "node-a", 1, {"EXEC"}, "*3");
  b.add(901, "node-a", 1,
        tl::transaction_ended{tl::transaction_ended::outcome::executed,
                              multi,
                              multi + 4,
                              {multi + 1, multi + 2, multi + 3},
                              0});
  const auto r = b.check();
  EXPECT_TRUE(violated(r, "partial_block")) << r.summary;
}

TEST(TransactionsCheck, FailuresCountAgainstTheErrorBudget) {
  auto b = base();
  b.issue(1, 900, false);
  b.issue(2, 1100);
  b.block(2, 1100, "node-b", 2);
  EXPECT_TRUE(violated(b.check(), "failed"));
  b.scn.expect.max_error_rate = 0.5;
  EXPECT_EQ(b.check().outcome, verdict::status::pass);
}

// The server closed the connection under a written block: failing it is the honest answer.
TEST(TransactionsCheck, AFailureUnderAServerCloseIsExcused) {
  auto b = base();
  b.issue(1, 900, false);
  b.block(1, 900, "node-a", 1, 1, 2, tl::transaction_ended::outcome::closed);
  b.close(902, "node-a", 1, tl::close_initiator::server);
  const auto r = b.check();
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(test_support::figure(r, "failed_on_purpose"), 1.0);
}

/// Replies on node-a delayed 600 ms from 800 to 2000 ms (timeout 500 ms, relaxed 3000 ms), and
/// transaction 1 (WATCH first) handed over at 900 ms that timed out at 1400 ms.
auto slow_watch() -> tx_run {
  auto b = base();
  b.step(800, "slow", scenario::latency_action{"node-a", std::chrono::milliseconds{600}, {}});
  b.step(2000, "fast", scenario::latency_action{"node-a", std::chrono::milliseconds{0}, {}});
  b.issue(1, 900, false);
  auto& t = b.driver.transactions.back();
  t.watch = {tx_run::key(1, 1), tx_run::key(1, 2)};
  t.error_class = "timeout";
  t.done_ns = b.run_start_ns + 1400 * test_support::ms;
  return b;
}

// The WATCH arrived while node-a held replies 600 ms: its reply came after the 500 ms timeout,
// so the client gave up before MULTI, as it must (nothing relaxes the timeout here).
TEST(TransactionsCheck, ATimeoutOnAWatchHeldPastTheTimeoutIsExcused) {
  auto b = slow_watch();
  const auto i = b.index(1);
  b.add(900, "node-a", 1, tl::command_received{i, {"WATCH", tx_run::key(1, 1), tx_run::key(1, 2)}});
  b.close(1400, "node-a", 1);  // the client's, at its timeout: the held reply was never written
  const auto r = b.check();
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(test_support::figure(r, "failed_on_purpose"), 1.0);
}

// The same WATCH inside a FAILING_OVER window: 600 ms is well inside the relaxed 3000 ms, so
// timing out at the normal timeout is the client's failure, even though the reply was held.
TEST(TransactionsCheck, ATimeoutOnAWatchInsideAWindowBeforeTheRelaxedTimeoutFails) {
  auto b = slow_watch();
  b.push(850, "node-a", 1, "FAILING_OVER", 3, 1, "f");
  const auto i = b.index(1);
  b.add(900, "node-a", 1, tl::command_received{i, {"WATCH", tx_run::key(1, 1), tx_run::key(1, 2)}});
  b.close(1400, "node-a", 1);
  const auto r = b.check();
  EXPECT_TRUE(violated(r, "failed")) << r.summary;
  EXPECT_EQ(test_support::figure(r, "failed_on_purpose"), 0.0);
}

// Nothing of it reached the server: it waited in the client behind the held replies (for the
// pooled connection, then the handshake of a new one) until its timeout.
TEST(TransactionsCheck, ATimeoutWhileRepliesWereHeldThatNeverReachedTheServerIsExcused) {
  auto b = slow_watch();
  auto r = b.check();
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_EQ(test_support::figure(r, "failed_on_purpose"), 1.0);
  // Handed over and timed out after node-a was fast again and every held reply was out.
  auto& t = b.driver.transactions.back();
  t.sent_ns = b.run_start_ns + 2700 * test_support::ms;
  t.done_ns = b.run_start_ns + 2900 * test_support::ms;
  r = b.check();
  EXPECT_TRUE(violated(r, "failed")) << r.summary;
}

TEST(TransactionsCheck, RepliesOtherThanOnesAreAMismatch) {
  auto b = base();
  b.issue(1, 900);
  b.driver.transactions.back().replies = {"QUEUED", "1"};
  b.block(1, 900, "node-a", 1);
  EXPECT_TRUE(violated(b.check(), "reply_mismatch"));
}

TEST(TransactionsCheck, IsAlwaysJudgedAndNeedsTheCapability) {
  const auto b = base();
  const auto checks = applicable_checks(b.scn);
  EXPECT_NE(std::find(checks.begin(), checks.end(), transactions_id), checks.end());
  const auto caps = required_capabilities(b.scn);
  EXPECT_NE(std::find(caps.begin(), caps.end(), "transactions"), caps.end());
  EXPECT_EQ(check_for_expectation("transactions"), transactions_id);
}

TEST(TransactionsWorkload, KeysCarryTheBlockAndTheScheduleIsEven) {
  scenario::workload w;
  w.transactions = scenario::transactions_workload{4, 3, true};
  const auto s = make_transaction_schedule(w, std::chrono::milliseconds{1000});
  ASSERT_EQ(s.size(), 3U);  // at 250, 500, 750 ms
  EXPECT_EQ(s[1].id, 2U);
  EXPECT_EQ(s[1].offset, std::chrono::milliseconds{500});
  EXPECT_EQ(s[1].commands.back(), (std::vector<std::string>{"INCR", "schsim:tx:{2}:k3"}));
  EXPECT_EQ(s[1].watch.size(), 3U);
  const auto parts = parse_transaction_key("schsim:tx:{2}:k3");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->id, 2U);
  EXPECT_EQ(parts->index, 3U);
  EXPECT_FALSE(parse_transaction_key("schsim:ctr:2"));
  EXPECT_FALSE(parse_transaction_key("schsim:tx:{2}:k3x"));
}

}  // namespace
}  // namespace transaction_check_test
