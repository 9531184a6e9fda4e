#pragma once
// Shared fixture of the reference client's end-to-end tests: the real simulator in-process on
// 127.0.0.1 (ports chosen by the OS), the client on the same io_context, everything on the test
// thread. Tolerances are wide on purpose: a loaded 2-core machine can stall any step by tens of
// milliseconds.

#include <schsim/core/clock.hpp>
#include <schsim/core/timeline/recorder.hpp>
#include <schsim/refclient/client.hpp>
#include <schsim/refclient/cluster_client.hpp>
#include <schsim/simulator/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace schsim::refclient::itest {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

inline auto endpoint(std::string name, simulator::endpoint_profile profile = {})
    -> simulator::endpoint_config {
  simulator::endpoint_config c;
  c.name = std::move(name);
  c.profile = std::move(profile);
  return c;
}

inline auto on_endpoint(const std::string& name, bool opted_in_only = true) -> simulator::selector {
  simulator::selector s;
  s.which = simulator::selector::scope::endpoint;
  s.endpoint = name;
  s.opted_in_only = opted_in_only;
  return s;
}

/// MOVING as literal wire bytes (never through schsim's own serializer).
inline auto moving_bytes(std::int64_t seq, std::int64_t time_s,
                         const std::optional<std::string>& to) -> std::string {
  std::string out =
      ">4\r\n$6\r\nMOVING\r\n:" + std::to_string(seq) + "\r\n:" + std::to_string(time_s) + "\r\n";
  out += to ? "$" + std::to_string(to->size()) + "\r\n" + *to + "\r\n" : std::string{"_\r\n"};
  return out;
}
inline auto migrating_bytes(std::int64_t seq) -> std::string {
  return ">4\r\n$9\r\nMIGRATING\r\n:" + std::to_string(seq) + "\r\n:5\r\n$5\r\n[\"1\"]\r\n";
}
inline auto migrated_bytes(std::int64_t seq) -> std::string {
  return ">3\r\n$8\r\nMIGRATED\r\n:" + std::to_string(seq) + "\r\n$5\r\n[\"1\"]\r\n";
}

inline auto is_ok(const command_result& r) -> bool {
  return std::holds_alternative<resp3::value>(r);
}
inline auto error_of(const command_result& r) -> command_error {
  return is_ok(r) ? command_error{} : std::get<command_error>(r);
}
inline auto describe(const command_result& r) -> std::string {
  if (is_ok(r)) return "ok " + resp3::to_debug_string(std::get<resp3::value>(r));
  const auto& e = std::get<command_error>(r);
  return std::string{to_string(e.kind)} + ": " + e.message;
}

/// Open-loop INCR load on keys `<prefix>:<i>`: one command every `interval`, whatever the
/// previous ones are doing (as the harness issues them).
class workload {
 public:
  struct outcome {
    std::optional<command_result> result;
    time_point issued{};
    time_point completed{};
  };

  /// How the workload issues one command (a standalone or a cluster client).
  using execute_fn =
      std::function<void(std::vector<std::string>, std::function<void(command_result)>)>;

  workload(asio::io_context& io, client& c, std::string prefix, int count, milliseconds interval)
      : workload(
            io,
            [&c](std::vector<std::string> a, std::function<void(command_result)> done) {
              c.execute(std::move(a), std::move(done));
            },
            std::move(prefix), count, interval) {}
  workload(asio::io_context& io, execute_fn execute, std::string prefix, int count,
           milliseconds interval)
      : timer_{io},
        execute_{std::move(execute)},
        prefix_{std::move(prefix)},
        interval_{interval},
        results_(count) {}

