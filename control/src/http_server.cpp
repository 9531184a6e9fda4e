#include <schsim/control/http_server.hpp>
#include <schsim/core/clock.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <list>

namespace schsim::control {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// An idle keep-alive connection is closed after this long, so abandoned clients do not pile up.
constexpr std::chrono::seconds idle_timeout{60};

auto plain_response(int status, unsigned version, std::string body, std::string content_type,
                    bool keep_alive) -> http::response<http::string_body> {
  http::response<http::string_body> res{static_cast<http::status>(status), version};
  res.set(http::field::server, "schsim");
  res.set(http::field::content_type, content_type);
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

auto error_json(std::string_view message) -> std::string {
  return nlohmann::json{{"error", message}}.dump();
}

}  // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor ex, http_options o, handler h)
      : executor(std::move(ex)),
        options(std::move(o)),
        on_request(std::move(h)),
        acceptor(executor) {}

  auto accept_loop() -> asio::awaitable<void> {
    auto self = shared_from_this();
    while (running) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) {
        if (!running) {
          co_return;
        }
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      auto it = streams.emplace(streams.end(), std::move(socket));
      asio::co_spawn(executor, serve(it), asio::detached);
    }
  }

  auto serve(std::list<beast::tcp_stream>::iterator it) -> asio::awaitable<void> {
    auto self = shared_from_this();
    auto& stream = *it;
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options.max_body_bytes);
      stream.expires_after(idle_timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (!running) {
        co_return;
      }
      if (ec == http::error::body_limit) {
        auto res = plain_response(413, 11,
                                  error_json("request body over the limit of " +
                                             std::to_string(options.max_body_bytes) + " bytes"),
                                  "application/json", false);
        co_await http::async_write(stream, res, use_tuple);
        break;
      }
      if (ec) {
        // A request Beast could not parse gets an answer; a closed or idle connection does not.
        const bool parse_error =
            ec.category() == beast::error_code(http::error::bad_target).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message;
        if (parse_error) {
          auto res = plain_response(400, 11, error_json("malformed HTTP request: " + ec.message()),
                                    "application/json", false);
          co_await http::async_write(stream, res, use_tuple);
        }
        break;
      }
      auto& req = parser.get();
      request r{std::string(req.method_string()), std::string(req.target()), std::move(req.body()),
                std::string(req[http::field::content_type]),
                std::string(req[http::field::authorization])};
      const bool keep_alive = req.keep_alive();
      response out;
      try {
        out = on_request(r);
      } catch (const std::exception& e) {
        out = response{500, error_json(std::string("schsim bug: ") + e.what()), "application/json"};
      }
      auto res = plain_response(out.status, req.version(), std::move(out.body),
                                std::move(out.content_type), keep_alive);
      auto [wec, written] = co_await http::async_write(stream, res, use_tuple);
      if (wec || !keep_alive || !running) {
        break;
      }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
    streams.erase(it);
  }

  asio::any_io_executor executor;
  http_options options;
  handler on_request;
  tcp::acceptor acceptor;
  std::list<beast::tcp_stream> streams;
  bool running = false;
};

http_server::http_server(asio::any_io_executor executor, http_options options, handler on_request)
    : impl_(
          std::make_shared<impl>(std::move(executor), std::move(options), std::move(on_request))) {}

http_server::~http_server() { stop(); }

void http_server::start() {
  auto& i = *impl_;
  const auto address =
      asio::ip::make_address(i.options.host == "localhost" ? "127.0.0.1" : i.options.host);
  const tcp::endpoint ep(address, i.options.port);
  i.acceptor.open(ep.protocol());
  i.acceptor.set_option(tcp::acceptor::reuse_address(true));
  i.acceptor.bind(ep);
  i.acceptor.listen();
  i.running = true;
  asio::co_spawn(i.executor, i.accept_loop(), asio::detached);
}

void http_server::stop() {
  if (!impl_ || !impl_->running) {
    return;
  }
  auto& i = *impl_;
  i.running = false;
  beast::error_code ignored;
  i.acceptor.close(ignored);
  for (auto& s : i.streams) {
    s.socket().close(ignored);
  }
}

auto http_server::port() const -> std::uint16_t {
  beast::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

auto http_server::host() const -> const std::string& { return impl_->options.host; }

auto is_loopback(std::string_view host) -> bool {
  if (host == "localhost") {
    return true;
  }
  beast::error_code ec;
  const auto a = asio::ip::make_address(std::string(host), ec);
  return !ec && a.is_loopback();
}

}  // namespace schsim::control
