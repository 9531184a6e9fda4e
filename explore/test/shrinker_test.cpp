#include <schsim/core/scenario/validate.hpp>
#include <schsim/explore/generator.hpp>
#include <schsim/explore/shrinker.hpp>  // first: the header is self-contained
#include <schsim/scenario_io/save.hpp>

#include <gtest/gtest.h>

#include <algorithm>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace shrinker_test {
namespace {

namespace sc = schsim::scenario;
namespace ex = schsim::explore;
namespace io = schsim::scenario_io;
using namespace std::chrono_literals;

auto budget(std::size_t max_attempts, std::size_t batch = 1) -> ex::shrink_options {
  ex::shrink_options o;
  o.max_attempts = max_attempts;
  o.batch = batch;
  return o;
}

auto has_action(const sc::scenario& s, std::string_view name) -> bool {
  return std::ranges::any_of(s.steps,
                             [&](const sc::step& st) { return sc::action_name(st.what) == name; });
}

// A stand-in for "the client still fails": a MOVING together with reply latency or a stall,
// the combination drop-buffered trips over. No sockets: the shrinker only sees this function.
auto moving_while_slow(const sc::scenario& s) -> bool {
  const bool moving = has_action(s, "moving_lifecycle") || has_action(s, "rolling_upgrade") ||
                      has_action(s, "maintenance_mode");
  const bool slow = has_action(s, "latency") || has_action(s, "stall") ||
                    std::ranges::any_of(s.steps, [](const sc::step& st) {
                      return std::visit(
                          [](const auto& a) {
                            if constexpr (requires { a.latency; }) {
                              return a.latency > std::chrono::milliseconds{0};
                            } else {
                              return false;
                            }
                          },
                          st.what);
                    });
  return moving && slow;
}

// Generated cases the fake predicate calls failing, with more steps than the minimum.
auto failing_cases() -> std::vector<sc::scenario> {
  std::vector<sc::scenario> out;
  for (std::uint64_t i = 0; out.size() < 12 && i < 2000; ++i) {
    auto s = ex::generate(77, i, ex::profile::standalone);
    if (moving_while_slow(s) && s.steps.size() >= 3) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

TEST(ExploreShrinker, KeepsTheFailureAndEndsAtALocalMinimum) {
  const auto cases = failing_cases();
  ASSERT_GE(cases.size(), 5U);
  for (const auto& original : cases) {
    SCOPED_TRACE(io::to_toml(original));
    const std::function<bool(const sc::scenario&)> predicate = moving_while_slow;
    const auto r = ex::shrink(original, predicate, budget(100000));
    EXPECT_FALSE(r.budget_exhausted);
    EXPECT_TRUE(moving_while_slow(r.minimal)) << io::to_toml(r.minimal);
    EXPECT_TRUE(sc::validate(r.minimal).empty());
    EXPECT_TRUE(ex::runnable(r.minimal));
    EXPECT_LT(r.minimal.steps.size(), original.steps.size());
    EXPECT_LE(r.minimal.steps.size(), 2U) << io::to_toml(r.minimal);
    EXPECT_LE(r.minimal.duration, original.duration);
    // Local minimum: without any one of its steps the scenario passes.
    for (std::size_t i = 0; i < r.minimal.steps.size(); ++i) {
      auto fewer = r.minimal;
      fewer.steps.erase(fewer.steps.begin() + static_cast<std::ptrdiff_t>(i));
      EXPECT_FALSE(moving_while_slow(fewer))
          << "step " << r.minimal.steps[i].id << " is not needed";
    }
    EXPECT_FALSE(r.changes.empty());
  }
}

TEST(ExploreShrinker, ShortensAndRoundsTimes) {
  const auto original = failing_cases().front();
  const std::function<bool(const sc::scenario&)> predicate = moving_while_slow;
  const auto r = ex::shrink(original, predicate, budget(100000));
  for (const auto& st : r.minimal.steps) {
    const auto* when = std::get_if<sc::when_observed>(&st.start);
    ASSERT_NE(when, nullptr);
    EXPECT_EQ(when->delay, 0ms) << st.id << ": nothing in the predicate needs a delay";
  }
  // Cut to what the timeline needs, on the 500 ms grid.
  EXPECT_EQ(r.minimal.duration, ex::required_duration(r.minimal, 1000ms));
}

TEST(ExploreShrinker, RemovingAStepKeepsTheTimeOfStepsThatFollowedIt) {
  sc::scenario s;
  s.meta = {"t", "t"};
  s.duration = 5s;
  s.topo.start = "node-a";
  s.topo.endpoints.resize(1);
  s.topo.endpoints[0].name = "node-a";
  s.steps.push_back(
      {"first", sc::at_time{1s}, sc::latency_action{"node-a", 100ms, std::nullopt}, 0});
  s.steps.push_back({"second", sc::after_step{"first", 500ms}, sc::release_action{"node-a"}, 1});
  const auto all = ex::candidates(s);
  const auto it = std::ranges::find(all, std::string("remove step first"), &ex::candidate::change);
  ASSERT_NE(it, all.end());
  ASSERT_EQ(it->scn.steps.size(), 1U);
  EXPECT_EQ(std::get<sc::at_time>(it->scn.steps[0].start).at, 1500ms);
  EXPECT_EQ(it->scn.steps[0].origin, 0U);
}

TEST(ExploreShrinker, EveryCandidateIsRunnable) {
  for (std::uint64_t i = 0; i < 40; ++i) {
    const auto s = ex::generate(3, i, ex::profile::all);
    for (const auto& c : ex::candidates(s)) {
      EXPECT_TRUE(sc::validate(c.scn).empty()) << c.change;
      EXPECT_TRUE(ex::runnable(c.scn)) << c.change;
      EXPECT_FALSE(c.scn == s) << c.change << " changes nothing";
    }
  }
}

TEST(ExploreShrinker, StopsWhenTheBudgetIsSpent) {
  const auto original = failing_cases().front();
  std::size_t calls = 0;
  const std::function<bool(const sc::scenario&)> predicate = [&](const sc::scenario& s) {
    ++calls;
    return moving_while_slow(s);
  };
  const auto r = ex::shrink(original, predicate, budget(3));
  EXPECT_TRUE(r.budget_exhausted);
  EXPECT_EQ(r.attempts, 3U);
  EXPECT_EQ(calls, 3U);
  EXPECT_TRUE(moving_while_slow(r.minimal));
}

TEST(ExploreShrinker, BatchesGiveTheSameResultAsOneAtATime) {
  const auto original = failing_cases().front();
  const std::function<bool(const sc::scenario&)> predicate = moving_while_slow;
  const auto one = ex::shrink(original, predicate, budget(100000, 1));
  const auto four = ex::shrink(original, predicate, budget(100000, 4));
  EXPECT_TRUE(one.minimal == four.minimal);
  EXPECT_EQ(one.changes, four.changes);
}

TEST(ExploreShrinker, NothingStillFailsLeavesTheScenarioAsItWas) {
  const auto original = failing_cases().front();
  const std::function<bool(const sc::scenario&)> never = [](const sc::scenario&) { return false; };
  const auto r = ex::shrink(original, never, budget(100000));
  EXPECT_TRUE(r.minimal == original);
  EXPECT_TRUE(r.changes.empty());
  EXPECT_EQ(r.attempts, ex::candidates(original).size());
}

}  // namespace
}  // namespace shrinker_test
