#include <schsim/refclient/client.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::client_test {
namespace {

// The client's socket behaviour is covered end to end in ../integration; here only what needs
// no socket at all.

auto resolved() -> resolved_config { return std::get<resolved_config>(resolve(client_config{})); }

TEST(Client, CommandsAfterShutdownCompleteCancelledAndNeverInline) {
  boost::asio::io_context io;
  client c{io.get_executor(), resolved()};
  c.shutdown();
  std::optional<command_result> result;
  c.execute({"PING"}, [&](command_result r) { result = std::move(r); });
  EXPECT_FALSE(result.has_value()) << "completed inside execute()";
  io.run();
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(std::holds_alternative<command_error>(*result));
  EXPECT_EQ(std::get<command_error>(*result).kind, error_class::cancelled);
}

TEST(Client, ConnectAfterShutdownIsCancelled) {
  boost::asio::io_context io;
  client c{io.get_executor(), resolved()};
  c.shutdown();
  std::optional<std::optional<command_error>> result;
  c.connect([&](std::optional<command_error> e) { result = std::move(e); });
  io.run();
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ((*result)->kind, error_class::cancelled);
}

TEST(Client, StartsWithTheConfiguredDialTargetAndNoConnections) {
  boost::asio::io_context io;
  client c{io.get_executor(), resolved()};
  EXPECT_EQ(c.dial_target(), (address{"127.0.0.1", 6379}));
  EXPECT_TRUE(c.connections().empty());
  EXPECT_EQ(c.stats().connections_opened, 0u);
  EXPECT_EQ(c.config().max_workers, 5);  // pool 10: min(5, max(10, 3))
}

}  // namespace
}  // namespace schsim::refclient::client_test
