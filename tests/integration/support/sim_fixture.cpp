#include "sim_fixture.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <condition_variable>
#include <mutex>

namespace schsim::testing {

sim_fixture::sim_fixture(simulator::server_config config) {
  server_ = std::make_unique<simulator::server>(io_.get_executor(), std::move(config), record_);
  server_->start();  // before the io thread runs, so nothing is concurrent yet
  running_ = true;
  thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(io_);
    io_.run();
  });
}

auto sim_fixture::single(simulator::endpoint_profile profile) -> simulator::server_config {
  simulator::server_config cfg;
  simulator::endpoint_config ep;
  ep.name = "node-a";
  ep.profile = std::move(profile);
  cfg.endpoints.push_back(std::move(ep));
  return cfg;
}

sim_fixture::~sim_fixture() { shutdown(); }

void sim_fixture::post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

auto sim_fixture::port(const std::string& endpoint) -> std::uint16_t {
  return call([&](simulator::server& s) { return s.endpoint(endpoint)->port; });
}

auto sim_fixture::wait_for(const std::function<bool(const timeline::event&)>& pred,
                           std::chrono::milliseconds timeout) -> std::optional<timeline::event> {
  // Shared with the observer: the recorder may still be calling it after unsubscribe() returns.
  struct state {
    std::mutex m;
    std::condition_variable cv;
    std::optional<timeline::event> found;
    std::function<bool(const timeline::event&)> pred;
  };
  auto st = std::make_shared<state>();
  st->pred = pred;
  // Subscribe first, then scan what is already there, so nothing slips between the two.
  const auto id = record_.subscribe([st](const timeline::event& e) {
    if (st->pred(e)) {
      std::lock_guard lock(st->m);
      if (!st->found) {
        st->found = e;
      }
      st->cv.notify_all();
    }
  });
  for (const auto& e : record_.snapshot()) {
    if (pred(e)) {
      std::lock_guard lock(st->m);
      if (!st->found) {
        st->found = e;
      }
      break;
    }
  }
  std::optional<timeline::event> result;
  {
    std::unique_lock lock(st->m);
    st->cv.wait_for(lock, timeout, [&] { return st->found.has_value(); });
    result = st->found;
  }
  record_.unsubscribe(id);
  return result;
}

auto sim_fixture::conn_id(std::uint16_t client_port) -> std::uint64_t {
  const std::string peer = "127.0.0.1:" + std::to_string(client_port);
  const auto ev = wait_for([&](const timeline::event& e) {
    const auto* o = std::get_if<timeline::connection_opened>(&e.what);
    return o != nullptr && o->peer == peer;
  });
  return ev ? ev->conn : 0;
}

void sim_fixture::shutdown() {
  if (!running_) {
    return;
  }
  running_ = false;
  call([](simulator::server& s) {
    s.stop();
    return 0;
  });
  io_.stop();
  thread_.join();
  server_.reset();
}

}  // namespace schsim::testing
