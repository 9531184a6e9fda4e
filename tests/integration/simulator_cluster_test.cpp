// The OSS Cluster API end to end: scenarios/cluster-slot-migration.toml run by the engine's
// driver against the real simulator on loopback (what `schsim serve` does), observed by raw
// socket clients with hand-written requests: CLUSTER SLOTS before and after, -ASK / -MOVED /
// ASKING during the migration, and the SMIGRATED triplet agreeing with CLUSTER SLOTS at the
// moment the push arrives.
#include <schsim/engine/driver.hpp>
#include <schsim/scenario_io/load.hpp>
#include <schsim/simulator/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <map>
#include <thread>

#include "support/test_client.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace simulator_cluster_test {
namespace {

namespace fs = std::filesystem;
namespace sc = schsim::scenario;
namespace tl = schsim::timeline;
using schsim::testing::test_client;
using namespace std::chrono_literals;

auto load(const std::string& id) -> sc::scenario {
  auto r =
      schsim::scenario_io::load_file(fs::path(SCHSIM_SOURCE_DIR) / "scenarios" / (id + ".toml"));
  if (!r.ok()) {
    ADD_FAILURE() << schsim::scenario_io::to_string(r.errors.front());
    return {};
  }
  return std::move(*r.value);
}

// The simulator and the scenario driver on their own io thread, as `schsim serve` runs them.
class cluster_run {
 public:
  explicit cluster_run(const sc::scenario& s) {
    server_ = std::make_unique<schsim::simulator::server>(
        io_.get_executor(), schsim::engine::make_server_config(s), record_);
    server_->start();
    for (const auto& e : server_->endpoints()) {
      ports_[e.name] = e.port;
    }
    driver_ = std::make_unique<schsim::engine::driver>(io_.get_executor(), *server_, record_, s, 1);
    thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(io_);
      io_.run();
    });
    on_io([this] { driver_->start(); });
  }
  ~cluster_run() {
    on_io([this] {
      driver_->stop();
      server_->stop();
    });
    io_.stop();
    thread_.join();
  }
  cluster_run(const cluster_run&) = delete;
  auto operator=(const cluster_run&) -> cluster_run& = delete;

  void on_io(const std::function<void()>& fn) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  auto port(const std::string& node) const -> std::uint16_t { return ports_.at(node); }
  auto address(const std::string& node) const -> std::string {
    return "127.0.0.1:" + std::to_string(port(node));
  }
  auto events() const -> std::vector<tl::event> { return record_.snapshot(); }

 private:
  boost::asio::io_context io_{1};
  tl::recorder record_;
  std::unique_ptr<schsim::simulator::server> server_;
  std::unique_ptr<schsim::engine::driver> driver_;
  std::map<std::string, std::uint16_t> ports_;
  std::thread thread_;
};

