#pragma once

#include <schsim/core/timeline/recorder.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace schsim::reports {

/// Appends `text` to `out` as a JSON string (quotes included), escaped as nlohmann::json dumps
/// it; a byte that is not part of valid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view text);
/// One JSONL line (no newline) for a command_received / reply_written, the same JSON that
/// event_to_json_line() gives for the equivalent event.
void append_command_line(std::string& out, const timeline::command_view& c);
void append_reply_line(std::string& out, const timeline::reply_view& r);

/**
 * @brief Streams a recorder's events to a JSONL file (one JSON object per line), buffered.
 *
 * Subscribe it to a recorder as a timeline::sink. Commands and replies are rendered from the
 * recorder's views straight into an in-memory buffer; other events through
 * event_to_json_line(). The buffer reaches the file:
 *  - every `interval` (a flusher thread writes it, so the recording thread never waits on the
 *    disk), and sooner once it holds `wake_bytes`;
 *  - at once after each step_executed event (a scenario step), and on flush() / close();
 *  - by the recording thread itself when the flusher falls behind by `max_bytes`, so memory
 *    stays bounded however fast events come.
 *
 * What a crash can lose: a clean stop (close(), the destructor, `schsim serve` on SIGTERM or
 * SIGINT) loses nothing. A process that dies without closing the writer (SIGKILL, a crash)
 * loses the events still in the buffer: at most the last `interval` of events, or `wake_bytes`
 * plus what arrived while the flusher was writing. Written lines are in the kernel's page cache
 * and survive the process; only a machine crash loses those (the writer never fsyncs).
 */
class jsonl_timeline_writer final : public timeline::sink {
 public:
  struct options {
    std::chrono::milliseconds interval{100};
    std::size_t wake_bytes = std::size_t{1} << 20;
    std::size_t max_bytes = std::size_t{16} << 20;
  };
  /// Creates (truncates) `path`; throws std::runtime_error saying why when it cannot.
  explicit jsonl_timeline_writer(const std::string& path);
  jsonl_timeline_writer(const std::string& path, options opt);
  ~jsonl_timeline_writer() override;
  jsonl_timeline_writer(const jsonl_timeline_writer&) = delete;
  auto operator=(const jsonl_timeline_writer&) -> jsonl_timeline_writer& = delete;

  /// Appends one line as given (e.g. the run's header object), then a newline.
  void write_line(std::string_view json);
  void on_event(const timeline::event& e) override;
  void on_command(const timeline::command_view& c) override;
  void on_reply(const timeline::reply_view& r) override;
  /// Writes everything buffered to the file before returning.
  void flush();
  /// flush(), stops the flusher and closes the file; later events are ignored. Returns the
  /// first write error ("" when none).
  auto close() -> std::string;
  /// The first write error so far ("" when none); after one, nothing more is written.
  [[nodiscard]] auto error() const -> std::string;

 private:
  void after_append(std::unique_lock<std::mutex>& lock);
  /// Swaps the buffer out and writes it; holds write_mutex_ so lines keep their order.
  void write_out(std::unique_lock<std::mutex>& lock);
  void write_all(const std::string& bytes);
  void flusher();

  options opt_;
  int fd_ = -1;
  mutable std::mutex mutex_;  // guards buffer_, closed_, stop_, error_
  std::condition_variable wake_;
  std::string buffer_;
  bool closed_ = false;
  bool stop_ = false;
  std::string error_;
  std::mutex write_mutex_;  // one writer of the file at a time, in buffer order
  std::string writing_;     // the buffer being written (guarded by write_mutex_)
  std::thread flusher_;
};

}  // namespace schsim::reports
