#include <schsim/explore/signature.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace schsim::explore {

namespace v = schsim::verdict;

namespace {

auto share_a_rule(const std::vector<std::string>& a, const std::vector<std::string>& b) -> bool {
  return std::ranges::any_of(
      a, [&](const std::string& rule) { return std::ranges::find(b, rule) != b.end(); });
}

}  // namespace

auto failure_signature::label() const -> std::string {
  if (check.empty()) {
    return std::string(v::to_string(outcome));
  }
  return violations.empty() ? check : fmt::format("{} ({})", check, fmt::join(violations, ", "));
}

auto signature_of(const v::case_result& r) -> std::optional<failure_signature> {
  switch (r.outcome) {
    case v::case_outcome::failed:
      for (const auto& c : r.checks) {
        if (c.outcome == v::status::fail && c.critical) {
          return failure_signature{r.outcome, c.id, c.violations};
        }
      }
      return failure_signature{r.outcome, "", {}};
    case v::case_outcome::crashed:
    case v::case_outcome::hung:
      return failure_signature{r.outcome, "", {}};
    default:
      return std::nullopt;
  }
}

auto fails_like(const v::case_result& r, const failure_signature& want) -> bool {
  if (r.outcome != want.outcome) {
    return false;
  }
  return want.check.empty() || std::ranges::any_of(r.checks, [&](const v::check_result& c) {
           return c.id == want.check && c.outcome == v::status::fail &&
                  (want.violations.empty() || share_a_rule(c.violations, want.violations));
         });
}

auto same_finding(const failure_signature& a, const failure_signature& b) -> bool {
  return a.outcome == b.outcome && a.check == b.check &&
         (a.violations.empty() || b.violations.empty() || share_a_rule(a.violations, b.violations));
}

}  // namespace schsim::explore
