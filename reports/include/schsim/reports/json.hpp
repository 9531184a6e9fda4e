#pragma once

#include <schsim/core/timeline/event.hpp>
#include <schsim/core/verdict.hpp>

#include <string>

namespace schsim::reports {

/// Version of the JSON layout below; bumped on any incompatible change.
inline constexpr int json_format_version = 1;

/**
 * @brief The run as one JSON document (docs/reports.md describes every field).
 *
 * Holds everything the other formats show: verdicts with evidence, seeds, versions, the full
 * server timeline and every command outcome, so any report can be rebuilt from it
 * (run_from_json) and a failure replayed from its seed.
 */
auto to_json(const verdict::run_result& run) -> std::string;

/**
 * One timeline event as a single-line JSON object, the layout of the `timeline` entries of
 * to_json, plus `late_ns` (t_ns - scheduled_ns) on step_executed. `schsim serve
 * --timeline-jsonl` writes one per line.
 */
auto event_to_json_line(const timeline::event& e) -> std::string;

/// Reads a document written by to_json; throws std::runtime_error on malformed input.
auto run_from_json(const std::string& text) -> verdict::run_result;

}  // namespace schsim::reports
