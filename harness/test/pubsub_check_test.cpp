#include <schsim/harness/checks.hpp>

#include <gtest/gtest.h>

#include <algorithm>

#include "support/standalone_run.hpp"

// pubsub_continuity on hand-made timelines: a subscriber that moves with a MOVING passes; one
// that does not re-subscribe, holds two subscriptions at once, drops, repeats or reorders
// messages fails with the rule it broke.

// Its own namespace: CI compiles the tests as unity builds.
namespace pubsub_check_test {
namespace {

using namespace schsim;
using namespace schsim::harness;
namespace tl = schsim::timeline;
using std::chrono::milliseconds;

using test_support::has_finding;
using test_support::ms;
using test_support::run_builder;

/// One channel, a subscriber connection 2 on node-a, the publisher every 100 ms from 100 ms.
struct pubsub_run : run_builder {
  pubsub_run() {
    scn.load.pubsub = scenario::pubsub_workload{1, 10, scenario::subscribe_kind::channel};
    driver.pubsub.asked = true;
    driver.pubsub.subscribed = true;
    driver.pubsub.at_ns = run_start_ns + 10 * ms;
  }
  static constexpr const char* channel = "schsim:chan:0";
  void subscribe(std::int64_t at_ms, const std::string& ep, std::uint64_t conn,
                 std::uint64_t index = 2) {
    add(at_ms, ep, conn, tl::command_received{index, {"SUBSCRIBE", channel}});
  }
  void unsubscribe(std::int64_t at_ms, const std::string& ep, std::uint64_t conn,
                   std::uint64_t index = 3) {
    add(at_ms, ep, conn, tl::command_received{index, {"UNSUBSCRIBE", channel}});
  }
  /// The server publishes seq at `at_ms` and writes it to each of `to` 1 ms later.
  void publish(std::int64_t seq, std::int64_t at_ms, std::vector<std::uint64_t> to) {
    add(at_ms, "node-a", 0, tl::pubsub_published{channel, false, to.size(), seq, 8});
    for (const auto conn : to) {
      add(at_ms + 1, conn == 2 ? "node-a" : "node-b", conn,
          tl::pubsub_delivered{channel, "", false, seq, 8});
    }
  }
  /// The driver reports seq handed to the application at `at_ms`.
  void report(std::int64_t seq, std::int64_t at_ms) {
    driver.pubsub.messages.push_back(
        {channel, "", "seq:" + std::to_string(seq), seq, run_start_ns + at_ms * ms});
  }
  /// A subscriber on node-a (conn 2) from 10 ms; the publisher every 100 ms until `until_ms`,
  /// each message reported unless `deliver` says no.
  void publish_all(std::int64_t until_ms,
                   const std::function<std::vector<std::uint64_t>(std::int64_t)>& holders,
                   const std::function<int(std::int64_t)>& reports) {
    for (std::int64_t seq = 1; seq * 100 < until_ms; ++seq) {
      const auto at = seq * 100;
      publish(seq, at, holders(at));
      for (int i = 0; i < reports(seq); ++i) report(seq, at + 2 + i);
    }
  }
};

/// The correct handoff of a subscriber: MOVING at 1000 ms to both connections; the new
/// subscriber connection 4 on node-b is ready at 1100 ms; connection 2 unsubscribes at 1100 ms,
/// closes at 1102 ms and connection 4 subscribes at 1103 ms.
auto moved_subscriber() -> pubsub_run {
  pubsub_run b;
  b.open(0, "node-a", 1);
  b.open(5, "node-a", 2);
  b.subscribe(10, "node-a", 2);
  b.moving(1000, 1, "node-b");
  b.push(1000, "node-a", 2, "MOVING", 7, 2, "m");
  b.open(1050, "node-b", 3);
  b.open(1100, "node-b", 4);
  b.unsubscribe(1100, "node-a", 2);
  b.close(1102, "node-a", 2);
  b.close(1102, "node-a", 1);
  b.subscribe(1103, "node-b", 4);
  b.publish_all(
      3000, [](std::int64_t at) { return std::vector<std::uint64_t>{at < 1100 ? 2U : 4U}; },
      [](std::int64_t) { return 1; });
  b.finish(3000);
  return b;
}

TEST(PubsubContinuity, PassesWhenTheSubscriptionMovesWithTheHandoff) {
  const auto b = moved_subscriber();
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_TRUE(r.violations.empty());
}

// The subscriber's own MOVING is queued behind messages (written whole only at 1300 ms): the
// client moves it on the MOVING connection 1 read at 1000 ms (seen at load 9 on the reference
// client in pubsub-fragmented-moving: UNSUBSCRIBE 26 ms after connection 1's MOVING, its own
// copy written 250 ms later). That MOVING explains the gap.
TEST(PubsubContinuity, AMovingReadOnAnotherConnectionExplainsTheSubscribersMove) {
  pubsub_run b;
  b.open(0, "node-a", 1);
  b.open(5, "node-a", 2);
  b.subscribe(10, "node-a", 2);
  b.moving(1000, 1, "node-b");
  b.open(1100, "node-b", 4);
  b.unsubscribe(1100, "node-a", 2);
  b.push(1300, "node-a", 2, "MOVING", 7, 2, "m");
  b.close(1302, "node-a", 2);
  b.close(1302, "node-a", 1);
  b.subscribe(1303, "node-b", 4);
  b.publish_all(
      3000,
      [](std::int64_t at) {
        return at < 1100   ? std::vector<std::uint64_t>{2}
               : at < 1303 ? std::vector<std::uint64_t>{}
                           : std::vector<std::uint64_t>{4};
      },
      [](std::int64_t seq) { return seq * 100 >= 1100 && seq * 100 < 1303 ? 0 : 1; });
  b.finish(3000);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  // Without it, the same gap is a drop nothing explains.
  pubsub_run lone = b;
  lone.events.erase(std::remove_if(lone.events.begin(), lone.events.end(),
                                   [](const auto& e) {
                                     return e.conn == 1 &&
                                            std::holds_alternative<tl::push_written>(e.what);
                                   }),
                    lone.events.end());
  const auto without = check_pubsub_continuity(lone.input());
  EXPECT_EQ(without.outcome, verdict::status::fail) << without.summary;
  EXPECT_TRUE(has_finding(without, "no maintenance event to explain it")) << without.summary;
}

TEST(PubsubContinuity, IsNotApplicableWithoutAPubsubWorkload) {
  auto b = moved_subscriber();
  b.scn.load.pubsub.reset();
  EXPECT_EQ(check_pubsub_continuity(b.input()).outcome, verdict::status::skipped);
}

TEST(PubsubContinuity, FailsWhenTheSubscriptionIsNeverTakenAgain) {
  pubsub_run b;
  b.open(0, "node-a", 2);
  b.subscribe(10, "node-a", 2);
  b.push(1000, "node-a", 2, "MOVING", 7, 2, "m");
  b.close(1100, "node-a", 2);
  b.open(1100, "node-b", 4);  // the new connection never subscribes
  b.publish_all(
      3000,
      [](std::int64_t at) {
        return at < 1100 ? std::vector<std::uint64_t>{2} : std::vector<std::uint64_t>{};
      },
      [](std::int64_t seq) { return seq * 100 < 1100 ? 1 : 0; });
  b.finish(3000);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_NE(std::find(r.violations.begin(), r.violations.end(), "not_resubscribed"),
            r.violations.end());
  EXPECT_TRUE(has_finding(r, "never held again")) << r.summary;
  EXPECT_TRUE(has_finding(r, "MOVING written to connection 2")) << r.summary;
}

// The forced close comes 500 ms before the judged end (3000 ms less the unjudged tail): the
// client still had 500 ms of its 1 s grace to subscribe again, so the open gap is no finding.
TEST(PubsubContinuity, AGapStillInsideTheGraceAtTheEndIsNotJudged) {
  pubsub_run b;
  b.open(0, "node-a", 2);
  b.subscribe(10, "node-a", 2);
  b.push(2000, "node-a", 2, "MOVING", 7, 2, "m");
  b.close(2250, "node-a", 2);
  b.open(2250, "node-b", 4);
  b.publish_all(
      3000,
      [](std::int64_t at) {
        return at < 2250 ? std::vector<std::uint64_t>{2} : std::vector<std::uint64_t>{};
      },
      [](std::int64_t seq) { return seq * 100 < 2250 ? 1 : 0; });
  b.finish(3000);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_TRUE(r.violations.empty()) << r.summary;
  // The same gap past the grace fails: it is judged, only later.
  b.scn.expect.resubscribe_within = milliseconds{400};
  const auto late = check_pubsub_continuity(b.input());
  EXPECT_EQ(late.outcome, verdict::status::fail) << late.summary;
  EXPECT_TRUE(has_finding(late, "never held again")) << late.summary;
}

TEST(PubsubContinuity, FailsWhenTheGapIsLongerThanAllowed) {
  pubsub_run b;
  b.scn.expect.resubscribe_within = milliseconds{200};
  b.open(0, "node-a", 2);
  b.subscribe(10, "node-a", 2);
  b.push(1000, "node-a", 2, "MOVING", 7, 2, "m");
  b.close(1100, "node-a", 2);
  b.open(1100, "node-b", 4);
  b.subscribe(1450, "node-b", 4);
  b.publish_all(
      3000,
      [](std::int64_t at) {
        return at < 1100   ? std::vector<std::uint64_t>{2}
               : at < 1450 ? std::vector<std::uint64_t>{}
                           : std::vector<std::uint64_t>{4};
      },
      [](std::int64_t seq) { return seq * 100 >= 1100 && seq * 100 < 1450 ? 0 : 1; });
  b.finish(3000);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "350 ms, more than the 200 ms allowed")) << r.summary;
  EXPECT_TRUE(has_finding(r, "4 message(s) published in between were lost")) << r.summary;
}