auto bulk(std::string_view s) -> std::string {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

// One CLUSTER SLOTS row in RESP2, written out by hand.
auto slots_row(int first, int last, std::uint16_t port, const std::string& node) -> std::string {
  return "*3\r\n:" + std::to_string(first) + "\r\n:" + std::to_string(last) + "\r\n*4\r\n" +
         bulk("127.0.0.1") + ":" + std::to_string(port) + "\r\n" +
         bulk(schsim::simulator::cluster_state::node_id(node)) + "*0\r\n";
}

constexpr std::string_view cluster_slots = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";
constexpr std::string_view asking = "*1\r\n$6\r\nASKING\r\n";
// "{hello}" hashes to slot 866 (CLUSTER KEYSLOT hello), inside the 0-2730 that move.
constexpr std::string_view get_missing = "*2\r\n$3\r\nGET\r\n$14\r\n{hello}missing\r\n";
constexpr std::string_view set_hello = "*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$1\r\nv\r\n";
constexpr std::string_view get_hello = "*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n";

// Reads frames until one starts with `prefix` (a push among replies); empty on timeout.
auto read_push(test_client& c, std::string_view name) -> std::string {
  for (int i = 0; i < 20; ++i) {
    auto f = c.read_frame();
    if (f.empty()) {
      return f;
    }
    if (f.starts_with(">") && f.find(name) != std::string::npos) {
      return f;
    }
  }
  return {};
}

// The steps of SlotMigrationRedirectsAndSmigratedMatchesClusterSlots, in the order the
// scenario's timeline runs them.

/// CLUSTER SLOTS as the file says, before the migration completes.
auto initial_slots(const cluster_run& run) -> std::string {
  return "*3\r\n" + slots_row(0, 5460, run.port("node-a"), "node-a") +
         slots_row(5461, 10922, run.port("node-b"), "node-b") +
         slots_row(10923, 16383, run.port("node-c"), "node-c");
}

/// The opted-in connection (bare handshake, as the OSS Cluster API docs describe) starts the
/// timeline: SMIGRATING 1 s later. `seq` is its sequence number.
void expect_smigrating(test_client& listener, long long& seq) {
  listener.write("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  ASSERT_TRUE(listener.read_frame().starts_with("%7\r\n"));
  EXPECT_EQ(listener.roundtrip("*3\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n"),
            "+OK\r\n");
  const auto smigrating = read_push(listener, "SMIGRATING");
  ASSERT_FALSE(smigrating.empty()) << "no SMIGRATING";
  const auto seq_at = smigrating.find("\r\n:") + 3;
  seq = std::stoll(smigrating.substr(seq_at, smigrating.find("\r\n", seq_at) - seq_at));
  EXPECT_EQ(smigrating,
            ">3\r\n$10\r\nSMIGRATING\r\n:" + std::to_string(seq) + "\r\n$6\r\n0-2730\r\n");
}

/// During the migration, after node-a asked for the missing key: node-b refuses it without
/// ASKING and serves it after; ownership has not changed yet.
void expect_node_b_serves_after_asking(const cluster_run& run, test_client& on_b,
                                       test_client& probe) {
  EXPECT_EQ(on_b.roundtrip(get_missing), "-MOVED 866 " + run.address("node-a") + "\r\n");
  EXPECT_EQ(on_b.roundtrip(asking), "+OK\r\n");
  EXPECT_EQ(on_b.roundtrip(get_missing), "$-1\r\n");
  EXPECT_EQ(on_b.roundtrip(get_missing), "-MOVED 866 " + run.address("node-a") + "\r\n")
      << "ASKING lasts one command";
  EXPECT_EQ(probe.roundtrip(cluster_slots), initial_slots(run));
}

/// SMIGRATED: its triplet is already what CLUSTER SLOTS says when the client reads it.
void expect_smigrated_matches_cluster_slots(const cluster_run& run, test_client& listener,
                                            test_client& probe, long long seq) {
  const auto pa = run.port("node-a");
  const auto pb = run.port("node-b");
  const auto pc = run.port("node-c");
  const auto smigrated = read_push(listener, "SMIGRATED");
  ASSERT_FALSE(smigrated.empty()) << "no SMIGRATED";
  const auto after = probe.roundtrip(cluster_slots);
  EXPECT_EQ(smigrated, ">3\r\n$9\r\nSMIGRATED\r\n:" + std::to_string(seq + 1) + "\r\n*1\r\n*3\r\n" +
                           bulk(run.address("node-a")) + bulk(run.address("node-b")) +
                           bulk("0-2730"));
  EXPECT_EQ(after, "*4\r\n" + slots_row(0, 2730, pb, "node-b") +
                       slots_row(2731, 5460, pa, "node-a") + slots_row(5461, 10922, pb, "node-b") +
                       slots_row(10923, 16383, pc, "node-c"));
}

/// The timeline records the migration and every redirect with its slot and target.
void expect_migration_in_timeline(const cluster_run& run) {
  const auto ev = run.events();
  int started = 0;
  int completed = 0;
  std::vector<tl::cluster_redirect> redirects;
  for (const auto& e : ev) {
    if (const auto* st = std::get_if<tl::slot_migration_started>(&e.what)) {
      ++started;
      EXPECT_EQ(st->slots, "0-2730");
      EXPECT_EQ(st->to, "node-b");
    } else if (const auto* done = std::get_if<tl::slot_migration_completed>(&e.what)) {
      ++completed;
      EXPECT_EQ(done->from, "node-a");
    } else if (const auto* r = std::get_if<tl::cluster_redirect>(&e.what)) {
      redirects.push_back(*r);
    }
  }
  EXPECT_EQ(started, 1);
  EXPECT_EQ(completed, 1);
  ASSERT_EQ(redirects.size(), 4u);
  EXPECT_EQ(redirects[0].what, tl::cluster_redirect::kind::ask);
  EXPECT_EQ(redirects[0].target, "node-b");
  EXPECT_EQ(redirects[1].what, tl::cluster_redirect::kind::moved);
  EXPECT_EQ(redirects[1].target, "node-a");
  EXPECT_EQ(redirects[3].slot, 866);
  EXPECT_EQ(redirects[3].command, "GET");
  EXPECT_EQ(redirects[3].address, run.address("node-b"));
}

TEST(SimulatorCluster, SlotMigrationRedirectsAndSmigratedMatchesClusterSlots) {
  const auto s = load("cluster-slot-migration");
  ASSERT_TRUE(s.topo.cluster);
  cluster_run run(s);

  // Before: the topology as the file says.
  test_client probe(run.port("node-b"));
  EXPECT_EQ(probe.roundtrip(cluster_slots), initial_slots(run));
  test_client on_a(run.port("node-a"));
  EXPECT_EQ(on_a.roundtrip(set_hello), "+OK\r\n");
  EXPECT_EQ(on_a.roundtrip(get_missing), "$-1\r\n");  // no migration yet: served

  test_client listener(run.port("node-a"));
  long long seq = 0;
  ASSERT_NO_FATAL_FAILURE(expect_smigrating(listener, seq));
  // During the migration: node-a asks for a missing key.
  EXPECT_EQ(on_a.roundtrip(get_missing), "-ASK 866 " + run.address("node-b") + "\r\n");
  test_client on_b(run.port("node-b"));
  expect_node_b_serves_after_asking(run, on_b, probe);
  ASSERT_NO_FATAL_FAILURE(expect_smigrated_matches_cluster_slots(run, listener, probe, seq));
  EXPECT_EQ(on_a.roundtrip(get_hello), "-MOVED 866 " + run.address("node-b") + "\r\n");
  EXPECT_EQ(on_b.roundtrip(get_hello), "$1\r\nv\r\n");
  expect_migration_in_timeline(run);
}

}  // namespace
}  // namespace simulator_cluster_test
