// Abuse: a client that never reads. Its output is bounded (server_config::max_output_buffer,
// as Redis's client-output-buffer-limit); past the bound the simulator disconnects it and
// records why, while readers on the same endpoint keep getting every frame.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace abuse_never_reads_test {
namespace {

using schsim::testing::events_of;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace sim = schsim::simulator;
namespace tl = schsim::timeline;

constexpr std::string_view ping = "*1\r\n$4\r\nPING\r\n";

auto one(std::uint64_t id) -> sim::selector {
  sim::selector s;
  s.which = sim::selector::scope::connection;
  s.connection = id;
  return s;
}

auto big_push(std::size_t n) -> std::string {
  return ">2\r\n$4\r\nBULK\r\n$" + std::to_string(n) + "\r\n" + std::string(n, 'p') + "\r\n";
}

TEST(AbuseNeverReads, PushesToANonReaderHitTheOutputLimit) {
  sim::server_config cfg = sim_fixture::single();
  cfg.max_output_buffer = 256 * 1024;
  sim_fixture f(cfg);
  test_client reader(f.port());
  test_client sink(f.port());
  const auto reader_id = f.conn_id(reader.local_port());
  const auto sink_id = f.conn_id(sink.local_port());

  const std::string push = big_push(16 * 1024);
  sim::push_meta meta;
  meta.name = "BULK";
  std::size_t accepted = 0;
  // The kernel's socket buffers take a few MiB before anything queues in the simulator.
  for (int i = 0; i < 20000; ++i) {
    meta.seq = i;
    const auto n = f.call([&](sim::server& s) { return s.send_push(one(sink_id), push, meta); });
    if (n == 0) {
      break;
    }
    ++accepted;
  }
  ASSERT_LT(accepted, 20000u) << "never disconnected after " << accepted << " pushes";

  const auto ev = f.wait_for([sink_id](const tl::event& e) {
    return e.conn == sink_id && std::holds_alternative<tl::connection_closed>(e.what);
  });
  ASSERT_TRUE(ev);
  const auto& closed = std::get<tl::connection_closed>(ev->what);
  EXPECT_EQ(closed.by, tl::close_initiator::server);
  EXPECT_EQ(closed.reason, "output buffer limit");
  // Only frames that reached the socket in full are recorded as written.
  EXPECT_LE(events_of<tl::push_written>(f.events(), sink_id).size(), accepted);

  // The reader on the same endpoint gets every push, and each is recorded.
  for (int i = 0; i < 50; ++i) {
    meta.seq = 100000 + i;
    ASSERT_EQ(f.call([&](sim::server& s) { return s.send_push(one(reader_id), push, meta); }), 1u);
    ASSERT_EQ(reader.read_frame(), push) << "push " << i;
  }
  EXPECT_EQ(reader.roundtrip(ping), "+PONG\r\n");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (events_of<tl::push_written>(f.events(), reader_id).size() < 50 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(events_of<tl::push_written>(f.events(), reader_id).size(), 50u);
}

// Replies (pipelined GETs of a large value) and the bound: the same disconnect, and the
// bystander's pipeline is answered in full and in order.
TEST(AbuseNeverReads, PipelinedRepliesToANonReaderHitTheOutputLimit) {
  sim::server_config cfg = sim_fixture::single();
  cfg.max_output_buffer = 512 * 1024;
  sim_fixture f(cfg);
  test_client bystander(f.port());
  test_client sink(f.port());
  const auto sink_id = f.conn_id(sink.local_port());
  const std::string value(64 * 1024, 'v');
  ASSERT_EQ(bystander.roundtrip("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + std::to_string(value.size()) +
                                "\r\n" + value + "\r\n"),
            "+OK\r\n");
  std::string gets;
  for (int i = 0; i < 1000; ++i) {
    gets += "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
  }
  sink.write(gets);  // 64 MiB of replies, never read
  const auto ev = f.wait_for([sink_id](const tl::event& e) {
    return e.conn == sink_id && std::holds_alternative<tl::connection_closed>(e.what);
  });
  ASSERT_TRUE(ev);
  EXPECT_EQ(std::get<tl::connection_closed>(ev->what).reason, "output buffer limit");

  std::string pipeline;
  for (int i = 0; i < 100; ++i) {
    pipeline += "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n";
  }
  bystander.write(pipeline);
  for (int i = 1; i <= 100; ++i) {
    // Appended piecewise: GCC 12 warns falsely (-Wrestrict, bug 105329) on ":" + to_string.
    std::string expected = ":";
    expected += std::to_string(i);
    expected += "\r\n";
    ASSERT_EQ(bystander.read_frame(), expected);
  }
}

}  // namespace
}  // namespace abuse_never_reads_test