TEST(PubsubContinuity, AShortGapAfterMaintenanceExcusesTheMessagesInIt) {
  pubsub_run b;
  b.open(0, "node-a", 2);
  b.subscribe(10, "node-a", 2);
  b.push(1000, "node-a", 2, "MOVING", 7, 2, "m");
  b.close(1150, "node-a", 2);
  b.open(1100, "node-b", 4);
  b.subscribe(1350, "node-b", 4);
  b.publish_all(
      3000,
      [](std::int64_t at) {
        return at < 1150   ? std::vector<std::uint64_t>{2}
               : at < 1350 ? std::vector<std::uint64_t>{}
                           : std::vector<std::uint64_t>{4};
      },
      [](std::int64_t seq) { return seq * 100 >= 1150 && seq * 100 < 1350 ? 0 : 1; });
  b.finish(3000);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_NE(r.summary.find("2 message(s) published in them"), std::string::npos) << r.summary;
}

TEST(PubsubContinuity, FailsOnMessagesDeliveredTwiceByOverlappingSubscriptions) {
  pubsub_run b;
  b.open(0, "node-a", 2);
  b.subscribe(10, "node-a", 2);
  b.push(1000, "node-a", 2, "MOVING", 7, 2, "m");
  b.open(1100, "node-b", 4);
  b.subscribe(1100, "node-b", 4);  // before node-a's subscription ends
  b.close(1400, "node-a", 2);
  b.publish_all(
      3000,
      [](std::int64_t at) {
        return at < 1100   ? std::vector<std::uint64_t>{2}
               : at < 1400 ? std::vector<std::uint64_t>{2, 4}
                           : std::vector<std::uint64_t>{4};
      },
      [](std::int64_t seq) { return seq * 100 >= 1100 && seq * 100 < 1400 ? 2 : 1; });
  b.finish(3000);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_NE(std::find(r.violations.begin(), r.violations.end(), "duplicated"), r.violations.end());
  EXPECT_TRUE(has_finding(r, "seq:11 on schsim:chan:0 handed to the application 2 times"))
      << r.summary;
  EXPECT_TRUE(has_finding(r, "2 connection(s) held the subscription")) << r.summary;
}

