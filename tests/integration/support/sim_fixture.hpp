#pragma once

#include <schsim/core/timeline/recorder.hpp>
#include <schsim/simulator/server.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace schsim::testing {

/**
 * @brief The real simulator on 127.0.0.1 (OS-chosen ports), its io_context on a background
 * thread, and the recorder it writes to.
 *
 * The server is not thread-safe, so every control call goes through call(), which runs it on the
 * io thread and waits for the result.
 */
class sim_fixture {
 public:
  explicit sim_fixture(simulator::server_config config);
  /// One endpoint named "node-a" with the given profile.
  static auto single(simulator::endpoint_profile profile = {}) -> simulator::server_config;
  ~sim_fixture();
  sim_fixture(const sim_fixture&) = delete;
  auto operator=(const sim_fixture&) -> sim_fixture& = delete;

  template <class Fn>
  auto call(Fn fn) -> std::invoke_result_t<Fn, simulator::server&> {
    using result = std::invoke_result_t<Fn, simulator::server&>;
    std::packaged_task<result()> task([&] { return fn(*server_); });
    auto fut = task.get_future();
    post(std::function<void()>([&task] { task(); }));
    return fut.get();
  }

  [[nodiscard]] auto port(const std::string& endpoint = "node-a") -> std::uint16_t;
  [[nodiscard]] auto events() const -> std::vector<timeline::event> { return record_.snapshot(); }
  auto recorder() -> timeline::recorder& { return record_; }

  /// Waits until some recorded event satisfies `pred` (events already recorded count); returns
  /// it, or nullopt after `timeout`.
  auto wait_for(const std::function<bool(const timeline::event&)>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10))
      -> std::optional<timeline::event>;

  /// The server's id for the connection whose client side has local port `client_port`.
  auto conn_id(std::uint16_t client_port) -> std::uint64_t;

  /// Stops the server on the io thread (records the closes) and joins the thread.
  void shutdown();

 private:
  void post(std::function<void()> fn);

  timeline::recorder record_;
  boost::asio::io_context io_{1};
  std::unique_ptr<simulator::server> server_;
  std::thread thread_;
  bool running_ = false;
};

/// Events of one kind on one connection (conn 0: any).
template <class T>
auto events_of(const std::vector<timeline::event>& events, std::uint64_t conn = 0)
    -> std::vector<T> {
  std::vector<T> out;
  for (const auto& e : events) {
    if (const T* d = std::get_if<T>(&e.what); d != nullptr && (conn == 0 || e.conn == conn)) {
      out.push_back(*d);
    }
  }
  return out;
}

}  // namespace schsim::testing
