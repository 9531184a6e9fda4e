#include "child_process.hpp"

#include <fstream>
#include <iterator>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace schsim::testing {

namespace {

auto exit_code(int status) -> int { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

}  // namespace

child_process::child_process(std::vector<std::string> argv, std::filesystem::path log,
                             child_stderr err)
    : log_(std::move(log)) {
  pid_ = ::fork();
  if (pid_ != 0) {
    return;
  }
  const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::dup2(fd, STDOUT_FILENO);
  if (err == child_stderr::to_log) {
    ::dup2(fd, STDERR_FILENO);
  }
  std::vector<char*> args;
  for (auto& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

child_process::~child_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void child_process::signal(int signo) const { ::kill(pid_, signo); }

auto child_process::wait(std::chrono::milliseconds timeout) -> int {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return exit_code(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

auto child_process::wait() -> int {
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return exit_code(status);
}

auto child_process::log_text() const -> std::string {
  std::ifstream in(log_);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace schsim::testing
