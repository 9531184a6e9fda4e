#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace schsim::testing {

/// The full path of `name` on PATH, if it is there.
auto find_tool(const std::string& name) -> std::optional<std::string>;
/// SCHSIM_REQUIRE_TOOLS=1 turns a missing external tool into a failure instead of a skip.
auto tools_required() -> bool;

struct process_result {
  int exit_code = -1;  ///< -1: killed (timeout) or could not start
  bool timed_out = false;
  std::string out;
  std::string err;
};

/// Runs argv[0] (searched on PATH) with stdin from /dev/null; kills it after `timeout`.
auto run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                 const std::string& cwd = {}) -> process_result;

}  // namespace schsim::testing

/// Skips the test when `tool` is not installed, or fails it when SCHSIM_REQUIRE_TOOLS=1.
/// Defines `tool##_path`.
#define SCHSIM_REQUIRE_TOOL(var, tool)                                                        \
  const auto var##_found = ::schsim::testing::find_tool(tool);                                \
  if (!var##_found) {                                                                         \
    if (::schsim::testing::tools_required()) {                                                \
      FAIL() << tool << " is not installed and SCHSIM_REQUIRE_TOOLS=1";                       \
    }                                                                                         \
    GTEST_SKIP() << tool << " is not installed (set SCHSIM_REQUIRE_TOOLS=1 to fail instead)"; \
  }                                                                                           \
  const std::string var = *var##_found
