#include <schsim/core/scenario/validate.hpp>
#include <schsim/harness/checks.hpp>
#include <schsim/harness/profile.hpp>
#include <schsim/scenario_io/load.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace profile_test {
namespace {

using namespace schsim;
using namespace std::chrono_literals;
namespace sc = schsim::scenario;
namespace fs = std::filesystem;

auto contains(const std::vector<std::string>& v, std::string_view x) -> bool {
  return std::find(v.begin(), v.end(), x) != v.end();
}

/// A MOVING scenario in the shape of moving-new-endpoint: the step waits for the first opt-in,
/// a push that a test scenario may send to every connection, and a close of opted-in ones.
auto moving_scenario() -> sc::scenario {
  sc::scenario s;
  s.meta.id = "moving-x";
  s.meta.tags = {"moving"};
  s.topo.start = "node-a";
  s.topo.endpoints = {sc::endpoint{.name = "node-a"}, sc::endpoint{.name = "node-b"}};
  s.client.timeout = 250ms;
  sc::moving_lifecycle_action moving;
  moving.from = "node-a";
  moving.to = "node-b";
  s.steps.push_back(
      {"handoff", sc::when_observed{sc::observed_counter::handshakes, 1, "", 500ms}, moving, 0});
  sc::send_action to_everyone;
  to_everyone.notification = maint::migrating{1, 1, {"1"}};
  to_everyone.to.filter = sc::opt_in_filter::any;
  s.steps.push_back({"push", sc::at_time{1s}, to_everyone, 1});
  sc::close_action close_opted_in;
  close_opted_in.to.filter = sc::opt_in_filter::opted_in;
  s.steps.push_back({"close", sc::at_time{2s}, close_opted_in, 2});
  s.expect.checks = {"handshake", "handoff", "no_lost_commands", "no_errors", "final_endpoint"};
  s.expect.handshake = sc::handshake_outcome::accepted;
  s.expect.final_endpoint = "node-b";
  s.expect.handoff_within = 1s;
  s.expect.reconnects = sc::count_band{1, 1};
  s.expect.max_error_rate = 0.05;
  return s;
}

TEST(Profile, ParsesItsTwoNames) {
  EXPECT_EQ(harness::parse_profile("sch"), harness::profile::sch);
  EXPECT_EQ(harness::parse_profile("legacy"), harness::profile::legacy);
  EXPECT_THROW((void)harness::parse_profile("Legacy"), std::invalid_argument);
  EXPECT_EQ(harness::to_string(harness::profile::legacy), "legacy");
}

TEST(LegacyProfile, DisablesSchAndKeepsTheMaintenance) {
  const auto legacy = harness::to_legacy(moving_scenario());
  ASSERT_TRUE(legacy.scn) << legacy.skipped_because;
  const auto& s = *legacy.scn;
  EXPECT_EQ(s.meta.id, "moving-x-legacy");
  EXPECT_TRUE(contains(s.meta.tags, "legacy"));
  EXPECT_EQ(s.client.mode, sc::sch_mode::disabled);
  // The step still runs: it counts connections, as there is no opt-in to count.
  const auto& when = std::get<sc::when_observed>(s.steps[0].start);
  EXPECT_EQ(when.counter, sc::observed_counter::connections);
  EXPECT_EQ(when.delay, 500ms);
  EXPECT_TRUE(std::holds_alternative<sc::moving_lifecycle_action>(s.steps[0].what));
  // No push reaches a client that did not opt in; every close reaches it.
  EXPECT_EQ(std::get<sc::send_action>(s.steps[1].what).to.filter, sc::opt_in_filter::opted_in);
  EXPECT_EQ(std::get<sc::close_action>(s.steps[2].what).to.filter, sc::opt_in_filter::any);
}

TEST(LegacyProfile, ExpectsNoOptInAndKeepsTheBudgets) {
  const auto s = *harness::to_legacy(moving_scenario()).scn;
  EXPECT_EQ(s.expect.handshake, sc::handshake_outcome::not_sent);
  EXPECT_EQ(s.expect.connect, sc::connect_outcome::succeeds);
  EXPECT_TRUE(s.expect.final_endpoint.empty());
  EXPECT_FALSE(s.expect.handoff_within);
  EXPECT_EQ(s.expect.reconnects, (sc::count_band{1, 1}));
  EXPECT_EQ(s.expect.max_error_rate, 0.05);
  // handoff and final_endpoint go; reconnects keeps no_leaks, and latency is always reported.
  EXPECT_EQ(s.expect.checks,
            (std::vector<std::string>{"handshake", "no_lost_commands", "no_errors"}));
  EXPECT_EQ(harness::applicable_checks(s),
            (std::vector<std::string_view>{harness::zero_dropped_id, harness::handshake_id,
                                           harness::no_leaks_id, harness::latency_id}));
}

TEST(LegacyProfile, JudgesTheNormalTimeoutOnlyWhereAReplyOutlastsIt) {
  auto s = moving_scenario();
  s.expect.checks.clear();  // the defaults, spelled out without the SCH checks
  const auto no_delay = *harness::to_legacy(s).scn;
  EXPECT_EQ(no_delay.expect.checks,
            (std::vector<std::string>{"no_lost_commands", "handshake", "reconnects", "latency"}));
  s.steps.push_back({"short", sc::at_time{3s}, sc::latency_action{"node-a", 200ms, 500ms}, 3});
  EXPECT_FALSE(contains(harness::to_legacy(s).scn->expect.checks, "relaxed_timeouts"));
  s.steps.push_back({"long", sc::at_time{4s}, sc::latency_action{"node-a", 300ms, 500ms}, 4});
  EXPECT_TRUE(contains(harness::to_legacy(s).scn->expect.checks, "relaxed_timeouts"));
}

TEST(LegacyProfile, NeedsNoSchCapability) {
  auto s = moving_scenario();
  s.client.mode = sc::sch_mode::enabled;
  s.topo.endpoints[0].requirepass = "pw";
  s.client.password = "pw";
  const auto caps = harness::required_capabilities(*harness::to_legacy(s).scn);
  EXPECT_EQ(caps, std::vector<std::string>{"auth"});
}

TEST(LegacyProfile, SkipsTheListedScenariosWithAReason) {
  const std::set<std::string> expected{"dialect-drift",
                                       "no-sch-auto",
                                       "no-sch-enabled",
                                       "notification-failed-over",
                                       "notification-failing-over",
                                       "notification-migrated",
                                       "notification-migrating",
                                       "notification-moving",
                                       "notification-smigrated",
                                       "notification-smigrating",
                                       "sch-disabled",
                                       "seq-duplicate",
                                       "seq-non-monotonic",
                                       "seq-overlapping",
                                       "tls-auto-endpoint-type",
                                       "tls-moving-wrong-certificate"};
  std::set<std::string> listed;
  for (const auto& skip : harness::legacy_skips()) {
    listed.emplace(skip.id);
    EXPECT_FALSE(skip.reason.empty()) << skip.id;
    sc::scenario s;
    s.meta.id = std::string(skip.id);
    const auto legacy = harness::to_legacy(s);
    EXPECT_FALSE(legacy.scn) << skip.id;
    EXPECT_EQ(legacy.skipped_because, skip.reason);
  }
  EXPECT_EQ(listed, expected);
}

/// Every built-in scenario is either skipped (and exists: the list names real files) or becomes
/// a valid scenario that needs no SCH capability and names no check judged against a push.
TEST(LegacyProfile, EveryBuiltinScenarioIsSkippedOrRunsWithoutSch) {
  const fs::path dir = fs::path(SCHSIM_SOURCE_DIR) / "scenarios";
  std::set<std::string> seen;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") {
      continue;
    }
    const auto loaded = scenario_io::load_file(entry.path());
    ASSERT_TRUE(loaded.ok()) << entry.path();
    seen.insert(loaded.value->meta.id);
    const auto legacy = harness::to_legacy(*loaded.value);
    if (!legacy.scn) {
      continue;
    }
    const auto& s = *legacy.scn;
    for (const auto& p : sc::validate(s)) {
      ADD_FAILURE() << s.meta.id << ": " << p.path << ": " << p.message;
    }
    // Transport and workload capabilities (resp2, auth, cluster, tls, ...) stay; no SCH one.
    for (const auto& cap : harness::required_capabilities(s)) {
      for (const auto* sch : {"maint_notifications", "mode_auto", "mode_enabled", "handoff",
                              "moving_null_endpoint", "relaxed_timeouts"}) {
        EXPECT_NE(cap, sch) << s.meta.id;
      }
    }
    for (const auto id : harness::applicable_checks(s)) {
      EXPECT_NE(id, harness::handoff_timing_id) << s.meta.id;
      EXPECT_NE(id, harness::topology_refresh_id) << s.meta.id;
      EXPECT_NE(id, harness::removed_node_traffic_id) << s.meta.id;
    }
  }
  for (const auto& skip : harness::legacy_skips()) {
    EXPECT_TRUE(seen.contains(std::string(skip.id))) << skip.id << " is no built-in scenario";
  }
}

}  // namespace
}  // namespace profile_test
