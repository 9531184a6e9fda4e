// [workload.blocking]: read with its defaults, written back, and its bounds reported where the
// file says them.
#include <schsim/scenario_io/load.hpp>
#include <schsim/scenario_io/save.hpp>

#include <gtest/gtest.h>

#include <string>

#include "support/scenario_helpers.hpp"

// Its own namespace: CI compiles the tests as unity builds.
namespace blocking_workload_test {
namespace {

using schsim::test::errors_of;
namespace sc = schsim::scenario;
namespace io = schsim::scenario_io;

constexpr std::string_view header = R"([scenario]
id = "t"
title = "test"
duration = "20s"

[topology]
start = "node-a"

[[topology.endpoint]]
name = "node-a"
)";

auto load(std::string_view body) -> io::load_result {
  return io::load_string(std::string(header) + std::string(body), "test.toml");
}

TEST(BlockingWorkload, AbsentByDefault) {
  const auto r = load("");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  EXPECT_FALSE(r.value->load.blocking);
}

TEST(BlockingWorkload, ReadsEveryKeyAndDefaults) {
  const auto r = load(R"(
[workload.blocking]
keys = 3
rate = 40
timeout = 0.5
command = "brpop"
)");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  ASSERT_TRUE(r.value->load.blocking);
  const auto& b = *r.value->load.blocking;
  EXPECT_EQ(b.keys, 3u);
  EXPECT_DOUBLE_EQ(b.rate, 40);
  EXPECT_DOUBLE_EQ(b.timeout, 0.5);
  EXPECT_EQ(b.command, sc::blocking_command::brpop);

  const auto plain = load("\n[workload.blocking]\n");
  ASSERT_TRUE(plain.ok()) << errors_of(plain);
  EXPECT_EQ(*plain.value->load.blocking, sc::blocking_workload{});
}

TEST(BlockingWorkload, RoundTripsThroughSave) {
  const auto r = load(R"(
[workload.blocking]
keys = 2
rate = 12.5
timeout = 0
command = "brpop"
)");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto again = io::load_string(io::to_toml(*r.value), "saved.toml");
  ASSERT_TRUE(again.ok()) << errors_of(again);
  EXPECT_EQ(again.value->load.blocking, r.value->load.blocking);
}

TEST(BlockingWorkload, BoundsAreLocatedErrors) {
  const auto r = load(R"(
[workload.blocking]
keys = 0
timeout = 7200
command = "blmpop"
unknown = 1
)");
  ASSERT_FALSE(r.ok());
  const auto text = errors_of(r);
  EXPECT_NE(text.find("test.toml:13:8: error: 'keys' must be between 1 and 1000"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("test.toml:14:11: error: 'timeout' must be between 0 and 3600"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("test.toml:15:11:"), std::string::npos) << text;
  EXPECT_NE(text.find("test.toml:16:"), std::string::npos) << text;
}

TEST(BlockingWorkload, TooManyPushesForOneRun) {
  const auto r = load(R"(
[workload.blocking]
rate = 10000
)");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(errors_of(r).find("the server would push 200000 elements"), std::string::npos)
      << errors_of(r);
}

}  // namespace
}  // namespace blocking_workload_test
