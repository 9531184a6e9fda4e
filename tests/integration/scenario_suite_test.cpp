// Every built-in scenario's timeline, run by the engine against the real simulator on loopback
// with a scripted client that handshakes, keeps a connection open and follows MOVING; plus the
// replay of active notifications to connections opened during a window.
#include <schsim/core/maint/codec.hpp>
#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/scenario/expand.hpp>
#include <schsim/engine/driver.hpp>
#include <schsim/scenario_io/load.hpp>
#include <schsim/simulator/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "support/test_client.hpp"
#include "support/timing_band.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace scenario_suite_test {
namespace {

namespace fs = std::filesystem;
namespace sc = schsim::scenario;
namespace tl = schsim::timeline;
namespace maint = schsim::maint;
using schsim::mono_clock;
using schsim::time_point;
using schsim::testing::loaded_machine_slack_ns;
using schsim::testing::read_end;
using schsim::testing::test_client;
using namespace std::chrono_literals;

const fs::path scenarios_dir = fs::path(SCHSIM_SOURCE_DIR) / "scenarios";

auto load(const std::string& id) -> sc::scenario {
  auto r = schsim::scenario_io::load_file(scenarios_dir / (id + ".toml"));
  if (!r.ok()) {
    ADD_FAILURE() << schsim::scenario_io::to_string(r.errors.front());
    return {};
  }
  return std::move(*r.value);
}

/// The simulator and the engine's driver on their own io thread.
class run_fixture {
 public:
  run_fixture(const sc::scenario& s, std::uint64_t seed) : s_(s) {
    server_ = std::make_unique<schsim::simulator::server>(
        io_.get_executor(), schsim::engine::make_server_config(s), record_);
    server_->start();
    for (const auto& e : server_->endpoints()) {
      ports_[e.name] = e.port;
    }
    driver_ =
        std::make_unique<schsim::engine::driver>(io_.get_executor(), *server_, record_, s, seed);
    thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~run_fixture() { shutdown(); }
  run_fixture(const run_fixture&) = delete;
  auto operator=(const run_fixture&) -> run_fixture& = delete;

  void start_timeline() {
    on_io([this] {
      driver_->start([this](const std::string& error) {
        std::lock_guard lock(mutex_);
        finished_ = error;
      });
    });
  }

  void shutdown() {
    if (!thread_.joinable()) {
      return;
    }
    on_io([this] {
      driver_->stop();
      server_->stop();
    });
    io_.stop();
    thread_.join();
  }

  // Runs `fn` on the io thread and waits for it.
  void on_io(std::function<void()> fn) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  auto events() const -> std::vector<tl::event> { return record_.snapshot(); }
  auto port(const std::string& endpoint) const -> std::uint16_t { return ports_.at(endpoint); }
  auto ports() const -> const std::map<std::string, std::uint16_t>& { return ports_; }

  /// Waits until `pred` holds on the recorded events (polling); false after `timeout`.
  auto wait_until(const std::function<bool(const std::vector<tl::event>&)>& pred,
                  std::chrono::milliseconds timeout) const -> bool {
    const auto end = mono_clock::now() + timeout;
    while (mono_clock::now() < end) {
      if (pred(events())) {
        return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return pred(events());
  }

  /// The step_executed event of `step`, once it ran.
  auto wait_step(const std::string& step, std::chrono::milliseconds timeout = 10s) const
      -> std::optional<tl::event> {
    std::optional<tl::event> found;
    wait_until(
        [&](const std::vector<tl::event>& ev) {
          for (const auto& e : ev) {
            if (const auto* st = std::get_if<tl::step_executed>(&e.what); st && st->step == step) {
              found = e;
              return true;
            }
          }
          return false;
        },
        timeout);
    return found;
  }

 private:
  sc::scenario s_;
  tl::recorder record_;
  boost::asio::io_context io_{1};
  std::unique_ptr<schsim::simulator::server> server_;
  std::unique_ptr<schsim::engine::driver> driver_;
  std::map<std::string, std::uint16_t> ports_;
  std::thread thread_;
  std::mutex mutex_;
  std::optional<std::string> finished_;
};

auto command(std::initializer_list<std::string_view> args) -> std::string {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n" + std::string(a) + "\r\n";
  }
  return out;
}

struct push_seen {
  time_point at;
  maint::notification n;
};

auto decode_push(const std::string& frame) -> std::optional<maint::notification> {
  schsim::resp3::parser p;
  p.feed(frame);
  auto v = p.next();
  if (!v) {
    return std::nullopt;
  }
  auto d = maint::decode(*v);
  if (!d || !std::holds_alternative<maint::notification>(*d)) {
    return std::nullopt;
  }
  return std::get<maint::notification>(*d);
}

/// A connection that did the handshake the scenario's client settings describe.
struct session {
  std::unique_ptr<test_client> conn;
  std::vector<push_seen> pushes;  // pushes that arrived during the handshake
};

auto handshake(std::uint16_t port, const sc::client_settings& c,
               std::chrono::milliseconds read_timeout) -> session {
  session s{std::make_unique<test_client>(port, read_timeout), {}};
  auto reply = [&]() -> std::string {
    // Skip (and keep) pushes; give up after ~1 s of silence (a blackholed endpoint).
    for (int idle = 0; idle * read_timeout < 1s;) {
      auto f = s.conn->read_frame();
      if (f.empty()) {
        if (s.conn->last_end() != read_end::timeout) {
          return {};
        }
        ++idle;
        continue;
      }
      if (f[0] != '>') {
        return f;
      }
      if (auto n = decode_push(f)) {
        s.pushes.push_back({mono_clock::now(), *n});
      }
    }
    return {};
  };
  bool resp3 = false;
  if (c.protocol == 3) {
    s.conn->write(c.password.empty() ? command({"HELLO", "3"})
                                     : command({"HELLO", "3", "AUTH",
                                                c.user.empty() ? "default" : c.user, c.password}));
    const auto r = reply();
    resp3 = !r.empty() && r[0] != '-';
  }
  if (!resp3 && !c.password.empty()) {
    s.conn->write(command({"AUTH", c.password}));
    reply();
  }
  if (resp3 && c.mode != sc::sch_mode::disabled) {
    const auto type = c.moving_endpoint_type == sc::endpoint_type::automatic
                          ? std::string("internal-ip")
                          : std::string(sc::to_string(c.moving_endpoint_type));
    s.conn->write(command({"CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", type}));
    reply();
  }
  return s;
}

/**
 * The scripted client: connects to the start endpoint, handshakes, sends PINGs open-loop at the
 * workload's rate, records every maintenance push, moves to a MOVING's endpoint at once, and
 * reconnects when the server closes the connection.
 */
class scripted_client {
 public:
  scripted_client(std::map<std::string, std::uint16_t> ports, sc::scenario s)
      : ports_(std::move(ports)), s_(std::move(s)) {
    thread_ = std::thread([this] { run(); });
  }
  ~scripted_client() {
    stop_ = true;
    thread_.join();
  }
  scripted_client(const scripted_client&) = delete;
  auto operator=(const scripted_client&) -> scripted_client& = delete;

  auto pushes() -> std::vector<push_seen> {
    std::lock_guard lock(mutex_);
    return pushes_;
  }

 private:
  void record(const push_seen& p) {
    std::lock_guard lock(mutex_);
    pushes_.push_back(p);
  }

  void run() {
    std::string target = s_.topo.start;
    const auto period =
        s_.load.rate > 0
            ? std::max<std::chrono::nanoseconds>(
                  10ms, std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / s_.load.rate)))
            : std::chrono::nanoseconds(0);
    while (!stop_) {
      session sess;
      try {
        sess = handshake(ports_.at(target), s_.client, 20ms);
      } catch (const std::exception&) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      for (const auto& p : sess.pushes) {
        record(p);
      }
      try {
        serve(sess, target, period);
      } catch (const std::exception&) {
        // reset by the server mid-write: reconnect
      }
    }
  }

