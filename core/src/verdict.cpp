#include <schsim/core/verdict.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace schsim::verdict {

namespace {
constexpr std::array<std::pair<status, std::string_view>, 5> status_names{{
    {status::pass, "pass"},
    {status::fail, "fail"},
    {status::unsupported, "unsupported"},
    {status::skipped, "skipped"},
    {status::not_judged, "not_judged"},
}};
constexpr std::array<std::pair<case_outcome, std::string_view>, 7> outcome_names{{
    {case_outcome::passed, "passed"},
    {case_outcome::failed, "failed"},
    {case_outcome::unsupported, "unsupported"},
    {case_outcome::crashed, "crashed"},
    {case_outcome::hung, "hung"},
    {case_outcome::error, "error"},
    {case_outcome::inconclusive, "inconclusive"},
}};
}  // namespace

void add_finding(check_result& r, std::string_view rule, std::string text) {
  r.findings.push_back(std::move(text));
  if (std::ranges::find(r.violations, rule) == r.violations.end()) {
    r.violations.emplace_back(rule);
  }
}

auto to_string(status s) -> std::string_view {
  for (const auto& [value, name] : status_names) {
    if (value == s) {
      return name;
    }
  }
  return "?";
}

auto parse_status(std::string_view s) -> std::optional<status> {
  for (const auto& [value, name] : status_names) {
    if (name == s) {
      return value;
    }
  }
  return std::nullopt;
}

auto to_string(case_outcome o) -> std::string_view {
  for (const auto& [value, name] : outcome_names) {
    if (value == o) {
      return name;
    }
  }
  return "?";
}

auto parse_case_outcome(std::string_view s) -> std::optional<case_outcome> {
  for (const auto& [value, name] : outcome_names) {
    if (name == s) {
      return value;
    }
  }
  return std::nullopt;
}

auto within(const tolerance& band, double value) -> bool {
  if (band.low && value < *band.low) {
    return false;
  }
  return !(band.high && value >= *band.high);
}

auto outcome_from_checks(const std::vector<check_result>& checks) -> case_outcome {
  const bool failed = std::any_of(checks.begin(), checks.end(), [](const check_result& c) {
    return c.critical && c.outcome == status::fail;
  });
  if (failed) {
    return case_outcome::failed;
  }
  const bool critical_not_judged = std::any_of(
      checks.begin(), checks.end(),
      [](const check_result& c) { return c.critical && c.outcome == status::not_judged; });
  if (critical_not_judged) {
    return case_outcome::inconclusive;
  }
  // Every check unsupported means the client could not be judged on this scenario at all.
  const bool all_unsupported =
      !checks.empty() &&
      std::all_of(checks.begin(), checks.end(),
                  [](const check_result& c) {
                    return c.outcome == status::unsupported || c.outcome == status::skipped;
                  }) &&
      std::any_of(checks.begin(), checks.end(),
                  [](const check_result& c) { return c.outcome == status::unsupported; });
  return all_unsupported ? case_outcome::unsupported : case_outcome::passed;
}

auto outcome_of_case(const std::vector<check_result>& checks,
                     const std::vector<std::string>& steps_not_run) -> case_outcome {
  const auto from_checks = outcome_from_checks(checks);
  if (steps_not_run.empty() || from_checks == case_outcome::failed) {
    return from_checks;
  }
  return case_outcome::inconclusive;
}

}  // namespace schsim::verdict
