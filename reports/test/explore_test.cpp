#include <schsim/reports/explore.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace explore_test {
namespace {

namespace r = schsim::reports;

auto sample() -> r::explore_summary {
  r::explore_summary s;
  s.schsim_version = "0.1.0";
  s.command_line = "schsim explore --client reference --broken=no-relax --seed 7";
  s.client = "reference --broken=no-relax";
  s.seed = 7;
  s.profile = "standalone";
  s.stopped_because = "first failure";
  s.cases_run = 4;
  s.passed = 3;
  s.failed = 1;
  r::explore_failure f;
  f.case_id = "explore-7-3";
  f.outcome = "failed";
  f.check = "timeout_relaxation";
  f.violations = {"relaxed.timed_out_early", "normal.no_result"};
  f.summary = "2 commands timed out <inside> a window";
  f.original_steps = 6;
  f.minimal_steps = 2;
  f.classification = "deterministic";
  f.confirmed = 5;
  f.confirm_runs = 5;
  f.minimal_file = "failures/explore-7-3.min.toml";
  f.minimal_page = "cases/explore-7-3-min--reference--r0.html";
  f.minimal_toml = "[scenario]\nid = \"explore-7-3-min\"\n";
  f.changes = {"remove step stall-2", "duration 3000 ms"};
  s.failures.push_back(f);
  return s;
}

TEST(ExploreHtml, ShowsEachFailureWithItsMinimalScenarioAndLinks) {
  const auto html = r::to_html_explore(sample());
  EXPECT_NE(html.find("explore-7-3"), std::string::npos);
  EXPECT_NE(html.find("timeout_relaxation"), std::string::npos);
  EXPECT_NE(html.find("6 generated, 2 after shrinking"), std::string::npos);
  EXPECT_NE(html.find("href=\"failures/explore-7-3.min.toml\""), std::string::npos);
  EXPECT_NE(html.find("href=\"cases/explore-7-3-min--reference--r0.html\""), std::string::npos);
  EXPECT_NE(html.find("failed 5 of 5 runs"), std::string::npos);
  EXPECT_NE(html.find("<td>rules broken</td><td><code>relaxed.timed_out_early, "
                      "normal.no_result</code>"),
            std::string::npos);
  EXPECT_NE(html.find("<li>remove step stall-2</li>"), std::string::npos);
  // Text from scenarios and summaries is escaped.
  EXPECT_NE(html.find("&lt;inside&gt;"), std::string::npos);
  EXPECT_NE(html.find("id = &quot;explore-7-3-min&quot;"), std::string::npos);
  EXPECT_EQ(html.find("<inside>"), std::string::npos);
}

TEST(ExploreHtml, SaysSoWhenNothingFailed) {
  auto s = sample();
  s.failures.clear();
  const auto html = r::to_html_explore(s);
  EXPECT_NE(html.find("No generated case failed."), std::string::npos);
  EXPECT_NE(html.find("4 (3 passed"), std::string::npos);
}

}  // namespace
}  // namespace explore_test
