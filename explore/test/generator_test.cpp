#include <schsim/core/scenario/expand.hpp>
#include <schsim/core/scenario/validate.hpp>
#include <schsim/explore/generator.hpp>  // first: the header is self-contained
#include <schsim/explore/rng.hpp>
#include <schsim/explore/shrinker.hpp>
#include <schsim/scenario_io/load.hpp>
#include <schsim/scenario_io/save.hpp>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace generator_test {
namespace {

namespace sc = schsim::scenario;
namespace ex = schsim::explore;
namespace io = schsim::scenario_io;
using namespace std::chrono_literals;

TEST(ExploreRng, KnownValuesOnEveryPlatform) {
  // SplitMix64's published first output for seed 0: the stream must never depend on the
  // standard library, or a seed would not reproduce a scenario elsewhere.
  ex::rng r(0);
  EXPECT_EQ(r.next(), 0xe220a8397b1dcdafULL);
  ex::rng bounded(1);
  for (int i = 0; i < 1000; ++i) {
    const auto v = bounded.between(-3, 4);
    EXPECT_GE(v, -3);
    EXPECT_LE(v, 4);
  }
}

TEST(ExploreGenerator, SameSeedSameBytes) {
  for (std::uint64_t i = 0; i < 60; ++i) {
    const auto a = io::to_toml(ex::generate(12345, i, ex::profile::all));
    const auto b = io::to_toml(ex::generate(12345, i, ex::profile::all));
    EXPECT_EQ(a, b) << "case " << i;
  }
}

TEST(ExploreGenerator, DifferentSeedsAndIndexesGiveDifferentScenarios) {
  std::set<std::string> texts;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    for (std::uint64_t i = 0; i < 20; ++i) {
      auto s = ex::generate(seed, i, ex::profile::all);
      s.meta.id.clear();  // the id names seed and index; compare the content
      s.seed.reset();
      texts.insert(io::to_toml(s));
    }
  }
  EXPECT_GT(texts.size(), 95U);
}

auto errors_of(const io::load_result& r) -> std::string {
  std::string out;
  for (const auto& e : r.errors) {
    out += io::to_string(e) + "\n";
  }
  return out;
}

// Thousands of seeds: every scenario validates, fits its duration, stays short, and its file
// (what explore writes for a failure) loads back as the same scenario.
TEST(ExploreGenerator, EveryGeneratedScenarioIsValidAndRoundTrips) {
  for (std::uint64_t seed = 0; seed < 3000; ++seed) {
    const auto which = seed % 3 == 0   ? ex::profile::cluster
                       : seed % 3 == 1 ? ex::profile::standalone
                                       : ex::profile::all;
    const auto s = ex::generate(seed, seed / 7, which);
    const auto problems = sc::validate(s);
    ASSERT_TRUE(problems.empty()) << "seed " << seed << ": " << problems.front().path << ": "
                                  << problems.front().message << "\n"
                                  << io::to_toml(s);
    ASSERT_TRUE(ex::runnable(s)) << "seed " << seed;
    EXPECT_LE(s.duration, 10s) << "seed " << seed;
    EXPECT_FALSE(s.steps.empty());
    const auto text = io::to_toml(s);
    const auto back = io::load_string(text, "generated.toml");
    ASSERT_TRUE(back.ok()) << "seed " << seed << "\n" << errors_of(back) << text;
    ASSERT_TRUE(*back.value == s) << "seed " << seed << "\n" << text;
  }
}

// The grammar reaches every action it claims to, standalone and cluster.
TEST(ExploreGenerator, CoversTheFormat) {
  std::map<std::string, int> actions;
  int dialects = 0;
  int explicit_seqs = 0;
  for (std::uint64_t i = 0; i < 600; ++i) {
    const auto s = ex::generate(99, i, ex::profile::all);
    for (const auto& st : s.steps) {
      ++actions[std::string(sc::action_name(st.what))];
      std::visit(
          [&](const auto& a) {
            if constexpr (requires { a.dialect; }) {
              dialects += a.dialect.has_value() ? 1 : 0;
            }
            if constexpr (requires { a.seq; }) {
              explicit_seqs += a.seq.has_value() ? 1 : 0;
            }
          },
          st.what);
    }
  }
  for (const auto* name :
       {"send", "raw", "latency", "stall", "fragment", "close", "moving_lifecycle",
        "rolling_upgrade", "in_place_upgrade", "maintenance_mode", "migrate", "failover",
        "slot_migration", "remove_node", "add_node", "slot_shuffle"}) {
    EXPECT_GT(actions[name], 0) << name << " never generated";
  }
  EXPECT_GT(dialects, 20);
  EXPECT_GT(explicit_seqs, 20);
}

TEST(ExploreGenerator, ProfilesChooseTheTopology) {
  for (std::uint64_t i = 0; i < 50; ++i) {
    EXPECT_FALSE(ex::generate(5, i, ex::profile::standalone).topo.cluster);
    EXPECT_TRUE(ex::generate(5, i, ex::profile::cluster).topo.cluster);
  }
  EXPECT_EQ(ex::parse_profile("cluster"), ex::profile::cluster);
  EXPECT_FALSE(ex::parse_profile("everything").has_value());
}

TEST(ExploreGenerator, TimelineEndCountsWhenTriggersFromTheAssumedHandshake) {
  sc::scenario s;
  s.steps.push_back({"a", sc::when_observed{sc::observed_counter::handshakes, 1, "", 300ms},
                     sc::latency_action{"node-a", 100ms, std::nullopt}, 0});
  s.steps.push_back({"b", sc::after_step{"a", 700ms},
                     sc::stall_action{"node-a", std::optional<std::chrono::milliseconds>{400ms}},
                     1});
  // b at 500 + 300 + 700 = 1500 ms, its generated end step 400 ms later.
  EXPECT_EQ(ex::estimated_timeline_end(s, 500ms), 1900ms);
  EXPECT_EQ(ex::required_duration(s, 1000ms), 3000ms);
}

}  // namespace
}  // namespace generator_test
