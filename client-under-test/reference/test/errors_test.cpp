#include <schsim/refclient/errors.hpp>

#include <gtest/gtest.h>

#include <sstream>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::errors_test {
namespace {

TEST(ErrorClass, NamesAreTheDriverProtocols) {
  EXPECT_EQ(to_string(error_class::timeout), "timeout");
  EXPECT_EQ(to_string(error_class::connection), "connection");
  EXPECT_EQ(to_string(error_class::server), "server");
  EXPECT_EQ(to_string(error_class::handshake), "handshake");
  EXPECT_EQ(to_string(error_class::cancelled), "cancelled");
  EXPECT_EQ(to_string(error_class::other), "other");
  std::ostringstream os;
  os << error_class::server;
  EXPECT_EQ(os.str(), "server");
}

}  // namespace
}  // namespace schsim::refclient::errors_test
