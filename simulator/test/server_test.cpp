#include <schsim/simulator/server.hpp>  // first: the header is self-contained

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

// Socket-level behaviour is covered in tests/integration; these only check the lifecycle.

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace server_test {
namespace {

namespace sim = schsim::simulator;

TEST(Server, StartBindsOsChosenPortsAndStopIsIdempotent) {
  boost::asio::io_context io{1};
  schsim::timeline::recorder rec;
  sim::server_config cfg;
  for (const char* name : {"node-a", "node-b"}) {
    sim::endpoint_config ep;
    ep.name = name;
    cfg.endpoints.push_back(ep);
  }
  sim::server s(io.get_executor(), cfg, rec);
  s.start();
  const auto eps = s.endpoints();
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_NE(eps[0].port, 0);
  EXPECT_NE(eps[1].port, 0);
  EXPECT_NE(eps[0].port, eps[1].port);
  EXPECT_EQ(s.endpoint("node-b")->address(), "127.0.0.1:" + std::to_string(eps[1].port));
  EXPECT_FALSE(s.endpoint("nope").has_value());
  EXPECT_TRUE(s.connections().empty());
  EXPECT_THROW(s.set_reply_latency("nope", std::chrono::milliseconds(1)), std::invalid_argument);
  s.stop();
  s.stop();
  io.run();  // the accept loops see the closed acceptors and finish
  EXPECT_TRUE(io.stopped());
}

TEST(Server, SamePortAsBindsAnEarlierEndpointsPortOnAnotherAddress) {
  boost::asio::io_context io{1};
  schsim::timeline::recorder rec;
  sim::server_config cfg;
  sim::endpoint_config a;
  a.name = "node-a";
  sim::endpoint_config b;
  b.name = "node-b";
  b.host = "127.0.0.2";
  b.same_port_as = "node-a";
  cfg.endpoints = {a, b};
  sim::server s(io.get_executor(), cfg, rec);
  s.start();
  const auto eps = s.endpoints();
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_NE(eps[0].port, 0);
  EXPECT_EQ(eps[1].port, eps[0].port);
  EXPECT_EQ(s.endpoint("node-b")->address(), "127.0.0.2:" + std::to_string(eps[0].port));
  s.stop();
  io.run();
}

TEST(Server, SamePortAsAnUnknownEndpointIsRefused) {
  boost::asio::io_context io{1};
  schsim::timeline::recorder rec;
  sim::server_config cfg;
  sim::endpoint_config b;
  b.name = "node-b";
  b.host = "127.0.0.2";
  b.same_port_as = "node-a";
  cfg.endpoints = {b};
  sim::server s(io.get_executor(), cfg, rec);
  EXPECT_THROW(s.start(), std::invalid_argument);
}

}  // namespace
}  // namespace server_test
