// The simulator's output path (issue 8): what a control call queues is written after the call
// returns (so the scenario engine's step_executed comes first in the timeline), or at once by
// flush_output(); idle sessions read without a buffer of their own.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"
#include "support/wire.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace simulator_output_test {
namespace {

using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace sim = schsim::simulator;
namespace tl = schsim::timeline;

using schsim::testing::wire::hello3;
constexpr std::string_view moving_push =
    ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$13\r\n10.0.0.2:6379\r\n";

auto one_connection(std::uint64_t id) -> sim::selector {
  sim::selector s;
  s.which = sim::selector::scope::connection;
  s.connection = id;
  return s;
}

auto push_written_count(const sim_fixture& f, const std::string& step) -> std::size_t {
  std::size_t n = 0;
  for (const auto& e : f.events()) {
    if (const auto* pw = std::get_if<tl::push_written>(&e.what); pw && pw->step == step) {
      ++n;
    }
  }
  return n;
}

TEST(SimulatorOutput, SendPushWritesAfterTheCallAndFlushOutputWritesAtOnce) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  ASSERT_FALSE(c.roundtrip(hello3).empty());
  const auto id = f.conn_id(c.local_port());

  // On the server's thread, in one handler: the push must not be written (nor recorded) while
  // the caller can still record its step, and flush_output() must write it before returning.
  const auto [after_send, after_flush] = f.call([&](sim::server& s) {
    sim::push_meta meta;
    meta.name = "MOVING";
    meta.seq = 1;
    meta.step = "direct";
    s.send_push(one_connection(id), std::string(moving_push), meta);
    const std::size_t queued_only = push_written_count(f, "direct");
    s.flush_output();
    return std::pair{queued_only, push_written_count(f, "direct")};
  });
  EXPECT_EQ(after_send, 0u);
  EXPECT_EQ(after_flush, 1u);
  EXPECT_EQ(c.read_frame(), moving_push);

  // Without flush_output() the push still goes out, from the handler the call posted.
  f.call([&](sim::server& s) {
    sim::push_meta meta;
    meta.name = "MOVING";
    meta.seq = 2;
    meta.step = "posted";
    return s.send_push(one_connection(id), std::string(moving_push), meta);
  });
  EXPECT_EQ(c.read_frame(), moving_push);
  EXPECT_TRUE(f.wait_for([](const tl::event& e) {
    const auto* pw = std::get_if<tl::push_written>(&e.what);
    return pw != nullptr && pw->step == "posted";
  }));
}

TEST(SimulatorOutput, CommandsLargerThanTheReadChunkArriveWhole) {
  // Reads go through a 16 KiB buffer per thread; a 100 KiB value spans several reads and
  // several read turns, and must reach the keyspace intact.
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  const std::string value(100 * 1024, 'x');
  const std::string set =
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
  EXPECT_EQ(c.roundtrip(set), "+OK\r\n");
  EXPECT_EQ(c.roundtrip("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
            "$" + std::to_string(value.size()) + "\r\n" + value + "\r\n");
}

}  // namespace
}  // namespace simulator_output_test