  void start() {
    start_ = mono_clock::now();
    tick();
  }
  [[nodiscard]] auto done() const -> bool { return completed_ == results_.size(); }
  [[nodiscard]] auto results() const -> const std::vector<outcome>& { return results_; }
  [[nodiscard]] auto key(std::size_t i) const -> std::string {
    return prefix_ + ":" + std::to_string(i);
  }
  [[nodiscard]] auto failures() const -> std::size_t {
    std::size_t n = 0;
    for (const auto& o : results_) n += o.result && !is_ok(*o.result);
    return n;
  }
  [[nodiscard]] auto failure_summary() const -> std::string {
    std::string s;
    for (std::size_t i = 0; i < results_.size(); ++i) {
      if (results_[i].result && !is_ok(*results_[i].result)) {
        s += key(i) + " " + describe(*results_[i].result) + "\n";
      }
    }
    return s;
  }

 private:
  void tick() {
    while (next_ < results_.size() && mono_clock::now() >= start_ + interval_ * next_) {
      const std::size_t i = next_++;
      results_[i].issued = mono_clock::now();
      execute_({"INCR", key(i)}, [this, i](command_result r) {
        results_[i].result = std::move(r);
        results_[i].completed = mono_clock::now();
        ++completed_;
      });
    }
    if (next_ < results_.size()) {
      timer_.expires_at(start_ + interval_ * next_);
      timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) tick();
      });
    }
  }

  asio::steady_timer timer_;
  execute_fn execute_;
  std::string prefix_;
  milliseconds interval_;
  std::vector<outcome> results_;
  std::size_t next_ = 0;
  std::size_t completed_ = 0;
  time_point start_{};
};

class sim_test : public ::testing::Test {
 protected:
  void TearDown() override {
    // Shut clients down first and let their cancelled completions run while the workloads
    // they point into are still alive.
    for (auto& c : clients_) c->shutdown();
    for (auto& c : cluster_clients_) c->shutdown();
    run_for(20ms);
    if (server_) server_->stop();
    run_for(30ms);
    clients_.clear();
    cluster_clients_.clear();
    workloads_.clear();
  }

  auto make_workload(client& c, std::string prefix, int count, milliseconds interval) -> workload& {
    workloads_.push_back(std::make_unique<workload>(io_, c, std::move(prefix), count, interval));
    return *workloads_.back();
  }

  void start(std::vector<simulator::endpoint_config> endpoints, bool cluster = false) {
    simulator::server_config cfg;
    cfg.endpoints = std::move(endpoints);
    cfg.cluster = cluster;
    server_ = std::make_unique<simulator::server>(io_.get_executor(), std::move(cfg), record_);
    server_->start();
  }

  auto server() -> simulator::server& { return *server_; }
  auto address_of(const std::string& name) -> address {
    const auto info = server_->endpoint(name);
    EXPECT_TRUE(info.has_value()) << name;
    return info ? address{info->host, info->port} : address{};
  }

  /// Runs the io_context until `pred` holds or `limit` passes; returns whether it held.
  auto run_until(const std::function<bool()>& pred, milliseconds limit = 10s) -> bool {
    const auto deadline = mono_clock::now() + limit;
    while (!pred()) {
      if (mono_clock::now() >= deadline) return false;
      io_.restart();
      io_.run_for(2ms);
    }
    return true;
  }
  void run_for(milliseconds d) {
    const auto until = mono_clock::now() + d;
    while (mono_clock::now() < until) {
      io_.restart();
      io_.run_for(2ms);
    }
  }

  /// Test-friendly settings: short timeouts, so a scenario takes seconds, not minutes.
  auto config_for(const std::string& node) -> client_config {
    const auto a = address_of(node);
    client_config c;
    c.host = a.host;
    c.port = a.port;
    c.read_timeout = 1000ms;
    c.write_timeout = 1000ms;
    c.dial_timeout = 1000ms;
    c.pool_size = 4;
    c.maint.relaxed_timeout = 3000ms;
    c.maint.handoff_timeout = 3000ms;
    c.maint.post_handoff_relaxed_duration = 1000ms;
    return c;
  }

  auto make_client(const client_config& c) -> client& {
    auto r = resolve(c);
    EXPECT_TRUE(std::holds_alternative<resolved_config>(r));
    clients_.push_back(std::make_unique<client>(io_.get_executor(), std::get<resolved_config>(r),
                                                [this](const client_event& e) {
                                                  events_.push_back({mono_clock::now(), e});
                                                }));
    return *clients_.back();
  }