  void serve(session& sess, std::string& target, std::chrono::nanoseconds period) {
    auto next_command = mono_clock::now();
    while (!stop_) {
      if (period.count() > 0 && mono_clock::now() >= next_command) {
        sess.conn->write(command({"PING"}));
        next_command += period;
      }
      const auto f = sess.conn->read_frame();
      if (f.empty()) {
        if (sess.conn->last_end() == read_end::timeout) {
          continue;
        }
        break;  // closed by the server: reconnect
      }
      if (f[0] != '>') {
        continue;
      }
      const auto n = decode_push(f);
      if (!n) {
        continue;
      }
      record({mono_clock::now(), *n});
      if (const auto* m = std::get_if<maint::moving>(&*n); m && m->endpoint) {
        for (const auto& [name, port] : ports_) {
          if (m->endpoint->ends_with(":" + std::to_string(port))) {
            target = name;
          }
        }
        break;  // hand off at once
      }
    }
  }

  std::map<std::string, std::uint16_t> ports_;
  sc::scenario s_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<push_seen> pushes_;
  std::thread thread_;
};

auto step_events(const std::vector<tl::event>& events)
    -> std::map<std::string, std::pair<tl::step_executed, std::int64_t>> {
  std::map<std::string, std::pair<tl::step_executed, std::int64_t>> out;
  for (const auto& e : events) {
    if (const auto* st = std::get_if<tl::step_executed>(&e.what);
        st && !st->step.ends_with("#replay")) {
      out.emplace(st->step, std::pair{*st, e.t_ns});
    }
  }
  return out;
}

auto files() -> std::vector<std::string> {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(scenarios_dir)) {
    if (e.path().extension() == ".toml") {
      out.push_back(e.path().stem().string());
    }
  }
  std::ranges::sort(out);
  return out;
}

