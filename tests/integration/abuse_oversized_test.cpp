// Abuse: lengths that announce far more than is sent, and nesting far past the limit. The
// simulator must not reserve memory on a peer's word, must not recurse on a peer's input, and
// must keep serving everyone else while recording what happened.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace abuse_oversized_test {
namespace {

using schsim::testing::events_of;
using schsim::testing::read_end;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace tl = schsim::timeline;

constexpr std::string_view ping = "*1\r\n$4\r\nPING\r\n";

// A field of /proc/self/status in KiB: VmRSS (resident) or VmSize (reserved address space,
// which shows a reservation on a peer's word even when the pages are never touched).
auto status_kib(const std::string& field = "VmRSS:") -> long {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == field) {
      status >> value;
      return value;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

auto closed_by(sim_fixture& f, std::uint64_t id) -> std::optional<tl::connection_closed> {
  const auto ev = f.wait_for([id](const tl::event& e) {
    return e.conn == id && std::holds_alternative<tl::connection_closed>(e.what);
  });
  if (!ev) {
    return std::nullopt;
  }
  return std::get<tl::connection_closed>(ev->what);
}

// 20 connections each announce a 512 MiB bulk (the largest the limit allows) and send 64 KiB
// of it. Reserving on the announced length would be 10 GiB.
TEST(AbuseOversized, AnnouncedBulkLengthIsNotReserved) {
  sim_fixture f(sim_fixture::single());
  test_client bystander(f.port());
  ASSERT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
  const long before = status_kib();
  const long before_virtual = status_kib("VmSize:");

  std::vector<std::unique_ptr<test_client>> liars;
  std::vector<std::uint64_t> ids;
  const std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 20; ++i) {
    liars.push_back(std::make_unique<test_client>(f.port()));
    ids.push_back(f.conn_id(liars.back()->local_port()));
    liars.back()->write("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n");
    liars.back()->write(chunk);
  }
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
  const long grown_mib = (status_kib() - before) / 1024;
  EXPECT_LT(grown_mib, 128) << "resident size grew by " << grown_mib << " MiB";
  const long reserved_mib = (status_kib("VmSize:") - before_virtual) / 1024;
  EXPECT_LT(reserved_mib, 2048) << "address space grew by " << reserved_mib << " MiB";

  for (auto& c : liars) {
    c->close();
  }
  for (const auto id : ids) {
    const auto closed = closed_by(f, id);
    ASSERT_TRUE(closed) << "no connection_closed for connection " << id;
    EXPECT_EQ(closed->by, tl::close_initiator::client);
  }
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
  test_client fresh(f.port());
  EXPECT_EQ(fresh.roundtrip(ping), "+PONG\r\n");
}

// The largest aggregate the limit allows (1,048,576 elements), announced and not sent.
TEST(AbuseOversized, AnnouncedAggregateLengthIsNotReserved) {
  sim_fixture f(sim_fixture::single());
  test_client bystander(f.port());
  const long before = status_kib();
  std::vector<std::unique_ptr<test_client>> liars;
  for (int i = 0; i < 20; ++i) {
    liars.push_back(std::make_unique<test_client>(f.port()));
    liars.back()->write("*1048576\r\n$3\r\nSET\r\n");
  }
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
  const long grown_mib = (status_kib() - before) / 1024;
  EXPECT_LT(grown_mib, 128) << "resident size grew by " << grown_mib << " MiB";
  liars.clear();
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
}

// Lengths past every limit and past int64 get the Redis error and a close, each recorded.
TEST(AbuseOversized, LengthsPastTheLimitsAreProtocolErrors) {
  sim_fixture f(sim_fixture::single());
  test_client bystander(f.port());
  const std::vector<std::string> bad = {
      "*1\r\n$536870913\r\n",                // one past proto-max-bulk-len
      "*1\r\n$99999999999999999999999\r\n",  // past int64
      "*1048577\r\n",                        // one past the aggregate limit
      "*-2\r\n",                             // negative (only -1 means null)
  };
  for (const auto& bytes : bad) {
    test_client c(f.port());
    const auto id = f.conn_id(c.local_port());
    c.write(bytes);
    const std::string got = c.read_until_closed();
    EXPECT_EQ(got.rfind("-ERR Protocol error: ", 0), 0u) << "for " << bytes << " got " << got;
    const auto closed = closed_by(f, id);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->reason, "protocol error");
    EXPECT_EQ(events_of<tl::protocol_error>(f.events(), id).size(), 1u);
    EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
  }
}

// 16,384 nested array headers in one write: rejected at the first one (a command is an array
// of bulk strings), with no recursion on the peer's depth.
TEST(AbuseOversized, DeepNestingIsRejectedWithoutRecursion) {
  sim_fixture f(sim_fixture::single());
  test_client bystander(f.port());
  std::string deep;
  for (int i = 0; i < 16384; ++i) {
    deep += "*1\r\n";
  }
  test_client c(f.port());
  const auto id = f.conn_id(c.local_port());
  c.write(deep);
  const std::string got = c.read_until_closed();
  EXPECT_EQ(got.rfind("-ERR Protocol error: ", 0), 0u) << got;
  ASSERT_TRUE(closed_by(f, id));
  EXPECT_EQ(events_of<tl::protocol_error>(f.events(), id).size(), 1u);
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
}

}  // namespace
}  // namespace abuse_oversized_test
