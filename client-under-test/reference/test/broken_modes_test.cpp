#include <schsim/refclient/broken.hpp>

#include <gtest/gtest.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::broken_modes_test {
namespace {

TEST(BrokenModes, NamesRoundTripAndSetWorks) {
  EXPECT_EQ(all_broken_modes().size(), broken_mode_count);
  broken_set set;
  EXPECT_TRUE(set.empty());
  for (auto m : all_broken_modes()) {
    EXPECT_EQ(parse_broken_mode(to_string(m)), m);
    EXPECT_FALSE(describe(m).empty());
  }
  EXPECT_EQ(parse_broken_mode("ignore-moving"), broken_mode::ignore_moving);
  EXPECT_EQ(parse_broken_mode("handoff-backoff"), broken_mode::handoff_backoff);
  EXPECT_EQ(parse_broken_mode("ip-endpoint-type-under-tls"),
            broken_mode::ip_endpoint_type_under_tls);
  EXPECT_EQ(parse_broken_mode("resubscribe-on-window"), broken_mode::resubscribe_on_window);
  EXPECT_EQ(parse_broken_mode("plaintext-handoff"), broken_mode::plaintext_handoff);
  EXPECT_EQ(parse_broken_mode("queued-as-result"), broken_mode::queued_as_result);
  EXPECT_EQ(parse_broken_mode("nope"), std::nullopt);
  set.set(broken_mode::late_reconnect);
  EXPECT_TRUE(set.has(broken_mode::late_reconnect));
  EXPECT_FALSE(set.has(broken_mode::no_relax));
}

}  // namespace
}  // namespace schsim::refclient::broken_modes_test
