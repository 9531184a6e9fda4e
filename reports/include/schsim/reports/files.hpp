#pragma once

#include <schsim/core/verdict.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace schsim::reports {

/// Which files write_reports produces.
struct report_files {
  bool json = true;
  bool junit = true;
  bool html = true;
};

/**
 * @brief Writes the run's reports under `dir` (created if needed):
 * `report.json`, `junit.xml`, `index.html` and `cases/<case>.html`.
 *
 * Returns the paths written. Throws std::filesystem::filesystem_error when a file cannot be
 * written.
 */
auto write_reports(const verdict::run_result& run, const std::filesystem::path& dir,
                   const report_files& which = {}) -> std::vector<std::filesystem::path>;

}  // namespace schsim::reports
