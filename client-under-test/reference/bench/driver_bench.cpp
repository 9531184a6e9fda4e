// schsim-refclient-bench: throughput and latency of client drivers on the same simulator, in the
// same run, with and without a MOVING in the middle.
//
// Every client is driven through its driver program (docs/driver-protocol.md), the same path the
// harness uses, so the numbers compare the libraries and not their harnesses: closed loop with a
// fixed window of outstanding INCRs, latency taken from the driver's own sent_ns/t_ns stamps.
//
//   schsim-refclient-bench [--duration-ms=3000] [--window=32] [--pool-size=4]
//                          [--client=NAME=COMMAND]...     (default: refclient and node-redis)

#include <schsim/core/clock.hpp>
#include <schsim/core/timeline/recorder.hpp>
#include <schsim/simulator/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <future>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../integration/support/child.hpp"

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace sim = schsim::simulator;
using schsim::refclient::itest::child_process;

struct client_spec {
  std::string name;
  std::vector<std::string> argv;
};

struct options {
  std::chrono::milliseconds duration{3000};
  int window = 32;
  int pool_size = 4;
  bool series = false;  // print completions per 250 ms
  std::vector<client_spec> clients;
};

struct phase_result {
  std::string client;
  std::string phase;
  std::string note;
  std::size_t ok = 0;
  std::size_t failed = 0;
  double seconds = 0;
  std::vector<double> latency_ms;
  std::vector<std::int64_t> completed_ns;  // t_ns of every result, for --series
};

