// Abuse: connections reset (RST) in the middle of a frame, in either direction. The simulator
// records the client's reset as the close, raises no protocol error for a frame cut by a reset,
// and carries on serving everyone else.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace abuse_rst_test {
namespace {

using schsim::testing::events_of;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace tl = schsim::timeline;

constexpr std::string_view ping = "*1\r\n$4\r\nPING\r\n";

auto wait_closed(sim_fixture& f, std::uint64_t id) -> std::optional<tl::connection_closed> {
  const auto ev = f.wait_for([id](const tl::event& e) {
    return e.conn == id && std::holds_alternative<tl::connection_closed>(e.what);
  });
  if (!ev) {
    return std::nullopt;
  }
  return std::get<tl::connection_closed>(ev->what);
}

TEST(AbuseRst, ResetInTheMiddleOfARequest) {
  sim_fixture f(sim_fixture::single());
  test_client bystander(f.port());
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 50; ++i) {
    test_client c(f.port());
    ids.push_back(f.conn_id(c.local_port()));
    c.write("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$100\r\n" +
            std::string(static_cast<std::size_t>(i), 'x'));
    c.reset();
  }
  for (const auto id : ids) {
    const auto closed = wait_closed(f, id);
    ASSERT_TRUE(closed) << "connection " << id;
    EXPECT_EQ(closed->by, tl::close_initiator::client);
    EXPECT_EQ(closed->how, tl::close_how::rst) << closed->reason;
    EXPECT_TRUE(events_of<tl::protocol_error>(f.events(), id).empty());
  }
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
}

// The client resets while the simulator is writing large replies to it: the write fails, the
// close is recorded once, and nothing else is disturbed.
TEST(AbuseRst, ResetWhileRepliesAreBeingWritten) {
  sim_fixture f(sim_fixture::single());
  test_client bystander(f.port());
  const std::string value(256 * 1024, 'v');
  ASSERT_EQ(bystander.roundtrip("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + std::to_string(value.size()) +
                                "\r\n" + value + "\r\n"),
            "+OK\r\n");
  std::string gets;
  for (int i = 0; i < 64; ++i) {
    gets += "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
  }
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 20; ++i) {
    test_client c(f.port());
    ids.push_back(f.conn_id(c.local_port()));
    c.write(gets);                                                  // 16 MiB of replies
    (void)c.read_exact(1000 + static_cast<std::size_t>(i) * 4096);  // part of the first reply
    c.reset();
  }
  for (const auto id : ids) {
    ASSERT_TRUE(wait_closed(f, id)) << "connection " << id;
    std::size_t closes = 0;
    for (const auto& e : f.events()) {
      closes += (e.conn == id && std::holds_alternative<tl::connection_closed>(e.what)) ? 1 : 0;
    }
    EXPECT_EQ(closes, 1u) << "connection " << id;
  }
  const std::string reply = bystander.roundtrip("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
  EXPECT_EQ(reply.size(), value.size() + 11);  // "$262144\r\n" + value + "\r\n"
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
}

}  // namespace
}  // namespace abuse_rst_test
