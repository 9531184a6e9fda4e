// Abuse: clients that start a frame and never finish it (slowloris), or finish it one byte at a
// time. Like Redis (timeout 0), the simulator keeps them open; what matters is that nobody else
// waits for them and that a frame completed late is still answered and recorded.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace abuse_slow_client_test {
namespace {

using namespace std::chrono_literals;
using schsim::testing::events_of;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace tl = schsim::timeline;

constexpr std::string_view ping = "*1\r\n$4\r\nPING\r\n";
constexpr std::string_view set_cmd = "*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$5\r\nvalue\r\n";

TEST(AbuseSlowClient, HalfFramesDoNotBlockOthers) {
  sim_fixture f(sim_fixture::single());
  // 200 connections, each stopped at a different byte of a SET.
  std::vector<std::unique_ptr<test_client>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<test_client>(f.port()));
    slow.back()->write(set_cmd.substr(0, 1 + static_cast<std::size_t>(i) % (set_cmd.size() - 1)));
  }
  test_client bystander(f.port());
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
  }
  // Loopback round trips take microseconds; a server that waited on the slow ones would not.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);

  // Each slow frame, finished late, is answered.
  for (int i = 0; i < 200; ++i) {
    auto& c = *slow[static_cast<std::size_t>(i)];
    c.write(set_cmd.substr(1 + static_cast<std::size_t>(i) % (set_cmd.size() - 1)));
    ASSERT_EQ(c.read_frame(), "+OK\r\n") << "connection " << i;
  }
  // reply_written is recorded once the write completes, which may be after the client read it.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (events_of<tl::reply_written>(f.events()).size() < 300 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  const auto sets = events_of<tl::command_received>(f.events());
  std::size_t set_count = 0;
  for (const auto& c : sets) {
    set_count += (!c.args.empty() && c.args[0] == "SET") ? 1 : 0;
  }
  EXPECT_EQ(set_count, 200u);
  EXPECT_EQ(events_of<tl::reply_written>(f.events()).size(), 300u);  // 200 SET + 100 PING
}

TEST(AbuseSlowClient, OneByteAtATimeIsParsedAcrossReads) {
  sim_fixture f(sim_fixture::single());
  test_client bystander(f.port());
  test_client c(f.port());
  const std::string bytes = std::string(set_cmd) + std::string(ping);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    c.write(bytes.substr(i, 1));
    if (i % 8 == 0) {
      std::this_thread::sleep_for(1ms);
      ASSERT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
    }
  }
  EXPECT_EQ(c.read_frame(), "+OK\r\n");
  EXPECT_EQ(c.read_frame(), "+PONG\r\n");
}

// A client that never finishes its frame and then goes away: the close is recorded as the
// client's, with no protocol error (an incomplete frame is not a malformed one).
TEST(AbuseSlowClient, AbandonedHalfFrameIsAClientClose) {
  sim_fixture f(sim_fixture::single());
  auto c = std::make_unique<test_client>(f.port());
  const auto id = f.conn_id(c->local_port());
  c->write("*3\r\n$3\r\nSET\r\n$4\r\nsl");
  std::this_thread::sleep_for(50ms);
  c->close();
  const auto ev = f.wait_for([id](const tl::event& e) {
    return e.conn == id && std::holds_alternative<tl::connection_closed>(e.what);
  });
  ASSERT_TRUE(ev);
  EXPECT_EQ(std::get<tl::connection_closed>(ev->what).by, tl::close_initiator::client);
  EXPECT_TRUE(events_of<tl::protocol_error>(f.events(), id).empty());
  test_client fresh(f.port());
  EXPECT_EQ(fresh.roundtrip(ping), "+PONG\r\n");
}

}  // namespace
}  // namespace abuse_slow_client_test
