// MULTI/EXEC over loopback: the replies on the wire and the transaction_ended record.
#include <gtest/gtest.h>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace simulator_transactions_test {
namespace {

using schsim::testing::events_of;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace tl = schsim::timeline;

TEST(SimulatorTransactions, ExecIsAnsweredAndRecordedAndACloseDropsAnOpenOne) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  const std::uint64_t id = f.conn_id(c.local_port());
  c.write("*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n*1\r\n$4\r\nEXEC\r\n");
  EXPECT_EQ(c.read_frame(), "+OK\r\n");
  EXPECT_EQ(c.read_frame(), "+QUEUED\r\n");
  EXPECT_EQ(c.read_frame(), "*1\r\n:1\r\n");
  test_client d(f.port());
  const std::uint64_t other = f.conn_id(d.local_port());
  EXPECT_EQ(d.roundtrip("*1\r\n$5\r\nMULTI\r\n"), "+OK\r\n");
  EXPECT_EQ(d.roundtrip("*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"), "+QUEUED\r\n");
  d.close();
  ASSERT_TRUE(f.wait_for([other](const tl::event& e) {
    return e.conn == other && std::holds_alternative<tl::connection_closed>(e.what);
  }));
  const auto events = f.events();
  const auto mine = events_of<tl::transaction_ended>(events, id);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].result, tl::transaction_ended::outcome::executed);
  EXPECT_EQ(mine[0].multi_index, 0u);
  EXPECT_EQ(mine[0].end_index, 2u);
  EXPECT_EQ(mine[0].commands, (std::vector<std::uint64_t>{1}));
  const auto dropped = events_of<tl::transaction_ended>(events, other);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].result, tl::transaction_ended::outcome::closed);
  EXPECT_EQ(dropped[0].commands, (std::vector<std::uint64_t>{1}));
}

}  // namespace
}  // namespace simulator_transactions_test