  auto make_cluster_client(const client_config& c, topology_params topology = {})
      -> cluster_client& {
    auto r = resolve(c);
    EXPECT_TRUE(std::holds_alternative<resolved_config>(r));
    cluster_clients_.push_back(std::make_unique<cluster_client>(
        io_.get_executor(), std::get<resolved_config>(r),
        [this](const client_event& e) {
          events_.push_back({mono_clock::now(), e});
        },
        topology));
    return *cluster_clients_.back();
  }

  auto make_workload(cluster_client& c, std::string prefix, int count, milliseconds interval)
      -> workload& {
    workloads_.push_back(std::make_unique<workload>(
        io_,
        [&c](std::vector<std::string> a, std::function<void(command_result)> done) {
          c.execute(std::move(a), std::move(done));
        },
        std::move(prefix), count, interval));
    return *workloads_.back();
  }

  template <class Client>
  auto connect(Client& c) -> std::optional<command_error> {
    auto state = std::make_shared<std::optional<std::optional<command_error>>>();
    c.connect([state](std::optional<command_error> e) { *state = std::move(e); });
    EXPECT_TRUE(run_until([&] { return state->has_value(); }));
    return state->value_or(command_error{error_class::other, "test: connect did not finish"});
  }

  template <class Client>
  auto exec(Client& c, std::vector<std::string> args, milliseconds limit = 10s) -> command_result {
    auto result = std::make_shared<std::optional<command_result>>();
    c.execute(std::move(args), [result](command_result r) { *result = std::move(r); });
    EXPECT_TRUE(run_until([&] { return result->has_value(); }, limit));
    return result->value_or(command_error{error_class::other, "test: no result in time"});
  }

  auto push(const std::string& node, const std::string& bytes, const std::string& name,
            std::int64_t seq) -> std::size_t {
    simulator::push_meta meta;
    meta.name = name;
    meta.seq = seq;
    return server_->send_push(on_endpoint(node), bytes, meta);
  }

  auto value_of(const std::string& key) -> std::optional<std::string> {
    const auto* v = server_->data().get(0, key, mono_clock::now());
    return v ? std::optional<std::string>{*v} : std::nullopt;
  }

  /// Every INCR that succeeded ran exactly once; every one that failed ran at most once.
  void expect_exactly_once(const workload& w) {
    for (std::size_t i = 0; i < w.results().size(); ++i) {
      const auto& o = w.results()[i];
      ASSERT_TRUE(o.result.has_value()) << w.key(i) << " never completed";
      const auto v = value_of(w.key(i));
      if (is_ok(*o.result)) {
        EXPECT_EQ(v, std::optional<std::string>{"1"})
            << w.key(i) << " ran " << v.value_or("0") << " times";
      } else {
        EXPECT_TRUE(!v || *v == "1") << w.key(i) << " ran " << *v << " times";
      }
    }
  }

  template <class T>
  auto events_of(const std::string& node = {}) -> std::vector<std::pair<timeline::event, T>> {
    std::vector<std::pair<timeline::event, T>> out;
    for (const auto& e : record_.snapshot()) {
      if (!node.empty() && e.endpoint != node) continue;
      if (const auto* d = std::get_if<T>(&e.what)) out.emplace_back(e, *d);
    }
    return out;
  }

  auto client_events(const std::string& name) const -> std::vector<client_event> {
    std::vector<client_event> out;
    for (const auto& [t, e] : events_) {
      if (e.name == name) out.push_back(e);
    }
    return out;
  }

  asio::io_context io_;
  timeline::recorder record_;
  std::unique_ptr<simulator::server> server_;
  std::vector<std::unique_ptr<client>> clients_;
  std::vector<std::unique_ptr<cluster_client>> cluster_clients_;
  std::vector<std::unique_ptr<workload>> workloads_;
  std::vector<std::pair<time_point, client_event>> events_;
};

}  // namespace schsim::refclient::itest
