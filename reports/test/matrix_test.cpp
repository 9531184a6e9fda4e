#include <schsim/reports/matrix.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace matrix_test {
namespace {

using namespace schsim;

auto make_case(const std::string& scenario, verdict::case_outcome outcome,
               const std::string& failed_check = {}) -> verdict::case_result {
  verdict::case_result c;
  c.scenario_id = scenario;
  c.outcome = outcome;
  c.client.name = "x";
  c.client.library = "lib";
  c.client.version = "1.2.3";
  if (!failed_check.empty()) {
    verdict::check_result chk;
    chk.id = failed_check;
    chk.outcome = verdict::status::fail;
    chk.summary = "2 of 10 commands failed";
    c.checks.push_back(chk);
  }
  return c;
}

auto sample_matrix() -> reports::matrix_result {
  reports::matrix_input a{"alpha", {}};
  a.run.cases = {make_case("s1", verdict::case_outcome::passed),
                 make_case("s2", verdict::case_outcome::failed, "zero_dropped")};
  reports::matrix_input b{"beta", {}};
  b.run.cases = {make_case("s1", verdict::case_outcome::crashed),
                 make_case("s2", verdict::case_outcome::passed)};
  return reports::build_matrix({a, b});
}

TEST(MatrixTest, BuildsOneCellPerClientAndScenario) {
  const auto m = sample_matrix();
  ASSERT_EQ(m.clients.size(), 2U);
  ASSERT_EQ(m.scenarios, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(m.clients[0].version, "1.2.3");
  EXPECT_EQ(m.cells[0][1].verdict, "fail");
  EXPECT_EQ(m.cells[0][1].failed_checks, std::vector<std::string>{"zero_dropped"});
  EXPECT_EQ(m.cells[0][1].failure_summaries,
            std::vector<std::string>{"zero_dropped: 2 of 10 commands failed"});
  EXPECT_TRUE(m.cells[0][1].link.starts_with("alpha/cases/"));
  EXPECT_EQ(m.cells[1][0].verdict, "crashed");
  const auto j = nlohmann::json::parse(reports::to_matrix_json(m));
  EXPECT_EQ(j["clients"][1]["cells"]["s1"]["verdict"], "crashed");
  EXPECT_EQ(j["clients"][0]["cells"]["s2"]["failure_summaries"][0],
            "zero_dropped: 2 of 10 commands failed");
  const auto xml = reports::to_matrix_junit(m);
  EXPECT_NE(xml.find("<testsuite name=\"beta\" tests=\"2\" failures=\"0\" errors=\"1\""),
            std::string::npos);
  EXPECT_NE(reports::to_matrix_html(m).find("href=\"alpha/cases/"), std::string::npos);
}

TEST(BaselineTest, MatchingBaselineHasNoDifferences) {
  const auto b = reports::parse_baseline(R"({"clients": {
    "alpha": {"s1": "pass", "s2": {"expected": "fail", "reason": "bug 1"}},
    "beta": {"s1": {"expected": "crashed", "reason": "bug 2"}, "s2": "pass"}}})");
  EXPECT_TRUE(reports::compare_to_baseline(sample_matrix(), b).empty());
}

TEST(BaselineTest, ReportsRegressionsFixedBugsAndMissingCells) {
  const auto b = reports::parse_baseline(R"({"clients": {
    "alpha": {"s1": "pass", "s2": "pass"},
    "beta": {"s2": {"expected": "fail", "reason": "bug 3"}}}})");
  const auto diffs = reports::compare_to_baseline(sample_matrix(), b);
  ASSERT_EQ(diffs.size(), 3U);
  EXPECT_EQ(diffs[0].client, "alpha");  // regression: expected pass, now fail
  EXPECT_EQ(diffs[0].expected, "pass");
  EXPECT_EQ(diffs[0].actual, "fail");
  // The line a CI log keeps says why the cell failed, not only that it did.
  EXPECT_NE(reports::describe(diffs[0]).find("zero_dropped: 2 of 10 commands failed"),
            std::string::npos);
  EXPECT_EQ(diffs[1].scenario, "s1");  // beta / s1 is not in the baseline
  EXPECT_TRUE(diffs[1].expected.empty());
  EXPECT_EQ(diffs[2].expected, "fail");  // fixed bug: expected fail, now pass
  EXPECT_EQ(diffs[2].actual, "pass");
  EXPECT_NE(reports::describe(diffs[2]).find("fixed"), std::string::npos);
}