auto param_name(const testing::TestParamInfo<std::string>& info) -> std::string {
  auto name = info.param;
  std::ranges::replace(name, '-', '_');
  return name;
}

class BuiltinScenarioRun : public testing::TestWithParam<std::string> {};

// Lateness allowed between a step's scheduled and actual time. The engine is typically well
// under a millisecond late (the serve and MOVING tests hold it to 5 ms); this margin only absorbs
// a loaded 2-core CI machine running test binaries in parallel. Scheduling itself is checked
// exactly below: deadlines never drift.
constexpr auto max_lateness = 50ms;

TEST_P(BuiltinScenarioRun, EveryStepRunsOnTime) {
  const auto s = load(GetParam());
  ASSERT_FALSE(s.meta.id.empty());
  const auto expanded = sc::expand(s);
  run_fixture run(s, 1);
  run.start_timeline();
  scripted_client client(run.ports(), s);

  const bool all_ran = run.wait_until(
      [&](const std::vector<tl::event>& ev) {
        return step_events(ev).size() == expanded.steps.size();
      },
      s.duration + 3s);
  const auto steps = step_events(run.events());
  EXPECT_TRUE(all_ran) << steps.size() << " of " << expanded.steps.size() << " steps ran";

  for (const auto& st : expanded.steps) {
    const auto it = steps.find(st.id);
    if (it == steps.end()) {
      ADD_FAILURE() << "step " << st.id << " never ran";
      continue;
    }
    const auto& [ev, actual_ns] = it->second;
    const auto late = std::chrono::nanoseconds(actual_ns - ev.scheduled_ns);
    EXPECT_GE(late.count(), 0) << st.id << " ran before its time";
    EXPECT_LT(late.count(),
              std::chrono::nanoseconds(max_lateness).count() + loaded_machine_slack_ns())
        << st.id << " ran " << late.count() / 1000 << " us late";
    // Deadlines are absolute: an `after` step is due exactly at its reference's schedule plus
    // the delay, however late the reference actually ran.
    if (const auto* after = std::get_if<sc::after_step>(&st.start)) {
      const auto& ref = steps.at(after->step).first;
      EXPECT_EQ(ev.scheduled_ns - ref.scheduled_ns,
                std::chrono::duration_cast<std::chrono::nanoseconds>(after->delay).count())
          << st.id;
    }
  }
}

// The scripted client here speaks plaintext only, so the TLS scenarios (whose endpoints need the
// run's certificates and a TLS client) run their steps through the harness instead: the reference
// client in suite.reference_passes_every_builtin_scenario and the matrix, HarnessBroken's
// skip-handoff-verification case, and the simulator's TLS tests.
auto plaintext_files() -> std::vector<std::string> {
  auto out = files();
  std::erase_if(out, [](const std::string& f) {
    const auto s = load(f);
    return std::ranges::any_of(s.topo.endpoints, [](const auto& e) { return e.tls; });
  });
  return out;
}

INSTANTIATE_TEST_SUITE_P(Suite, BuiltinScenarioRun, testing::ValuesIn(plaintext_files()),
                         param_name);

// ---------------------------------------------------------------------------------------------

