// The parallel flush of a large fan-out (server_config::parallel_flush_min_sessions): the sends
// of already-queued bytes run on worker threads, everything else on the io thread after the
// join. What a client receives and what the timeline records must not change.
#include <schsim/core/clock.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"
#include "support/wire.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace simulator_fanout_test {
namespace {

using schsim::testing::events_of;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace sim = schsim::simulator;
namespace tl = schsim::timeline;

using schsim::testing::wire::hello3;
using schsim::testing::wire::maint_on;
constexpr std::string_view moving_1 = ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$13\r\n10.0.0.2:6379\r\n";
constexpr std::string_view moving_2 = ">4\r\n$6\r\nMOVING\r\n:2\r\n:15\r\n$13\r\n10.0.0.3:6379\r\n";

auto opted_in() -> sim::selector {
  sim::selector s;
  s.opted_in_only = true;
  return s;
}

auto moving_meta(std::int64_t seq, std::string step) -> sim::push_meta {
  sim::push_meta m;
  m.name = "MOVING";
  m.seq = seq;
  m.time_s = 15;
  m.step = std::move(step);
  return m;
}

auto opted_in_clients(sim_fixture& f, std::size_t n) -> std::vector<std::unique_ptr<test_client>> {
  std::vector<std::unique_ptr<test_client>> clients;
  for (std::size_t i = 0; i < n; ++i) {
    auto c = std::make_unique<test_client>(f.port());
    EXPECT_FALSE(c->roundtrip(hello3).empty());
    EXPECT_EQ(c->roundtrip(maint_on), "+OK\r\n");
    clients.push_back(std::move(c));
  }
  return clients;
}

TEST(SimulatorOutputParallelFlush, EveryClientGetsEachPushOnceInOrderAndEachIsRecorded) {
  constexpr std::size_t clients_n = 40;
  auto cfg = sim_fixture::single();
  cfg.parallel_flush_min_sessions = 8;  // 40 sessions: the flush is parallel
  sim_fixture f(cfg);
  auto clients = opted_in_clients(f, clients_n);

  const auto before = schsim::to_ns(schsim::mono_clock::now());
  const auto sent = f.call([&](sim::server& s) {
    const auto n = s.send_push(opted_in(), std::string(moving_1), moving_meta(1, "s1")) +
                   s.send_push(opted_in(), std::string(moving_2), moving_meta(2, "s2"));
    s.flush_output();
    return n;
  });
  const auto after = schsim::to_ns(schsim::mono_clock::now());
  EXPECT_EQ(sent, 2 * clients_n);
  for (auto& c : clients) {
    EXPECT_EQ(c->read_frame(), moving_1);
    EXPECT_EQ(c->read_frame(), moving_2);
  }

  // One push_written per push and connection, seq 1 before seq 2 on each, stamped within the
  // control call (the worker's send time, not a later one).
  std::map<std::uint64_t, std::vector<std::int64_t>> seqs;
  std::size_t written = 0;
  for (const auto& e : f.events()) {
    if (const auto* p = std::get_if<tl::push_written>(&e.what)) {
      ++written;
      seqs[e.conn].push_back(p->seq);
      EXPECT_EQ(p->bytes, moving_1.size());
      EXPECT_EQ(p->step, p->seq == 1 ? "s1" : "s2");
      EXPECT_GE(e.t_ns, before);
      EXPECT_LE(e.t_ns, after);
    }
  }
  EXPECT_EQ(written, 2 * clients_n);
  EXPECT_EQ(seqs.size(), clients_n);
  for (const auto& [conn, s] : seqs) {
    EXPECT_EQ(s, (std::vector<std::int64_t>{1, 2})) << "connection " << conn;
  }
}

TEST(SimulatorOutputParallelFlush, ASocketThatWouldBlockGetsTheRestAsynchronously) {
  auto cfg = sim_fixture::single();
  cfg.parallel_flush_min_sessions = 2;
  sim_fixture f(cfg);
  auto clients = opted_in_clients(f, 4);

  // 8 MiB is more than a loopback socket takes at once: the worker's send() takes a part and
  // the io thread writes the rest with the asynchronous path while the client reads.
  const std::string payload(8 * 1024 * 1024, 'p');
  const std::string big = ">2\r\n$4\r\nnote\r\n$8388608\r\n" + payload + "\r\n";
  const auto sent = f.call([&](sim::server& s) {
    const auto n = s.send_push(opted_in(), big, moving_meta(7, "big"));
    s.flush_output();
    return n;
  });
  EXPECT_EQ(sent, 4U);
  for (auto& c : clients) {
    EXPECT_TRUE(c->read_exact(big.size()) == big);
  }
  // push_written follows the last byte's write, which may complete after the client read it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (events_of<tl::push_written>(f.events()).size() < clients.size() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto pushes = events_of<tl::push_written>(f.events());
  ASSERT_EQ(pushes.size(), clients.size());
  for (const auto& p : pushes) {
    EXPECT_EQ(p.bytes, big.size());
    EXPECT_EQ(p.seq, 7);
  }
}

}  // namespace
}  // namespace simulator_fanout_test
