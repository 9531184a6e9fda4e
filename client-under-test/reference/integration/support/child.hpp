#pragma once
// A child process with pipes on stdin and stdout, read without blocking so the test thread can
// keep running the simulator's io_context while it waits for the driver's lines.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace schsim::refclient::itest {

class child_process {
 public:
  explicit child_process(std::vector<std::string> argv) {
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe2 failed");
    }
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      // Asio's sockets are not close-on-exec: without this the child would keep the test's
      // listening sockets open, and a "stopped" endpoint would still accept connections.
      ::close_range(3, ~0U, 0);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    ::fcntl(stdout_, F_SETFL, ::fcntl(stdout_, F_GETFL) | O_NONBLOCK);
  }
  ~child_process() {
    close_stdin();
    if (stdout_ >= 0) ::close(stdout_);
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  child_process(const child_process&) = delete;
  auto operator=(const child_process&) -> child_process& = delete;

  void write_line(const std::string& line) {
    const std::string text = line + "\n";
    std::size_t done = 0;
    while (done < text.size()) {
      const auto n = ::write(stdin_, text.data() + done, text.size() - done);
      if (n <= 0) throw std::runtime_error("write to child failed");
      done += static_cast<std::size_t>(n);
    }
  }
  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }

  /// A complete line if one is available now; never blocks.
  auto try_read_line() -> std::optional<std::string> {
    char chunk[4096];
    for (;;) {
      const auto n = ::read(stdout_, chunk, sizeof chunk);
      if (n <= 0) break;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    const auto nl = buffer_.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    auto line = buffer_.substr(0, nl);
    buffer_.erase(0, nl + 1);
    return line;
  }

  /// The exit code once the child has exited within `limit`; nullopt otherwise.
  auto wait_exit(std::chrono::milliseconds limit) -> std::optional<int> {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!exit_code_ && std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::string buffer_;
  std::optional<int> exit_code_;
};

}  // namespace schsim::refclient::itest