TEST(ScenarioRun, MovingReachesTheClientOnTimeAndTheOldEndpointCloses) {
  const auto s = load("moving-new-endpoint");
  run_fixture run(s, 7);
  run.start_timeline();
  auto a = handshake(run.port("node-a"), s.client, 10s);
  const auto frame = a.conn->read_frame();
  const auto received = mono_clock::now();
  const auto moving = run.wait_step("move");
  ASSERT_TRUE(moving.has_value());
  const auto& st = std::get<tl::step_executed>(moving->what);
  const auto n = decode_push(frame);
  ASSERT_TRUE(n.has_value()) << frame;
  const auto& m = std::get<maint::moving>(*n);
  EXPECT_EQ(m.time_s, 3);
  EXPECT_EQ(m.endpoint, "127.0.0.1:" + std::to_string(run.port("node-b")));
  EXPECT_LT(schsim::to_ns(received) - st.scheduled_ns, 5'000'000 + loaded_machine_slack_ns())
      << "the push reaches the client on schedule (5 ms on an idle machine, plus the band)";

  // node-b is up now; node-a closes this connection at the end of the grace.
  const test_client b(run.port("node-b"));
  a.conn->read_until_closed();
  const auto closed_at = mono_clock::now();
  const auto close = run.wait_step("move.close");
  ASSERT_TRUE(close.has_value());
  const auto close_scheduled = std::get<tl::step_executed>(close->what).scheduled_ns;
  EXPECT_EQ(close_scheduled - st.scheduled_ns, 3'000'000'000);
  EXPECT_LT(schsim::to_ns(closed_at) - close_scheduled, 5'000'000 + loaded_machine_slack_ns())
      << "closed on schedule";
}

TEST(ScenarioRun, ConnectionsOpenedDuringAWindowGetTheActiveNotification) {
  const auto s = load("new-connection-during-window");
  run_fixture run(s, 3);
  run.start_timeline();
  auto a = handshake(run.port("node-a"), s.client, 5s);
  const auto migrating = decode_push(a.conn->read_frame());
  ASSERT_TRUE(migrating.has_value());
  ASSERT_EQ(maint::kind_of(*migrating), maint::kind::migrating);

  // Opened during the MIGRATING window: the same notification, with the time that is left.
  const auto sent = run.wait_step("migrating");
  ASSERT_TRUE(sent.has_value());
  std::this_thread::sleep_for(1100ms);
  auto b = handshake(run.port("node-a"), s.client, 2s);
  const auto replay = b.pushes.empty() ? decode_push(b.conn->read_frame()) : b.pushes[0].n;
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(maint::kind_of(*replay), maint::kind::migrating);
  EXPECT_EQ(maint::seq_of(*replay), maint::seq_of(*migrating)) << "one event, one seq";
  EXPECT_EQ(maint::time_of(*replay), 0) << "2 s window, ~1.1 s gone: 0 whole seconds left";

  // After MIGRATED nothing is active until the MOVING.
  ASSERT_TRUE(run.wait_step("migrated").has_value());
  auto c = handshake(run.port("node-a"), s.client, 150ms);
  EXPECT_TRUE(c.pushes.empty());
  EXPECT_TRUE(c.conn->read_frame().empty());

  // Opened during the MOVING's grace: MOVING with the remaining time.
  const auto move = run.wait_step("move");
  ASSERT_TRUE(move.has_value());
  std::this_thread::sleep_for(1200ms);
  auto d = handshake(run.port("node-a"), s.client, 2s);
  const auto late = d.pushes.empty() ? decode_push(d.conn->read_frame()) : d.pushes[0].n;
  ASSERT_TRUE(late.has_value());
  const auto& m = std::get<maint::moving>(*late);
  EXPECT_EQ(m.time_s, 1) << "3 s grace, ~1.2 s gone";
  EXPECT_EQ(m.endpoint, "127.0.0.1:" + std::to_string(run.port("node-b")));

  // node-b's own connections never get the MOVING.
  auto e = handshake(run.port("node-b"), s.client, 150ms);
  EXPECT_TRUE(e.pushes.empty());
  EXPECT_TRUE(e.conn->read_frame().empty());
}

TEST(ScenarioRun, NullMovingSparesConnectionsThatCameBack) {
  const auto s = load("moving-null-endpoint");
  run_fixture run(s, 5);
  run.start_timeline();
  auto old_conn = handshake(run.port("node-a"), s.client, 5s);
  const auto n = decode_push(old_conn.conn->read_frame());
  ASSERT_TRUE(n.has_value());
  EXPECT_FALSE(std::get<maint::moving>(*n).endpoint.has_value()) << "type none: null endpoint";
  std::this_thread::sleep_for(1s);  // time/2, then back to the same address
  auto back = handshake(run.port("node-a"), s.client, 100ms);
  ASSERT_TRUE(run.wait_step("move.close").has_value());
  old_conn.conn->read_until_closed();
  EXPECT_NE(old_conn.conn->last_end(), read_end::timeout);
  std::this_thread::sleep_for(200ms);
  back.conn->write(command({"PING"}));
  std::string pong;
  for (int i = 0; i < 20 && (pong.empty() || pong[0] == '>'); ++i) {
    pong = back.conn->read_frame();
  }
  EXPECT_EQ(pong, "+PONG\r\n") << "the reconnected connection survives the close";
}

}  // namespace
}  // namespace scenario_suite_test
