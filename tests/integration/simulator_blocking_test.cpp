// Blocking list commands over loopback: a BLPOP served by another connection's RPUSH and by the
// server-side producer, the blocked connection's pipelined commands held behind it, a
// maintenance push reaching a blocked connection, a timeout, a close while blocked, and a
// popped element lost to a close. Requests and expected frames are hand-written wire bytes.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace simulator_blocking_test {
namespace {

using schsim::testing::events_of;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace sim = schsim::simulator;
namespace tl = schsim::timeline;

constexpr std::string_view hello3 = "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";
constexpr std::string_view blpop_jobs = "*3\r\n$5\r\nBLPOP\r\n$4\r\njobs\r\n$1\r\n0\r\n";
constexpr std::string_view ping = "*1\r\n$4\r\nPING\r\n";
constexpr std::string_view llen_jobs = "*2\r\n$4\r\nLLEN\r\n$4\r\njobs\r\n";
constexpr std::string_view popped_job1 = "*2\r\n$4\r\njobs\r\n$5\r\njob:1\r\n";
// A MOVING notification as the scenario engine would send it (the bytes do not matter here).
constexpr std::string_view moving_push =
    ">4\r\n$6\r\nMOVING\r\n:9\r\n:15\r\n$14\r\n127.0.0.1:6390\r\n";

/// Waits until the server has parked one connection, asking INFO on `other`.
void wait_blocked(test_client& other) {
  for (int i = 0; i < 200; ++i) {
    const std::string info = other.roundtrip("*2\r\n$4\r\nINFO\r\n$7\r\nclients\r\n");
    if (info.find("blocked_clients:1") != std::string::npos) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL() << "the connection never blocked";
}

TEST(SimulatorBlocking, BlpopIsServedByAnotherConnectionsRpushAndItsPipelineWaits) {
  sim_fixture f(sim_fixture::single());
  test_client waiter(f.port());
  test_client pusher(f.port());
  const std::uint64_t waiter_id = f.conn_id(waiter.local_port());
  const std::uint64_t pusher_id = f.conn_id(pusher.local_port());
  // BLPOP and PING in one write: the PING waits behind the blocked BLPOP.
  waiter.write(std::string(blpop_jobs) + std::string(ping));
  wait_blocked(pusher);
  EXPECT_EQ(pusher.roundtrip("*3\r\n$5\r\nRPUSH\r\n$4\r\njobs\r\n$5\r\njob:1\r\n"), ":1\r\n");
  EXPECT_EQ(waiter.read_frame(), popped_job1);
  EXPECT_EQ(waiter.read_frame(), "+PONG\r\n");
  EXPECT_EQ(pusher.roundtrip(llen_jobs), ":0\r\n");
  ASSERT_TRUE(f.wait_for(
      [](const tl::event& e) { return std::holds_alternative<tl::list_popped>(e.what); }));
  const auto events = f.events();
  const auto pushed = events_of<tl::list_pushed>(events, pusher_id);
  ASSERT_EQ(pushed.size(), 1U);
  EXPECT_EQ(pushed[0].element, "job:1");
  EXPECT_FALSE(pushed[0].producer);
  const auto popped = events_of<tl::list_popped>(events, waiter_id);
  ASSERT_EQ(popped.size(), 1U);
  EXPECT_EQ(popped[0].key, "jobs");
  EXPECT_EQ(popped[0].command, 0U);
  EXPECT_EQ(popped[0].result, tl::list_popped::outcome::written);
  // The BLPOP got exactly one reply, after the push.
  std::size_t blpop_replies = 0;
  for (const auto& e : events) {
    const auto* r = std::get_if<tl::reply_written>(&e.what);
    blpop_replies += (r != nullptr && e.conn == waiter_id && r->index == 0) ? 1 : 0;
  }
  EXPECT_EQ(blpop_replies, 1U);
}

TEST(SimulatorBlocking, AMaintenancePushReachesABlockedConnectionAndTheProducerServesIt) {
  sim_fixture f(sim_fixture::single());
  test_client waiter(f.port());
  test_client other(f.port());
  const std::uint64_t waiter_id = f.conn_id(waiter.local_port());
  waiter.roundtrip(hello3);
  waiter.write(std::string(blpop_jobs) + std::string(ping));
  wait_blocked(other);
  f.call([&](sim::server& s) {
    sim::push_meta meta;
    meta.name = "MOVING";
    meta.seq = 9;
    return s.send_push(sim::selector{sim::selector::scope::connection, {}, waiter_id},
                       std::string(moving_push), meta);
  });
  EXPECT_EQ(waiter.read_frame(), moving_push);
  const auto length =
      f.call([](sim::server& s) { return s.produce_list_element("jobs", "job:1"); });
  EXPECT_EQ(length, std::optional<std::size_t>(1));  // the length right after the push
  EXPECT_EQ(waiter.read_frame(), popped_job1);
  EXPECT_EQ(waiter.read_frame(), "+PONG\r\n");
  ASSERT_TRUE(f.wait_for(
      [](const tl::event& e) { return std::holds_alternative<tl::list_popped>(e.what); }));
  const auto pushed = events_of<tl::list_pushed>(f.events());
  ASSERT_EQ(pushed.size(), 1U);
  EXPECT_TRUE(pushed[0].producer);
  // A key of another type takes nothing from the producer.
  other.roundtrip("*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$1\r\nv\r\n");
  EXPECT_FALSE(f.call([](sim::server& s) { return s.produce_list_element("s", "x"); }));
}

TEST(SimulatorBlocking, ATimedOutBlpopAnswersANullArray) {
  sim_fixture f(sim_fixture::single());
  test_client waiter(f.port());
  const auto start = std::chrono::steady_clock::now();
  waiter.write("*3\r\n$5\r\nBLPOP\r\n$4\r\njobs\r\n$4\r\n0.05\r\n");
  EXPECT_EQ(waiter.read_frame(), "*-1\r\n");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_EQ(
      waiter.roundtrip(
          "*6\r\n$6\r\nBLMOVE\r\n$1\r\na\r\n$1\r\nb\r\n$4\r\nLEFT\r\n$4\r\nLEFT\r\n$4\r\n0.01\r\n"),
      "$-1\r\n");
}

TEST(SimulatorBlocking, AConnectionClosedWhileBlockedTakesNothing) {
  sim_fixture f(sim_fixture::single());
  test_client pusher(f.port());
  {
    test_client waiter(f.port());
    waiter.write(blpop_jobs);
    wait_blocked(pusher);
    waiter.close();
  }
  ASSERT_TRUE(f.wait_for(
      [](const tl::event& e) { return std::holds_alternative<tl::connection_closed>(e.what); }));
  EXPECT_EQ(pusher.roundtrip("*3\r\n$5\r\nRPUSH\r\n$4\r\njobs\r\n$5\r\njob:1\r\n"), ":1\r\n");
  EXPECT_EQ(pusher.roundtrip(llen_jobs), ":1\r\n");
  EXPECT_TRUE(events_of<tl::list_popped>(f.events()).empty());
}

TEST(SimulatorBlocking, AnElementPoppedForAConnectionClosedBeforeItsReplyIsLost) {
  sim_fixture f(sim_fixture::single());
  test_client waiter(f.port());
  test_client other(f.port());
  const std::uint64_t waiter_id = f.conn_id(waiter.local_port());
  waiter.write(blpop_jobs);
  wait_blocked(other);
  f.call([](sim::server& s) {
    s.stall_replies("node-a");
    s.produce_list_element("jobs", "job:1");  // served, its reply held by the stall
    return s.close_connections(sim::selector{}, sim::close_mode::fin,
                               sim::close_point::between_frames, "maintenance");
  });
  ASSERT_TRUE(f.wait_for(
      [](const tl::event& e) { return std::holds_alternative<tl::list_popped>(e.what); }));
  const auto popped = events_of<tl::list_popped>(f.events(), waiter_id);
  ASSERT_EQ(popped.size(), 1U);
  EXPECT_EQ(popped[0].element, "job:1");
  EXPECT_EQ(popped[0].result, tl::list_popped::outcome::lost);
}

}  // namespace
}  // namespace simulator_blocking_test
