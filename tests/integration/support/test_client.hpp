#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace schsim::testing {

/// How a read ended when it did not return the bytes asked for.
enum class read_end { data, eof, reset, timeout, error };

/**
 * @brief A blocking loopback client for tests: writes hand-written request bytes and reads raw
 * reply bytes. It frames replies with its own minimal RESP scanner (not schsim's parser), so
 * the bytes compared in tests never pass through the code under test.
 */
class test_client {
 public:
  explicit test_client(std::uint16_t port,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~test_client();
  test_client(const test_client&) = delete;
  auto operator=(const test_client&) -> test_client& = delete;

  void write(std::string_view bytes);
  /// Reads exactly one complete RESP2/RESP3 frame (a push counts as a frame). Empty on EOF,
  /// reset or timeout; last_end() says which.
  auto read_frame() -> std::string;
  /// Reads `n` bytes exactly (fewer if the connection ends first).
  auto read_exact(std::size_t n) -> std::string;
  /// Sends `request` and returns the next frame.
  auto roundtrip(std::string_view request) -> std::string;
  /// Reads until the server ends the connection; returns what arrived before that.
  auto read_until_closed() -> std::string;
  [[nodiscard]] auto last_end() const -> read_end { return last_end_; }
  /// Bytes received but not yet returned.
  [[nodiscard]] auto buffered() const -> const std::string& { return buffer_; }
  /// The local port, which the server reports as the peer.
  [[nodiscard]] auto local_port() const -> std::uint16_t;
  /// Closes with a reset instead of a FIN.
  void reset();
  void close();

  /// Length of the first complete RESP frame in `data`, or 0 if it is incomplete.
  static auto frame_length(std::string_view data) -> std::size_t;

 private:
  auto fill() -> bool;  // one recv() into buffer_; false when the connection ended

  int fd_ = -1;
  std::string buffer_;
  read_end last_end_ = read_end::data;
};

}  // namespace schsim::testing
