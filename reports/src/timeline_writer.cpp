#include <schsim/reports/json.hpp>
#include <schsim/reports/timeline_writer.hpp>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <variant>

#include <fcntl.h>
#include <unistd.h>

namespace schsim::reports {

namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

auto is_continuation(unsigned char c) -> bool { return (c & 0xC0U) == 0x80U; }

/// Length of the valid UTF-8 sequence starting at text[i] (a byte >= 0x80), or 0 when it is not
/// one (stray continuation, overlong form, surrogate, above U+10FFFF, truncated).
auto utf8_sequence_length(std::string_view text, std::size_t i) -> std::size_t {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = at(0);
  std::size_t len = 0;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    min_second = lead == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
    max_second = lead == 0xED ? 0x9F : 0xBF;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    min_second = lead == 0xF0 ? 0x90 : 0x80;
    max_second = lead == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > text.size() || at(1) < min_second || at(1) > max_second) {
    return 0;
  }
  for (std::size_t k = 2; k < len; ++k) {
    if (!is_continuation(at(k))) {
      return 0;
    }
  }
  return len;
}

void append_escaped_control(std::string& out, unsigned char c) {
  switch (c) {
    case '\b':
      out.append("\\b");
      return;
    case '\f':
      out.append("\\f");
      return;
    case '\n':
      out.append("\\n");
      return;
    case '\r':
      out.append("\\r");
      return;
    case '\t':
      out.append("\\t");
      return;
    default:
      break;
  }
  constexpr std::string_view hex = "0123456789abcdef";
  out.append("\\u00");
  out.push_back(hex[c >> 4U]);
  out.push_back(hex[c & 0x0FU]);
}

template <typename Int>
void append_int(std::string& out, Int v) {
  char digits[24];
  const auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), v);
  out.append(digits, end);
}

/// `,"conn":N,"endpoint":"E"`: the keys every command and reply line has after its first.
void append_conn_endpoint(std::string& out, std::uint64_t conn, std::string_view endpoint) {
  out.append("\"conn\":");
  append_int(out, conn);
  out.append(",\"endpoint\":");
  append_json_string(out, endpoint);
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    // Plain runs are copied in one append.
    std::size_t plain = i;
    while (plain < text.size()) {
      const auto c = static_cast<unsigned char>(text[plain]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
        break;
      }
      ++plain;
    }
    out.append(text.substr(i, plain - i));
    i = plain;
    if (i == text.size()) {
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      append_escaped_control(out, c);
      ++i;
    } else if (const std::size_t len = utf8_sequence_length(text, i); len > 0) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out.append(replacement);
      ++i;
    }
  }
  out.push_back('"');
}

// Keys in the order nlohmann::json dumps an object (sorted), so a line is the same whichever
// way it was written.
void append_command_line(std::string& out, const timeline::command_view& c) {
  out.append("{\"args\":[");
  bool first = true;
  for (const auto a : c.args) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    append_json_string(out, a.substr(0, timeline::max_recorded_arg_bytes));
  }
  out.append("],");
  append_conn_endpoint(out, c.conn, c.endpoint);
  out.append(",\"index\":");
  append_int(out, c.index);
  out.append(",\"kind\":\"command_received\",\"t_ns\":");
  append_int(out, c.t_ns);
  out.push_back('}');
}

void append_reply_line(std::string& out, const timeline::reply_view& r) {
  out.push_back('{');
  append_conn_endpoint(out, r.conn, r.endpoint);
  out.append(r.error ? ",\"error\":true,\"index\":" : ",\"error\":false,\"index\":");
  append_int(out, r.index);
  out.append(",\"kind\":\"reply_written\",\"summary\":");
  append_json_string(out, r.summary);
  out.append(",\"t_ns\":");
  append_int(out, r.t_ns);
  out.push_back('}');
}

jsonl_timeline_writer::jsonl_timeline_writer(const std::string& path)
    : jsonl_timeline_writer(path, options{}) {}

jsonl_timeline_writer::jsonl_timeline_writer(const std::string& path, options opt) : opt_(opt) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  }
  buffer_.reserve(opt_.wake_bytes + 64 * 1024);
  flusher_ = std::thread([this] { flusher(); });
}

jsonl_timeline_writer::~jsonl_timeline_writer() { close(); }

void jsonl_timeline_writer::write_line(std::string_view json) {
  std::unique_lock lock(mutex_);
  if (closed_) {
    return;
  }
  buffer_.append(json);
  buffer_.push_back('\n');
  after_append(lock);
}

void jsonl_timeline_writer::on_event(const timeline::event& e) {
  std::string line = event_to_json_line(e);
  std::unique_lock lock(mutex_);
  if (closed_) {
    return;
  }
  buffer_.append(line);
  buffer_.push_back('\n');
  if (std::holds_alternative<timeline::step_executed>(e.what)) {
    write_out(lock);  // a scenario step is on disk before the next one runs
    return;
  }
  after_append(lock);
}

void jsonl_timeline_writer::on_command(const timeline::command_view& c) {
  std::unique_lock lock(mutex_);
  if (closed_) {
    return;
  }
  append_command_line(buffer_, c);
  buffer_.push_back('\n');
  after_append(lock);
}

void jsonl_timeline_writer::on_reply(const timeline::reply_view& r) {
  std::unique_lock lock(mutex_);
  if (closed_) {
    return;
  }
  append_reply_line(buffer_, r);
  buffer_.push_back('\n');
  after_append(lock);
}

void jsonl_timeline_writer::after_append(std::unique_lock<std::mutex>& lock) {
  if (buffer_.size() >= opt_.max_bytes) {
    write_out(lock);  // the flusher fell behind: this thread waits for the disk
  } else if (buffer_.size() >= opt_.wake_bytes) {
    wake_.notify_one();
  }
}

void jsonl_timeline_writer::write_out(std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  const std::lock_guard writing(write_mutex_);
  lock.lock();
  writing_.swap(buffer_);
  lock.unlock();
  if (!writing_.empty()) {
    write_all(writing_);
    writing_.clear();
  }
  lock.lock();
}

void jsonl_timeline_writer::write_all(const std::string& bytes) {
  if (fd_ < 0) {
    return;
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const std::lock_guard lock(mutex_);
      if (error_.empty()) {
        error_ = std::string("write failed: ") + std::strerror(errno);
      }
      ::close(fd_);
      fd_ = -1;
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

void jsonl_timeline_writer::flush() {
  std::unique_lock lock(mutex_);
  write_out(lock);
}

void jsonl_timeline_writer::flusher() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, opt_.interval,
                   [this] { return stop_ || buffer_.size() >= opt_.wake_bytes; });
    if (!buffer_.empty()) {
      write_out(lock);
    }
  }
}

auto jsonl_timeline_writer::close() -> std::string {
  {
    std::unique_lock lock(mutex_);
    if (closed_) {
      return error_;
    }
    write_out(lock);
    closed_ = true;
    stop_ = true;
  }
  wake_.notify_one();
  if (flusher_.joinable()) {
    flusher_.join();
  }
  {
    std::unique_lock lock(mutex_);
    write_out(lock);  // anything appended between the last write and closed_
  }
  const std::lock_guard writing(write_mutex_);
  if (fd_ >= 0 && ::close(fd_) != 0) {
    const std::lock_guard lock(mutex_);
    if (error_.empty()) {
      error_ = std::string("close failed: ") + std::strerror(errno);
    }
  }
  fd_ = -1;
  const std::lock_guard lock(mutex_);
  return error_;
}

auto jsonl_timeline_writer::error() const -> std::string {
  const std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace schsim::reports