TEST(PubsubContinuity, FailsOnAMessageWrittenToTheClientButNeverHandedOver) {
  auto b = moved_subscriber();
  std::erase_if(b.driver.pubsub.messages, [](const auto& m) { return m.seq == 5; });
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "seq:5 on schsim:chan:0 published at +500.0 ms")) << r.summary;
  EXPECT_TRUE(has_finding(r, "written whole at +501.0 ms")) << r.summary;
}

TEST(PubsubContinuity, FailsOnReorderedAndUnknownMessages) {
  auto b = moved_subscriber();
  auto& m = b.driver.pubsub.messages;
  std::swap(m[3].seq, m[4].seq);
  std::swap(m[3].payload, m[4].payload);
  b.report(999, 2500);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "seq:4 handed over at")) << r.summary;
  EXPECT_TRUE(has_finding(r, "payload \"seq:999\"")) << r.summary;
}

TEST(PubsubContinuity, FailsWhenTheClientDropsItsSubscriptionWithoutMaintenance) {
  pubsub_run b;
  b.open(0, "node-a", 2);
  b.subscribe(10, "node-a", 2);
  b.unsubscribe(600, "node-a", 2);
  b.subscribe(700, "node-a", 2, 4);
  b.publish_all(
      2000,
      [](std::int64_t at) {
        return at >= 600 && at < 700 ? std::vector<std::uint64_t>{} : std::vector<std::uint64_t>{2};
      },
      [](std::int64_t seq) { return seq == 6 ? 0 : 1; });
  b.finish(2000);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "no maintenance event to explain it")) << r.summary;
}

TEST(PubsubContinuity, FailsWhenTheDriverCouldNotSubscribe) {
  pubsub_run b;
  b.driver.pubsub.subscribed = false;
  b.driver.pubsub.error_class = "timeout";
  b.driver.pubsub.message = "no answer to subscribe within 10000 ms";
  b.open(0, "node-a", 2);
  b.finish(1000);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "did not subscribe: timeout")) << r.summary;
}

