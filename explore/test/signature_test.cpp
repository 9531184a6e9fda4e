#include <schsim/explore/signature.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <string>
#include <vector>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace signature_test {
namespace {

namespace ex = schsim::explore;
namespace v = schsim::verdict;

auto check(const std::string& id, v::status outcome, std::vector<std::string> violations,
           bool critical = true) -> v::check_result {
  v::check_result c;
  c.id = id;
  c.outcome = outcome;
  c.critical = critical;
  c.violations = std::move(violations);
  return c;
}

auto failed_run(std::vector<v::check_result> checks) -> v::case_result {
  v::case_result r;
  r.outcome = v::case_outcome::failed;
  r.checks = std::move(checks);
  return r;
}

TEST(FailureSignature, IsTheFirstCriticalFailedCheckWithItsBrokenRules) {
  const auto r = failed_run({check("zero_dropped", v::status::pass, {}),
                             check("latency", v::status::fail, {"max_latency_reached"}, false),
                             check("timeout_relaxation", v::status::fail,
                                   {"relaxed.timed_out_early", "normal.no_result"})});
  const auto sig = ex::signature_of(r);
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(sig->check, "timeout_relaxation");
  EXPECT_EQ(sig->violations,
            (std::vector<std::string>{"relaxed.timed_out_early", "normal.no_result"}));
  EXPECT_EQ(sig->label(), "timeout_relaxation (relaxed.timed_out_early, normal.no_result)");
}

TEST(FailureSignature, NoneForAPassOrAnUnsupportedClient) {
  v::case_result r;
  r.outcome = v::case_outcome::passed;
  EXPECT_FALSE(ex::signature_of(r).has_value());
  r.outcome = v::case_outcome::unsupported;
  EXPECT_FALSE(ex::signature_of(r).has_value());
  r.outcome = v::case_outcome::hung;
  ASSERT_TRUE(ex::signature_of(r).has_value());
  EXPECT_EQ(ex::signature_of(r)->label(), "hung");
}

// The shrinker's rule: the same check failing for another reason is another finding (a client
// that gave up early inside a relaxed window is not one that gave up late outside any).
TEST(FailsLike, NeedsTheSameCheckBreakingOneOfTheSameRules) {
  const auto original = ex::signature_of(
      failed_run({check("timeout_relaxation", v::status::fail, {"relaxed.timed_out_early"})}));
  ASSERT_TRUE(original.has_value());
  EXPECT_TRUE(
      ex::fails_like(failed_run({check("timeout_relaxation", v::status::fail,
                                       {"normal.timed_out_late", "relaxed.timed_out_early"})}),
                     *original));
  EXPECT_FALSE(ex::fails_like(
      failed_run({check("timeout_relaxation", v::status::fail, {"normal.timed_out_late"})}),
      *original));
  EXPECT_FALSE(ex::fails_like(
      failed_run({check("zero_dropped", v::status::fail, {"relaxed.timed_out_early"})}),
      *original));
  EXPECT_FALSE(ex::fails_like(
      failed_run({check("timeout_relaxation", v::status::pass, {"relaxed.timed_out_early"})}),
      *original));
  auto crashed =
      failed_run({check("timeout_relaxation", v::status::fail, {"relaxed.timed_out_early"})});
  crashed.outcome = v::case_outcome::crashed;
  EXPECT_FALSE(ex::fails_like(crashed, *original));
}

// A report written before checks named their rules (or a check with none) matches by check.
TEST(FailsLike, ByCheckAloneWhenTheOriginalNamesNoRule) {
  const ex::failure_signature by_check{v::case_outcome::failed, "handshake", {}};
  EXPECT_TRUE(
      ex::fails_like(failed_run({check("handshake", v::status::fail, {"no_opt_in"})}), by_check));
}

TEST(SameFinding, GroupsByOutcomeCheckAndACommonRule) {
  const ex::failure_signature a{v::case_outcome::failed, "zero_dropped", {"failed.timeout"}};
  const ex::failure_signature b{
      v::case_outcome::failed, "zero_dropped", {"no_result", "failed.timeout"}};
  const ex::failure_signature c{v::case_outcome::failed, "zero_dropped", {"failed.connection"}};
  const ex::failure_signature d{v::case_outcome::failed, "handshake", {"failed.timeout"}};
  EXPECT_TRUE(ex::same_finding(a, b));
  EXPECT_FALSE(ex::same_finding(a, c));
  EXPECT_FALSE(ex::same_finding(a, d));
}

}  // namespace
}  // namespace signature_test
