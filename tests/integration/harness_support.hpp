#pragma once
// Shared by the harness_*_test.cpp end-to-end tests: run the real `schsim` executable and read
// the report it wrote.

#include <schsim/core/verdict.hpp>
#include <schsim/reports/json.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace schsim::harness_test {

namespace fs = std::filesystem;

inline auto shell_quote(const std::string& s) -> std::string {
  std::string out = "'";
  for (const char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

/// A fresh directory under the system temp dir, removed by the destructor.
struct temp_dir {
  fs::path path;
  explicit temp_dir(const std::string& name)
      : path(fs::temp_directory_path() / ("schsim-" + name + "-" + std::to_string(::getpid()) +
                                          "-" + std::to_string(std::rand()))) {
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    if (std::getenv("SCHSIM_KEEP_TEST_OUTPUT") == nullptr) {
      fs::remove_all(path, ec);
    }
  }
  temp_dir(const temp_dir&) = delete;
  auto operator=(const temp_dir&) -> temp_dir& = delete;
};

struct run_output {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr
};

/// Runs `schsim <args>` (args already shell-quoted where needed) and captures its output.
inline auto run_schsim(const std::string& args) -> run_output {
  const std::string command = std::string(SCHSIM_EXE) + " " + args + " 2>&1";
  run_output out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return out;
  }
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) {
    out.output.append(buf, n);
  }
  const int status = ::pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

inline auto read_text(const fs::path& p) -> std::string {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline auto read_report(const fs::path& dir) -> verdict::run_result {
  return reports::run_from_json(read_text(dir / "report.json"));
}

inline auto write_scenario(const fs::path& dir, const std::string& name, const std::string& toml)
    -> fs::path {
  const auto path = dir / (name + ".toml");
  std::ofstream(path) << toml;
  return path;
}

inline auto source_path(const std::string& relative) -> fs::path {
  return fs::path(SCHSIM_SOURCE_DIR) / relative;
}

/// True when `program` is found in PATH.
inline auto have_program(const std::string& program) -> bool {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

/// Skips the test when a tool is missing, unless SCHSIM_REQUIRE_TOOLS=1 (CI) makes it fail.
#define SCHSIM_REQUIRE_PROGRAM(program)                                                 \
  do {                                                                                  \
    if (!::schsim::harness_test::have_program(program)) {                               \
      const char* require = std::getenv("SCHSIM_REQUIRE_TOOLS");                        \
      if (require != nullptr && std::string(require) == "1") {                          \
        FAIL() << program << " is required (SCHSIM_REQUIRE_TOOLS=1) but not installed"; \
      }                                                                                 \
      GTEST_SKIP() << program << " is not installed; skipping";                         \
    }                                                                                   \
  } while (false)

}  // namespace schsim::harness_test