TEST(PubsubContinuity, PatternSubscriptionsCoverTheirChannels) {
  auto b = moved_subscriber();
  b.scn.load.pubsub->kind = scenario::subscribe_kind::pattern;
  for (auto& e : b.events) {
    if (auto* c = std::get_if<tl::command_received>(&e.what);
        c != nullptr && c->args.size() == 2 && c->args[0].ends_with("SUBSCRIBE")) {
      c->args = {c->args[0] == "SUBSCRIBE" ? "PSUBSCRIBE" : "PUNSUBSCRIBE", "schsim:chan:*"};
    }
  }
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
}

/// A shard subscriber (SSUBSCRIBE on node-a, connection 2) whose channel's slot 2135 moves to
/// node-b at 1000 ms: the server drops the subscription there (sunsubscribe) and SPUBLISH goes
/// to node-b from then on. `resubscribe_ms`: when connection 4 on node-b subscribes again.
auto shard_run(std::optional<std::int64_t> resubscribe_ms) -> pubsub_run {
  pubsub_run b;
  b.scn.load.pubsub->kind = scenario::subscribe_kind::shard;
  b.open(0, "node-a", 2);
  b.add(10, "node-a", 2, tl::command_received{2, {"SSUBSCRIBE", pubsub_run::channel}});
  b.add(1000, "node-a", 0, tl::slot_migration_completed{"node-a", "node-b", "0-2730"});
  b.push(1001, "node-a", 2, "SMIGRATED", 8, std::nullopt, "migrate.smigrated");
  b.open(1050, "node-b", 4);
  if (resubscribe_ms) {
    b.add(*resubscribe_ms, "node-b", 4,
          tl::command_received{2, {"SSUBSCRIBE", pubsub_run::channel}});
  }
  const auto back = resubscribe_ms.value_or(1'000'000);
  b.publish_all(
      3000,
      [back](std::int64_t at) {
        return at < 1000   ? std::vector<std::uint64_t>{2}
               : at < back ? std::vector<std::uint64_t>{}
                           : std::vector<std::uint64_t>{4};
      },
      [back](std::int64_t seq) { return seq * 100 >= 1000 && seq * 100 < back ? 0 : 1; });
  b.finish(3000);
  return b;
}

// The slot's move ended the subscription on node-a (the server's sunsubscribe), not the
// client: the messages published before it subscribes on node-b fall in an explained gap.
TEST(PubsubContinuity, AShardSubscriptionEndsWhereItsSlotLeavesTheNode) {
  const auto b = shard_run(1150);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::pass) << r.summary;
  EXPECT_NE(r.summary.find("2 message(s) published in them"), std::string::npos) << r.summary;
}

TEST(PubsubContinuity, FailsWhenAShardChannelIsNotSubscribedOnItsNewOwner) {
  const auto b = shard_run(std::nullopt);
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_NE(std::find(r.violations.begin(), r.violations.end(), "not_resubscribed"),
            r.violations.end());
  EXPECT_TRUE(has_finding(r, "ended at +1000.0 ms (sunsubscribe from the server)")) << r.summary;
  EXPECT_TRUE(has_finding(r, "after slot 2135 moved from node-a to node-b")) << r.summary;
  EXPECT_TRUE(has_finding(r, "never held again")) << r.summary;
}

TEST(PubsubContinuity, ALateShardResubscriptionFails) {
  auto b = shard_run(1450);
  b.scn.expect.resubscribe_within = milliseconds{200};
  const auto r = check_pubsub_continuity(b.input());
  EXPECT_EQ(r.outcome, verdict::status::fail);
  EXPECT_TRUE(has_finding(r, "450 ms, more than the 200 ms allowed")) << r.summary;
}

// A move of other slots, or of this slot from another node, leaves the subscription alone.
TEST(PubsubContinuity, OnlyTheChannelsOwnSlotLeavingItsNodeEndsAShardSubscription) {
  auto b = shard_run(std::nullopt);
  for (auto& e : b.events) {
    if (auto* m = std::get_if<tl::slot_migration_completed>(&e.what)) m->slots = "3000-4000";
  }
  b.driver.pubsub.messages.clear();
  for (std::int64_t seq = 1; seq * 100 < 3000; ++seq) b.report(seq, seq * 100 + 2);
  auto r = check_pubsub_continuity(b.input());
  EXPECT_TRUE(r.violations.empty()) << r.summary;
  for (auto& e : b.events) {
    if (auto* m = std::get_if<tl::slot_migration_completed>(&e.what)) {
      *m = tl::slot_migration_completed{"node-c", "node-b", "0-2730"};
    }
  }
  r = check_pubsub_continuity(b.input());
  EXPECT_TRUE(r.violations.empty()) << r.summary;
}

}  // namespace
}  // namespace pubsub_check_test
