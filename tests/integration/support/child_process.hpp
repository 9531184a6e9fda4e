#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

namespace schsim::testing {

/// Where a child_process's stderr goes: into its log with stdout, or to the test's own stderr
/// (when the test compares the log with what the program prints on stdout).
enum class child_stderr { to_log, inherited };

/**
 * A program run in the background (`argv[0]` is a path, not searched on PATH), its stdout
 * written to `log`. Killed with SIGKILL if still running when destroyed, so a failed assertion
 * leaves no server behind.
 */
class child_process {
 public:
  child_process(std::vector<std::string> argv, std::filesystem::path log,
                child_stderr err = child_stderr::to_log);
  ~child_process();
  child_process(const child_process&) = delete;
  auto operator=(const child_process&) -> child_process& = delete;

  void signal(int signo) const;
  /// Its exit code once it has exited; -1 when a signal ended it or it still runs after `timeout`.
  auto wait(std::chrono::milliseconds timeout) -> int;
  /// Blocks until it exits: its exit code, or -1 when a signal ended it.
  auto wait() -> int;
  /// What it has written to its log so far.
  [[nodiscard]] auto log_text() const -> std::string;

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

}  // namespace schsim::testing