TEST(BaselineTest, NonPassNeedsAReasonAndAKnownVerdict) {
  EXPECT_THROW(reports::parse_baseline(R"({"clients": {"a": {"s": {"expected": "fail"}}}})"),
               std::invalid_argument);
  EXPECT_THROW(reports::parse_baseline(R"({"clients": {"a": {"s": "flaky"}}})"),
               std::invalid_argument);
  EXPECT_THROW(reports::parse_baseline("not json"), std::invalid_argument);
}

TEST(BaselineTest, RacyCellAcceptsEachListedVerdictAndNothingElse) {
  const auto b = reports::parse_baseline(R"({"clients": {
    "alpha": {"s1": {"expected": ["fail", "pass"], "reason": "race 1"},
              "s2": {"expected": ["pass", "fail"], "reason": "race 2"}},
    "beta": {"s1": {"expected": ["fail", "pass"], "reason": "race 3"}, "s2": "pass"}}})");
  EXPECT_EQ(b.at("alpha").at("s1").describe_expected(), "fail or pass");
  const auto diffs = reports::compare_to_baseline(sample_matrix(), b);
  ASSERT_EQ(diffs.size(), 1U);  // beta / s1 crashed, which neither outcome of the race is
  EXPECT_EQ(diffs[0].client, "beta");
  EXPECT_EQ(diffs[0].expected, "fail or pass");
  EXPECT_EQ(diffs[0].actual, "crashed");
  EXPECT_EQ(reports::describe(diffs[0]).find("fixed"), std::string::npos);
  // Updating keeps a race that came out one of its ways, and round-trips the list.
  const auto updated = reports::updated_baseline(sample_matrix(), b);
  EXPECT_EQ(updated.at("alpha").at("s1").also, std::vector<std::string>{"pass"});
  EXPECT_EQ(updated.at("alpha").at("s1").reason, "race 1");
  const auto again = reports::parse_baseline(reports::to_baseline_json(updated));
  EXPECT_TRUE(again.at("alpha").at("s2").allows("fail"));
  EXPECT_TRUE(again.at("alpha").at("s2").allows("pass"));
  EXPECT_FALSE(again.at("alpha").at("s2").allows("hung"));
  // A race needs its reason even when one of its outcomes is a pass.
  EXPECT_THROW(
      reports::parse_baseline(R"({"clients": {"a": {"s": {"expected": ["pass", "fail"]}}}})"),
      std::invalid_argument);
  EXPECT_THROW(reports::parse_baseline(
                   R"({"clients": {"a": {"s": {"expected": ["fail", "flaky"], "reason": "r"}}}})"),
               std::invalid_argument);
}

TEST(BaselineTest, UpdateKeepsReasonsAndMarksNewFailures) {
  reports::baseline old;
  old["alpha"]["s2"] = {"fail", "bug 1"};
  old["gamma"]["s9"] = {"hung", "kept: did not run"};
  old["beta"]["s2"] = {"fail", "bug 3"};  // now passes
  old["alpha"]["s2"].verdict = "hung";    // now fails: the old reason explained another verdict
  auto b = reports::updated_baseline(sample_matrix(), old);
  EXPECT_EQ(b.at("beta").at("s2").verdict, "pass");
  EXPECT_EQ(b.at("alpha").at("s2").reason,
            std::string(reports::unexplained_reason) + " (was hung: bug 1)");
  old["alpha"]["s2"].verdict = "fail";
  b = reports::updated_baseline(sample_matrix(), old);
  EXPECT_EQ(b.at("alpha").at("s2").reason, "bug 1");
  EXPECT_EQ(b.at("alpha").at("s1").verdict, "pass");
  EXPECT_EQ(b.at("beta").at("s1").verdict, "crashed");
  EXPECT_EQ(b.at("beta").at("s1").reason, reports::unexplained_reason);
  EXPECT_EQ(b.at("gamma").at("s9").reason, "kept: did not run");
  // The written file reads back to the same baseline.
  const auto again = reports::parse_baseline(reports::to_baseline_json(b));
  EXPECT_EQ(again.at("beta").at("s1").verdict, "crashed");
  EXPECT_EQ(again.at("alpha").at("s2").reason, "bug 1");
}

}  // namespace
}  // namespace matrix_test
