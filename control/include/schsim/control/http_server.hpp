#pragma once
/**
 * @file
 * @brief The control API's HTTP/1.1 listener (Boost.Beast), on the simulator's io_context.
 *
 * Beast parses every request (no hand-written parser); each complete request is handed to a
 * handler (control_api::handle) on the executor and its response written back, with keep-alive.
 * A body over the limit is answered 413 before it is read; a request Beast cannot parse, 400.
 */

#include <schsim/control/api.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace schsim::control {

struct http_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: chosen by the OS
  std::size_t max_body_bytes = 1024 * 1024;
};

class http_server {
 public:
  using handler = std::function<response(const request&)>;

  http_server(boost::asio::any_io_executor executor, http_options options, handler on_request);
  ~http_server();
  http_server(const http_server&) = delete;
  auto operator=(const http_server&) -> http_server& = delete;

  /// Binds and starts accepting; throws boost::system::system_error when it cannot bind.
  void start();
  /// Stops accepting and closes every connection.
  void stop();
  /// The bound port (after start()).
  [[nodiscard]] auto port() const -> std::uint16_t;
  [[nodiscard]] auto host() const -> const std::string&;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// True for 127.0.0.0/8, ::1 and "localhost".
auto is_loopback(std::string_view host) -> bool;

}  // namespace schsim::control
