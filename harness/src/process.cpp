#include <schsim/harness/process.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;  // NOLINT: POSIX's own declaration

namespace schsim::harness {

namespace asio = boost::asio;
using asio::use_awaitable;
constexpr auto as_tuple_awaitable = asio::as_tuple(use_awaitable);

namespace {

void ignore_sigpipe_once() {
  // A driver that dies while the harness writes to it must surface as EPIPE, not kill us.
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

struct pipe_pair {
  int read = -1;
  int write = -1;
};

auto make_pipe() -> pipe_pair {
  std::array<int, 2> fds{};
  // O_CLOEXEC: children started in parallel by other threads must not inherit our ends, or a
  // pipe would never see EOF.
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe2");
  }
  return {fds[0], fds[1]};
}

auto merged_environment(const std::vector<std::string>& extra) -> std::vector<std::string> {
  std::map<std::string, std::string> vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    vars[entry.substr(0, entry.find('='))] = entry;
  }
  for (const auto& entry : extra) {
    vars[entry.substr(0, entry.find('='))] = entry;
  }
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (auto& [name, entry] : vars) {
    out.push_back(std::move(entry));
  }
  return out;
}

auto pidfd_open(pid_t pid) -> int {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

auto decode(int wstatus) -> exit_status {
  exit_status s;
  if (WIFEXITED(wstatus)) {
    s.code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    s.signal = WTERMSIG(wstatus);
  }
  return s;
}

}  // namespace

auto exit_status::describe() const -> std::string {
  if (code) {
    return "exited with status " + std::to_string(*code);
  }
  if (signal) {
    const char* name = ::strsignal(*signal);
    return "killed by signal " + std::to_string(*signal) +
           (name != nullptr ? std::string(" (") + name + ")" : std::string());
  }
  return "still running";
}

child_process::child_process(asio::any_io_executor executor, const process_spec& spec,
                             std::size_t stderr_tail_bytes)
    : executor_(std::move(executor)),
      stdin_(executor_),
      stdout_(executor_),
      stderr_(executor_),
      stderr_limit_(stderr_tail_bytes) {
  if (spec.argv.empty()) {
    throw std::invalid_argument("empty command line for the client driver");
  }
  ignore_sigpipe_once();
  const auto in = make_pipe();
  const auto out = make_pipe();
  const auto err = make_pipe();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears FD_CLOEXEC on the target, so exactly these three survive the exec.
  posix_spawn_file_actions_adddup2(&actions, in.read, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
  // Asio opens sockets without close-on-exec. Without this, a driver spawned while another case
  // runs inherits that case's server-side sockets, and a scenario's RST or FIN never reaches its
  // client until this driver exits (seen as 2.4 s late resets under `schsim matrix -j 2`).
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  auto env_strings = merged_environment(spec.env);
  std::vector<char*> envp;
  for (auto& e : env_strings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  const int rc = ::posix_spawnp(&pid_, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in.read);
  ::close(out.write);
  ::close(err.write);
  if (rc != 0) {
    ::close(in.write);
    ::close(out.read);
    ::close(err.read);
    throw std::system_error(rc, std::generic_category(), "cannot start " + spec.argv[0]);
  }
  stdin_.assign(in.write);
  stdout_.assign(out.read);
  stderr_.assign(err.read);
  if (const int fd = pidfd_open(pid_); fd >= 0) {
    pidfd_.emplace(executor_, fd);
  }
  asio::co_spawn(executor_, capture_stderr(), asio::detached);
}

child_process::~child_process() {
  *alive_ = false;
  if (!status_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    reap(true);
  }
}

auto child_process::write_line(std::string line) -> asio::awaitable<bool> {
  line += '\n';
  const auto [ec, n] = co_await asio::async_write(stdin_, asio::buffer(line), as_tuple_awaitable);
  co_return !ec;
}

auto child_process::read_line(std::size_t max_line) -> asio::awaitable<std::optional<std::string>> {
  for (;;) {
    if (const auto nl = stdout_buffer_.find('\n'); nl != std::string::npos) {
      std::string line = stdout_buffer_.substr(0, std::min(nl, max_line));
      stdout_buffer_.erase(0, nl + 1);
      last_line_length_ = nl + stdout_dropped_;
      stdout_dropped_ = 0;
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      co_return line;
    }
    std::array<char, 8192> chunk{};
    const auto [ec, n] = co_await stdout_.async_read_some(asio::buffer(chunk), as_tuple_awaitable);
    if (ec || n == 0) {
      if (!stdout_buffer_.empty()) {
        std::string rest = std::move(stdout_buffer_);
        stdout_buffer_.clear();
        last_line_length_ = rest.size() + stdout_dropped_;
        stdout_dropped_ = 0;
        co_return rest;
      }
      co_return std::nullopt;
    }
    stdout_buffer_.append(chunk.data(), n);
    // A runaway line must not eat memory: keep its head, drop the rest until its newline.
    if (stdout_buffer_.size() > max_line && stdout_buffer_.find('\n') == std::string::npos) {
      stdout_dropped_ += stdout_buffer_.size() - max_line;
      stdout_buffer_.resize(max_line);
    }
  }
}

void child_process::close_stdin() {
  boost::system::error_code ignored;
  stdin_.close(ignored);
}

void child_process::close_pipes() {
  boost::system::error_code ignored;
  stdin_.close(ignored);
  stdout_.close(ignored);
  stderr_.close(ignored);
  if (pidfd_) {
    pidfd_->close(ignored);
  }
}

auto child_process::capture_stderr() -> asio::awaitable<void> {
  const auto alive = alive_;
  std::array<char, 4096> chunk{};
  for (;;) {
    const auto [ec, n] = co_await stderr_.async_read_some(asio::buffer(chunk), as_tuple_awaitable);
    if (!*alive || ec || n == 0) {
      co_return;
    }
    stderr_tail_.append(chunk.data(), n);
    if (stderr_tail_.size() > 2 * stderr_limit_) {
      stderr_tail_.erase(0, stderr_tail_.size() - stderr_limit_);
    }
  }
}

auto child_process::stderr_tail() const -> std::string {
  if (stderr_tail_.size() <= stderr_limit_) {
    return stderr_tail_;
  }
  std::string tail = stderr_tail_.substr(stderr_tail_.size() - stderr_limit_);
  // Start at a line boundary so the first line is not half a message.
  if (const auto nl = tail.find('\n'); nl != std::string::npos && nl + 1 < tail.size()) {
    tail.erase(0, nl + 1);
  }
  return tail;
}

auto child_process::reap(bool block) -> bool {
  if (status_) {
    return true;
  }
  int wstatus = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &wstatus, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = decode(wstatus);
    return true;
  }
  if (r < 0) {
    status_ = exit_status{};  // already reaped elsewhere; nothing more to learn
    return true;
  }
  return false;
}

auto child_process::wait() -> asio::awaitable<exit_status> {
  while (!reap(false)) {
    if (pidfd_ && pidfd_->is_open()) {
      // A pidfd becomes readable once the process has exited.
      co_await pidfd_->async_wait(asio::posix::stream_descriptor::wait_read, as_tuple_awaitable);
    } else {
      asio::steady_timer poll(executor_, std::chrono::milliseconds(10));
      co_await poll.async_wait(as_tuple_awaitable);
    }
  }
  co_return *status_;
}

auto child_process::wait_for(std::chrono::milliseconds limit)
    -> asio::awaitable<std::optional<exit_status>> {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!reap(false)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      co_return std::nullopt;
    }
    asio::steady_timer poll(executor_, std::chrono::milliseconds(5));
    co_await poll.async_wait(as_tuple_awaitable);
  }
  co_return *status_;
}

void child_process::terminate() {
  if (!status_) {
    ::kill(-pid_, SIGTERM);
  }
}

void child_process::kill() {
  if (!status_) {
    ::kill(-pid_, SIGKILL);
  }
}

auto child_process::stop(std::chrono::milliseconds grace) -> asio::awaitable<exit_status> {
  terminate();
  if (auto s = co_await wait_for(grace)) {
    co_return *s;
  }
  kill();
  co_return co_await wait();
}

auto split_command_line(const std::string& line) -> std::vector<std::string> {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        word += c;
      }
      continue;
    }
    if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < line.size() &&
                 std::strchr("\"\\$`", line[i + 1]) != nullptr) {
        word += line[++i];
      } else {
        word += c;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) {
    throw std::invalid_argument("unterminated quote in command line: " + line);
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  return words;
}

}  // namespace schsim::harness
