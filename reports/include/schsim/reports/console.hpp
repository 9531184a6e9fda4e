#pragma once

#include <schsim/core/verdict.hpp>

#include <cstddef>
#include <string>

namespace schsim::reports {

enum class color { off, ansi };

/// One progress line for a finished case, e.g. "[ 3/12] moving-basic  reference  PASS  6.2 s".
auto format_progress(const verdict::case_result& c, std::size_t done, std::size_t total,
                     color use_color) -> std::string;

/// The end-of-run summary: each case that did not pass with its failed checks and their
/// evidence, then the totals.
auto format_summary(const verdict::run_result& run, color use_color) -> std::string;

/// Every check of a case with its status and one-line summary (for `schsim run -v`).
auto format_case_details(const verdict::case_result& c, color use_color) -> std::string;

}  // namespace schsim::reports
