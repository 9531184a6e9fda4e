#pragma once
/**
 * @file
 * @brief What makes two failing runs "the same failure", so that shrinking keeps the finding
 * it started from and `--keep-going` shrinks each finding once.
 *
 * A signature is the case's outcome, the first critical check that failed and the rules that
 * check's findings broke (verdict::check_result::violations, e.g. "relaxed.timed_out_early").
 * Keeping only the check is not enough: a timeout_relaxation failure where the client gave up
 * early inside a relaxed window can shrink into one where it gave up late outside every
 * window, a different bug under the same check name.
 */

#include <schsim/core/verdict.hpp>

#include <optional>
#include <string>
#include <vector>

namespace schsim::explore {

struct failure_signature {
  verdict::case_outcome outcome = verdict::case_outcome::failed;
  std::string check;                    ///< empty for a crash, a hang or a failure with no check
  std::vector<std::string> violations;  ///< the check's broken rules, as it reported them

  /// "timeout_relaxation (relaxed.timed_out_early)", "crashed", ...
  [[nodiscard]] auto label() const -> std::string;
};

/// The signature of a run that failed, crashed or hung; nothing for any other outcome.
auto signature_of(const verdict::case_result& r) -> std::optional<failure_signature>;

/// Whether `r` fails the way `want` describes: the same outcome, `want.check` failed, and when
/// `want` names the rules it broke, at least one of them is broken again.
auto fails_like(const verdict::case_result& r, const failure_signature& want) -> bool;

/// Whether two signatures are one finding: the same outcome and check, and a broken rule in
/// common when both name theirs.
auto same_finding(const failure_signature& a, const failure_signature& b) -> bool;

}  // namespace schsim::explore
