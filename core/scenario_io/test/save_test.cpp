#include <schsim/scenario_io/load.hpp>
#include <schsim/scenario_io/save.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "support/scenario_helpers.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace save_test {
namespace {

using schsim::test::errors_of;

namespace sc = schsim::scenario;
namespace io = schsim::scenario_io;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Writes `s`, loads the text back and expects the same scenario.
void expect_round_trip(const sc::scenario& s) {
  const auto text = io::to_toml(s);
  const auto back = io::load_string(text, "written.toml");
  ASSERT_TRUE(back.ok()) << errors_of(back) << "\n" << text;
  EXPECT_TRUE(*back.value == s) << text;
  // Writing is a pure function of the scenario: the second write is the same text.
  EXPECT_EQ(io::to_toml(*back.value), text);
}

// Every built-in scenario (every action, trigger and option the suite uses) survives
// load -> write -> load unchanged.
TEST(ScenarioSave, EveryBuiltinScenarioRoundTrips) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(SCHSIM_SOURCE_DIR) / "scenarios")) {
    if (e.path().extension() == ".toml") {
      files.push_back(e.path());
    }
  }
  ASSERT_GT(files.size(), 20U);
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    const auto loaded = io::load_file(f);
    ASSERT_TRUE(loaded.ok()) << errors_of(loaded);
    expect_round_trip(*loaded.value);
  }
}

auto two_endpoints() -> sc::scenario {
  sc::scenario s;
  s.meta.id = "round-trip";
  s.meta.title = "every spelling the writer has to choose";
  s.duration = 4500ms;
  s.topo.start = "node-a";
  s.topo.endpoints.resize(2);
  s.topo.endpoints[0].name = "node-a";
  s.topo.endpoints[1].name = "node-b";
  s.topo.endpoints[1].initial_state = sc::endpoint_state::not_accepting;
  s.topo.endpoints[1].shards = {"3", "4"};
  return s;
}

// Keys the built-in suite never sets: targets in table form, raw bytes that are not ASCII, a
// disabled relaxed timeout, the probe, every trigger form.
TEST(ScenarioSave, UnusualValuesRoundTrip) {
  auto s = two_endpoints();
  s.seed = 42;
  s.seq_start = 9;
  s.client.relaxed_timeout.reset();
  s.client.moving_endpoint_type = sc::endpoint_type::external_fqdn;
  s.load.rate = 12.5;
  s.load.mix = {{"get", 2}, {"ping", 1}};
  s.load.probe = sc::latency_probe{250ms, "ping"};
  s.load.transactions = sc::transactions_workload{.rate = 2.5, .size = 7, .watch = true};
  s.expect.max_error_rate = 0.25;
  s.expect.reconnects = sc::count_band{1, std::nullopt};
  s.dialect.simple_string_name = true;

  sc::send_action moving;
  moving.notification = schsim::maint::moving{.time_s = 2, .endpoint = std::nullopt};
  moving.to.scope = sc::target_scope::connection;
  moving.to.pick = sc::connection_pick::last;
  moving.to.endpoint = "node-a";
  moving.to.filter = sc::opt_in_filter::any;
  moving.replay = sc::replay_policy::never;
  moving.dialect = schsim::maint::dialect{.null_as_string = true};
  s.steps.push_back(
      {"first", sc::when_observed{sc::observed_counter::commands, 3, "node-a", 5ms}, moving, 0});

  sc::raw_action raw;
  raw.bytes = std::string("\x3e\x01\xff\r\n", 5);
  raw.to.scope = sc::target_scope::connection;
  raw.to.ordinal = 2;
  s.steps.push_back({"raw", sc::after_step{"first", 0ms}, raw, 1});

  sc::close_action close;
  close.to.opened_before = "first";
  close.how = sc::close_mode::rst;
  close.point = sc::close_point::mid_frame;
  close.reason = "killed";
  s.steps.push_back({"close", sc::at_time{1500ms}, close, 2});

  s.steps.push_back(
      {"refuse", sc::at_time{2s}, sc::accept_action{"node-b", sc::endpoint_state::down}, 3});
  expect_round_trip(s);
}

TEST(ScenarioSave, DurationsAreWrittenWithTheirUnit) {
  auto s = two_endpoints();
  s.steps.push_back(
      {"slow", sc::at_time{1s},
       sc::latency_action{"node-a", 250ms, std::optional<std::chrono::milliseconds>{2s}}, 0});
  const auto text = io::to_toml(s);
  EXPECT_NE(text.find("duration = \"4500ms\""), std::string::npos) << text;
  EXPECT_NE(text.find("delay = \"250ms\""), std::string::npos) << text;
  EXPECT_NE(text.find("window = \"2s\""), std::string::npos) << text;
  EXPECT_NE(text.find("at = \"1s\""), std::string::npos) << text;
  // Defaults are left out: nothing under [client] or [workload] was changed.
  EXPECT_EQ(text.find("[client]"), std::string::npos) << text;
  EXPECT_EQ(text.find("[workload]"), std::string::npos) << text;
  // The sections come in reading order.
  EXPECT_LT(text.find("[scenario]"), text.find("[topology]"));
  EXPECT_LT(text.find("[[topology.endpoint]]"), text.find("[[step]]"));
  // Triggers and targets stay on the step's own lines.
  EXPECT_EQ(text.find("[step."), std::string::npos) << text;
}

}  // namespace
}  // namespace save_test
