#pragma once
// What `run`, `suite` and `matrix` share: loading the built-in scenarios and running cases with
// progress, summary and reports.

#include <schsim/core/verdict.hpp>
#include <schsim/harness/suite.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace schsim::app {

/// Defined in cmd_run.cpp: runs the cases, prints progress and summary, writes the reports to
/// `out_dir` and returns the exit code. `result_out`, when set, receives the run.
auto execute_cases(const std::vector<harness::suite_case>& cases, harness::suite_options options,
                   const std::string& out_dir, bool verbose, const std::string& command_line,
                   verdict::run_result* result_out = nullptr) -> int;

/// Defined in cmd_suite.cpp: the scenarios in `dir` (empty: the built-in ones) that match
/// `filters`, in file order. Prints what went wrong under `command` and returns usage_error, or
/// ok.
auto load_suite_cases(const std::string& dir, const std::vector<std::string>& filters,
                      const std::string& command, std::vector<harness::suite_case>& cases) -> int;

}  // namespace schsim::app