/// The simulator on its own thread; control calls are posted to it and waited for.
class simulator_thread {
 public:
  simulator_thread() : work_{asio::make_work_guard(io_)} {
    sim::server_config cfg;
    for (const char* name : {"node-a", "node-b"}) {
      sim::endpoint_config ep;
      ep.name = name;
      cfg.endpoints.push_back(ep);
    }
    cfg.record_commands = false;  // a benchmark, not a conformance run
    server_ = std::make_unique<sim::server>(io_.get_executor(), cfg, record_);
    server_->start();
    thread_ = std::thread{[this] { io_.run(); }};
  }
  ~simulator_thread() {
    call([this] { server_->stop(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  template <class F>
  auto call(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task{std::move(f)};
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }
  auto address(const std::string& name) -> std::pair<std::string, std::uint16_t> {
    return call([&] {
      const auto info = server_->endpoint(name);
      return std::pair{info->host, info->port};
    });
  }
  auto send_moving_to_b(std::int64_t time_s) -> std::size_t {
    const auto [host, port] = address("node-b");
    const std::string to = host + ":" + std::to_string(port);
    const std::string bytes = ">4\r\n$6\r\nMOVING\r\n:1\r\n:" + std::to_string(time_s) + "\r\n$" +
                              std::to_string(to.size()) + "\r\n" + to + "\r\n";
    return call([&] {
      sim::selector s;
      s.which = sim::selector::scope::endpoint;
      s.endpoint = "node-a";
      s.opted_in_only = true;
      sim::push_meta meta;
      meta.name = "MOVING";
      meta.seq = 1;
      meta.time_s = time_s;
      return server_->send_push(s, bytes, meta);
    });
  }
  auto close_node_a() -> std::size_t {
    return call([&] {
      sim::selector s;
      s.which = sim::selector::scope::endpoint;
      s.endpoint = "node-a";
      return server_->close_connections(s, sim::close_mode::fin, sim::close_point::between_frames,
                                        "grace ended");
    });
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  schsim::timeline::recorder record_;
  std::unique_ptr<sim::server> server_;
  std::thread thread_;
};

/// Blocks (politely) for the next line of `type`; results seen meanwhile go to `on_result`.
auto wait_for(child_process& d, const std::string& type, std::chrono::milliseconds limit,
              const std::function<void(const json&)>& on_result = {}) -> std::optional<json> {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    while (auto line = d.try_read_line()) {
      json j = json::parse(*line, nullptr, false);
      if (j.is_discarded()) continue;
      const auto t = j.value("type", "");
      if (t == type) return j;
      if (t == "result" && on_result) on_result(j);
    }
    if (d.wait_exit(0ms)) return std::nullopt;
    std::this_thread::sleep_for(200us);
  }
  return std::nullopt;
}

auto run_phase(const client_spec& spec, const options& opt, bool with_moving) -> phase_result {
  phase_result r;
  r.client = spec.name;
  r.phase = with_moving ? "MOVING at 1/3" : "steady";
  simulator_thread sim;
  child_process d{spec.argv};
  d.write_line(R"({"type":"hello","protocol":1,"case":"bench"})");
  if (!wait_for(d, "hello", 10s)) {
    r.note = "driver did not start (exit " + std::to_string(d.wait_exit(0ms).value_or(-1)) + ")";
    return r;
  }
  const auto [host, port] = sim.address("node-a");
  d.write_line(json{{"type", "configure"},
                    {"endpoint", {{"host", host}, {"port", port}}},
                    {"settings",
                     {{"protocol", 3},
                      {"mode", "auto"},
                      {"endpoint_type", "auto"},
                      {"timeout_ms", 2000},
                      {"relaxed_timeout_ms", 5000},
                      {"post_handoff_relaxed_ms", 2000},
                      {"handoff_timeout_ms", 5000},
                      {"connect_timeout_ms", 1000},
                      {"pool_size", opt.pool_size}}}}
                   .dump());
  if (!wait_for(d, "configured", 5s)) {
    r.note = "not configured";
    return r;
  }
  d.write_line(R"({"type":"connect"})");
  if (!wait_for(d, "connected", 5s)) {
    r.note = "did not connect";
    return r;
  }

  std::uint64_t next_id = 1;
  std::size_t outstanding = 0;
  auto send = [&] {
    d.write_line(json{{"type", "command"},
                      {"id", next_id},
                      {"args", {"INCR", "bench:" + std::to_string(next_id)}},
                      {"intended_ns", schsim::to_ns(schsim::mono_clock::now())}}
                     .dump());
    ++next_id;
    ++outstanding;
  };
  auto on_result = [&](const json& j) {
    --outstanding;
    if (j.value("ok", false)) {
      ++r.ok;
    } else {
      ++r.failed;
    }
    const auto sent = j.value("sent_ns", std::int64_t{0});
    const auto done = j.value("t_ns", std::int64_t{0});
    r.latency_ms.push_back(static_cast<double>(done - sent) / 1e6);
    r.completed_ns.push_back(done);
  };

  const std::int64_t grace_s = 2;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + opt.duration;
  const auto moving_at = start + opt.duration / 3;
  bool moved = false;
  bool closed = false;
  for (int i = 0; i < opt.window; ++i) send();
  while (std::chrono::steady_clock::now() < end) {
    if (with_moving && !moved && std::chrono::steady_clock::now() >= moving_at) {
      moved = true;
      r.note = "MOVING to " + std::to_string(sim.send_moving_to_b(grace_s)) + " conn(s)";
    }
    if (with_moving && moved && !closed &&
        std::chrono::steady_clock::now() >= moving_at + std::chrono::seconds{grace_s}) {
      closed = true;
      r.note += ", " + std::to_string(sim.close_node_a()) + " left at grace";
    }
    bool any = false;
    while (auto line = d.try_read_line()) {
      any = true;
      const json j = json::parse(*line, nullptr, false);
      if (!j.is_discarded() && j.value("type", "") == "result") {
        on_result(j);
        if (std::chrono::steady_clock::now() < end) send();
      }
    }
    if (d.wait_exit(0ms)) {
      r.note += " driver exited early";
      break;
    }
    if (!any) std::this_thread::sleep_for(50us);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto drain_until = std::chrono::steady_clock::now() + 10s;
  while (outstanding > 0 && std::chrono::steady_clock::now() < drain_until) {
    while (auto line = d.try_read_line()) {
      const json j = json::parse(*line, nullptr, false);
      if (!j.is_discarded() && j.value("type", "") == "result") on_result(j);
    }
    std::this_thread::sleep_for(200us);
  }
  d.write_line(R"({"type":"shutdown"})");
  wait_for(d, "bye", 5s);
  d.wait_exit(5s);
  return r;
}

auto percentile(std::vector<double> v, double p) -> double {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

auto split(const std::string& command) -> std::vector<std::string> {
  std::istringstream in{command};
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

}  // namespace

auto main(int argc, char** argv) -> int {
  options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg{argv[i]};
    if (arg.starts_with("--duration-ms=")) {
      opt.duration = std::chrono::milliseconds{std::stoi(arg.substr(14))};
    } else if (arg.starts_with("--window=")) {
      opt.window = std::stoi(arg.substr(9));
    } else if (arg.starts_with("--pool-size=")) {
      opt.pool_size = std::stoi(arg.substr(12));
    } else if (arg == "--series") {
      opt.series = true;
    } else if (arg.starts_with("--client=")) {
      const auto spec = arg.substr(9);
      const auto eq = spec.find('=');
      if (eq == std::string::npos) {
        std::cerr << "--client=NAME=COMMAND\n";
        return 2;
      }
      opt.clients.push_back({spec.substr(0, eq), split(spec.substr(eq + 1))});
    } else {
      std::cerr << "usage: schsim-refclient-bench [--duration-ms=N] [--window=N] [--pool-size=N]"
                   " [--client=NAME=COMMAND]...\n";
      return 2;
    }
  }
  if (opt.clients.empty()) {
    opt.clients.push_back({"refclient", {SCHSIM_REFCLIENT_DRIVER}});
    opt.clients.push_back(
        {"node-redis",
         {"/bin/bash", SCHSIM_SOURCE_DIR "/client-under-test/drivers/run-node-redis.sh"}});
  }

  std::printf("%-12s %-14s %8s %7s %10s %8s %8s %8s  %s\n", "client", "phase", "ok", "failed",
              "ops/s", "p50 ms", "p99 ms", "max ms", "note");
  for (const auto& spec : opt.clients) {
    for (const bool moving : {false, true}) {
      const auto r = run_phase(spec, opt, moving);
      std::printf("%-12s %-14s %8zu %7zu %10.0f %8.2f %8.2f %8.2f  %s\n", r.client.c_str(),
                  r.phase.c_str(), r.ok, r.failed,
                  r.seconds > 0 ? static_cast<double>(r.ok) / r.seconds : 0.0,
                  percentile(r.latency_ms, 0.50), percentile(r.latency_ms, 0.99),
                  percentile(r.latency_ms, 1.0), r.note.c_str());
      if (opt.series && !r.completed_ns.empty()) {
        const auto first = *std::min_element(r.completed_ns.begin(), r.completed_ns.end());
        std::vector<int> buckets;
        for (const auto t : r.completed_ns) {
          const auto b = static_cast<std::size_t>((t - first) / 250'000'000);
          if (buckets.size() <= b) buckets.resize(b + 1);
          ++buckets[b];
        }
        std::printf("  per 250 ms:");
        for (const auto b : buckets) std::printf(" %d", b);
        std::printf("\n");
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
