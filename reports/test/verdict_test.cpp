#include <schsim/core/verdict.hpp>

#include <gtest/gtest.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace verdict_test {
namespace {

using namespace schsim::verdict;

auto check(status s, bool critical = true) -> check_result {
  check_result c;
  c.id = "x";
  c.outcome = s;
  c.critical = critical;
  return c;
}

TEST(Verdict, ToleranceIsHalfOpen) {
  const tolerance band{"t", 500.0, 600.0, "ms", ""};
  EXPECT_FALSE(within(band, 499.9));
  EXPECT_TRUE(within(band, 500.0));
  EXPECT_TRUE(within(band, 599.9));
  EXPECT_FALSE(within(band, 600.0));
  EXPECT_TRUE(within(tolerance{"open", std::nullopt, std::nullopt, "", ""}, -1e9));
}

TEST(Verdict, NamesRoundTrip) {
  for (const auto s :
       {status::pass, status::fail, status::unsupported, status::skipped, status::not_judged}) {
    EXPECT_EQ(parse_status(to_string(s)), s);
  }
  for (const auto o : {case_outcome::passed, case_outcome::failed, case_outcome::unsupported,
                       case_outcome::crashed, case_outcome::hung, case_outcome::error,
                       case_outcome::inconclusive}) {
    EXPECT_EQ(parse_case_outcome(to_string(o)), o);
  }
  EXPECT_FALSE(parse_status("maybe"));
}

TEST(Verdict, OutcomeFromChecks) {
  EXPECT_EQ(outcome_from_checks({check(status::pass), check(status::skipped)}),
            case_outcome::passed);
  EXPECT_EQ(outcome_from_checks({check(status::pass), check(status::fail)}), case_outcome::failed);
  // A non-critical failure is reported but does not fail the case.
  EXPECT_EQ(outcome_from_checks({check(status::pass), check(status::fail, false)}),
            case_outcome::passed);
  EXPECT_EQ(outcome_from_checks({check(status::unsupported), check(status::skipped)}),
            case_outcome::unsupported);
  EXPECT_EQ(outcome_from_checks({check(status::unsupported), check(status::pass)}),
            case_outcome::passed);
}

// Issue 18 item 8: a check with nothing to judge, or steps that never ran, is never a pass; a
// failure still beats it.
TEST(Verdict, NothingJudgedIsInconclusiveNeverAPass) {
  EXPECT_EQ(outcome_from_checks({check(status::pass), check(status::not_judged)}),
            case_outcome::inconclusive);
  EXPECT_EQ(outcome_from_checks({check(status::fail), check(status::not_judged)}),
            case_outcome::failed);
  EXPECT_EQ(outcome_from_checks({check(status::pass), check(status::not_judged, false)}),
            case_outcome::passed);
  EXPECT_EQ(outcome_of_case({check(status::pass)}, {"migrating"}), case_outcome::inconclusive);
  EXPECT_EQ(outcome_of_case({check(status::fail)}, {"migrating"}), case_outcome::failed);
  EXPECT_EQ(outcome_of_case({check(status::pass)}, {}), case_outcome::passed);
}

}  // namespace
}  // namespace verdict_test
