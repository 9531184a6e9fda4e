#include "test_client.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace schsim::testing {

namespace {

/// Scans one frame starting at `pos`; returns the position after it, or npos if incomplete.
auto scan(std::string_view d, std::size_t pos, int depth) -> std::size_t {
  if (depth > 200 || pos >= d.size()) {
    return std::string_view::npos;
  }
  const std::size_t eol = d.find("\r\n", pos);
  if (eol == std::string_view::npos) {
    return std::string_view::npos;
  }
  const char type = d[pos];
  const std::string_view line = d.substr(pos + 1, eol - pos - 1);
  const std::size_t next = eol + 2;
  std::int64_t n = 0;
  switch (type) {
    case '$':
    case '!':
    case '=': {
      std::from_chars(line.data(), line.data() + line.size(), n);
      if (n < 0) {
        return next;
      }
      const std::size_t end = next + static_cast<std::size_t>(n) + 2;
      return end <= d.size() ? end : std::string_view::npos;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      std::from_chars(line.data(), line.data() + line.size(), n);
      if (n < 0) {
        return next;
      }
      const std::int64_t items = (type == '%' || type == '|') ? n * 2 : n;
      std::size_t p = next;
      for (std::int64_t i = 0; i < items; ++i) {
        p = scan(d, p, depth + 1);
        if (p == std::string_view::npos) {
          return p;
        }
      }
      // An attribute precedes the value it describes.
      return type == '|' ? scan(d, p, depth + 1) : p;
    }
    default:
      return next;  // + - : _ , # ( and anything line-shaped
  }
}

}  // namespace

auto test_client::frame_length(std::string_view data) -> std::size_t {
  const std::size_t end = scan(data, 0, 0);
  return end == std::string_view::npos ? 0 : end;
}

test_client::test_client(std::uint16_t port, std::chrono::milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) {
    throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("connect: " + why);
  }
}

test_client::~test_client() { close(); }

void test_client::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void test_client::reset() {
  if (fd_ >= 0) {
    const linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }
}

auto test_client::local_port() const -> std::uint16_t {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

void test_client::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::runtime_error("send: " + std::string(std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

auto test_client::fill() -> bool {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      buffer_.append(buf, static_cast<std::size_t>(n));
      last_end_ = read_end::data;
      return true;
    }
    if (n == 0) {
      last_end_ = read_end::eof;
      return false;
    }
    if (errno == EINTR) {
      continue;
    }
    last_end_ = errno == ECONNRESET                         ? read_end::reset
                : (errno == EAGAIN || errno == EWOULDBLOCK) ? read_end::timeout
                                                            : read_end::error;
    return false;
  }
}

auto test_client::read_frame() -> std::string {
  for (;;) {
    const std::size_t len = frame_length(buffer_);
    if (len > 0) {
      std::string frame = buffer_.substr(0, len);
      buffer_.erase(0, len);
      last_end_ = read_end::data;
      return frame;
    }
    if (!fill()) {
      return {};
    }
  }
}

auto test_client::read_exact(std::size_t n) -> std::string {
  while (buffer_.size() < n && fill()) {
  }
  const std::size_t take = std::min(n, buffer_.size());
  std::string out = buffer_.substr(0, take);
  buffer_.erase(0, take);
  return out;
}

auto test_client::roundtrip(std::string_view request) -> std::string {
  write(request);
  return read_frame();
}

auto test_client::read_until_closed() -> std::string {
  while (fill()) {
  }
  std::string out;
  out.swap(buffer_);
  return out;
}

}  // namespace schsim::testing
