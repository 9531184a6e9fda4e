#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace schsim::harness {

/// The longest line a driver may write to stdout (docs/driver-protocol.md): longer is a driver
/// protocol error. A result line carries one reply, so 1 MiB leaves room for any workload value.
inline constexpr std::size_t max_driver_line_bytes = std::size_t{1} << 20;

/// What to start.
struct process_spec {
  /// argv[0] is looked up in PATH when it has no '/'.
  std::vector<std::string> argv;
  /// "NAME=value" entries added to (or replacing in) the harness's own environment.
  std::vector<std::string> env;
};

/// How a child ended.
struct exit_status {
  std::optional<int> code;    ///< set when it exited
  std::optional<int> signal;  ///< set when a signal killed it
  [[nodiscard]] auto describe() const -> std::string;
};

/**
 * @brief A child process with pipes on stdin, stdout and stderr, driven by Asio.
 *
 * The child runs in its own process group, so terminate() and kill() reach whatever it started
 * (a shell script's node process, say). Its stderr is read continuously into a bounded tail for
 * the report. Exit is detected with a pidfd (polling waitpid where pidfds are unavailable), so
 * no SIGCHLD handler is installed and several children can run in parallel from different
 * threads. The destructor kills and reaps a child that is still running.
 *
 * Not thread-safe: use it from coroutines on its executor.
 */
class child_process {
 public:
  /// Starts the child; throws std::system_error when it cannot be started (for instance,
  /// the program does not exist).
  child_process(boost::asio::any_io_executor executor, const process_spec& spec,
                std::size_t stderr_tail_bytes = 16 * 1024);
  ~child_process();
  child_process(const child_process&) = delete;
  auto operator=(const child_process&) -> child_process& = delete;

  [[nodiscard]] auto pid() const -> pid_t { return pid_; }

  /// Writes `line` plus '\n' to the child's stdin; false when the pipe is closed.
  auto write_line(std::string line) -> boost::asio::awaitable<bool>;
  /// The next line of stdout without its '\n'; nullopt at end of file. Lines longer than
  /// `max_line` are cut (the rest is dropped up to the next '\n', never buffered);
  /// last_line_length() then tells how long the line was.
  auto read_line(std::size_t max_line = max_driver_line_bytes)
      -> boost::asio::awaitable<std::optional<std::string>>;
  /// How many bytes the line read_line() last returned had before any cut (without '\n').
  [[nodiscard]] auto last_line_length() const -> std::size_t { return last_line_length_; }
  /// Closes the child's stdin (it then reads EOF).
  void close_stdin();
  /// Closes every pipe, cancelling pending reads and writes (the child may live on).
  void close_pipes();

  /// Waits until the child has exited and been reaped.
  auto wait() -> boost::asio::awaitable<exit_status>;
  /// Waits at most `limit`; nullopt when it is still running.
  auto wait_for(std::chrono::milliseconds limit)
      -> boost::asio::awaitable<std::optional<exit_status>>;
  /// SIGTERM to the process group.
  void terminate();
  /// SIGKILL to the process group.
  void kill();
  /// SIGTERM, then SIGKILL if it has not exited after `grace`; returns how it ended.
  auto stop(std::chrono::milliseconds grace) -> boost::asio::awaitable<exit_status>;

  [[nodiscard]] auto exited() const -> bool { return status_.has_value(); }
  /// The last bytes the child wrote to stderr (whole lines where possible).
  [[nodiscard]] auto stderr_tail() const -> std::string;

 private:
  auto capture_stderr() -> boost::asio::awaitable<void>;
  auto reap(bool block) -> bool;

  boost::asio::any_io_executor executor_;
  pid_t pid_ = -1;
  boost::asio::posix::stream_descriptor stdin_;
  boost::asio::posix::stream_descriptor stdout_;
  boost::asio::posix::stream_descriptor stderr_;
  std::optional<boost::asio::posix::stream_descriptor> pidfd_;
  std::string stdout_buffer_;
  std::size_t stdout_dropped_ = 0;  ///< bytes of the current line cut off so far
  std::size_t last_line_length_ = 0;
  std::string stderr_tail_;
  std::size_t stderr_limit_;
  std::optional<exit_status> status_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// Splits a command line into words the way a POSIX shell does for plain words, single and
/// double quotes and backslashes (no expansions); throws std::invalid_argument on an
/// unterminated quote.
auto split_command_line(const std::string& line) -> std::vector<std::string>;

}  // namespace schsim::harness
