#include <schsim/refclient/address.hpp>

#include <gtest/gtest.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::address_test {
namespace {

TEST(Address, ParsesMovingEndpoints) {
  EXPECT_EQ(parse_address("10.0.0.2:6379"), (address{"10.0.0.2", 6379}));
  EXPECT_EQ(parse_address("host:3"), (address{"host", 3}));
  EXPECT_EQ(parse_address("[::1]:6380"), (address{"::1", 6380}));
  EXPECT_EQ(parse_address("fe80::1:6380"), (address{"fe80::1", 6380}));  // redis-py rsplit
  EXPECT_EQ(parse_address("10.0.0.2"), std::nullopt);
  EXPECT_EQ(parse_address("10.0.0.2:"), std::nullopt);
  EXPECT_EQ(parse_address(":6379"), std::nullopt);
  EXPECT_EQ(parse_address("h:70000"), std::nullopt);
  EXPECT_EQ(parse_address("h:12x"), std::nullopt);
  EXPECT_EQ(parse_address("null"), std::nullopt);
  EXPECT_EQ((address{"::1", 5}).to_string(), "[::1]:5");
  EXPECT_EQ((address{"a", 5}).to_string(), "a:5");
}

}  // namespace
}  // namespace schsim::refclient::address_test
