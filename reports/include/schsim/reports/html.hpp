#pragma once

#include <schsim/core/verdict.hpp>

#include <string>

namespace schsim::reports {

/**
 * @brief One case as a self-contained HTML page: no network, no script libraries, no external
 * tools. Inline CSS and SVG only.
 *
 * Sections: the header (scenario, client, outcome, seed, versions), the checks with their
 * evidence, the timeline (one lane per connection, maintenance windows shaded, pushes, closes
 * and scenario steps marked), the open-loop latency plot, the driver's exit and stderr tail,
 * and the raw server timeline.
 */
auto to_html_case(const verdict::run_result& run, const verdict::case_result& c) -> std::string;

/// The run's index page: a matrix of cases by checks, each cell linking to the case page
/// named by case_file_name().
auto to_html_matrix(const verdict::run_result& run) -> std::string;

/// Relative path of a case page from the index, e.g. "cases/moving-basic--reference--r0.html".
auto case_file_name(const verdict::case_result& c) -> std::string;

}  // namespace schsim::reports
