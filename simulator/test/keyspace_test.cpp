#include <schsim/simulator/keyspace.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <limits>

namespace {

using schsim::seconds;
using schsim::time_point;
using schsim::simulator::keyspace;

const time_point t0 = time_point{} + seconds(1000);

TEST(Keyspace, SetGetDelAcrossDatabases) {
  keyspace ks;
  ks.set(0, "k", "v0", {}, t0);
  ks.set(3, "k", "v3", {}, t0);
  ASSERT_NE(ks.get(0, "k", t0), nullptr);
  EXPECT_EQ(*ks.get(0, "k", t0), "v0");
  EXPECT_EQ(*ks.get(3, "k", t0), "v3");
  EXPECT_EQ(ks.get(1, "k", t0), nullptr);
  EXPECT_TRUE(ks.del(0, "k", t0));
  EXPECT_FALSE(ks.del(0, "k", t0));
  EXPECT_EQ(ks.size(3, t0), 1u);
  ks.flush_all();
  EXPECT_EQ(ks.size(3, t0), 0u);
}

TEST(Keyspace, ExpiryIsJudgedAgainstTheGivenNow) {
  keyspace ks;
  keyspace::set_options opts;
  opts.ttl = keyspace::ttl_policy::set;
  opts.expires_at = t0 + seconds(10);
  ks.set(0, "k", "v", opts, t0);
  EXPECT_TRUE(ks.exists(0, "k", t0 + seconds(9)));
  EXPECT_EQ(ks.size(0, t0 + seconds(9)), 1u);
  EXPECT_EQ(ks.expiring(0, t0 + seconds(9)), 1u);
  EXPECT_FALSE(ks.exists(0, "k", t0 + seconds(10)));
  EXPECT_EQ(ks.size(0, t0 + seconds(10)), 0u);
}

TEST(Keyspace, PlainSetClearsTtlAndKeepTtlKeepsIt) {
  keyspace ks;
  keyspace::set_options with_ttl;
  with_ttl.ttl = keyspace::ttl_policy::set;
  with_ttl.expires_at = t0 + seconds(5);
  ks.set(0, "k", "v", with_ttl, t0);
  keyspace::set_options keep;
  keep.ttl = keyspace::ttl_policy::keep;
  ks.set(0, "k", "w", keep, t0);
  EXPECT_EQ(ks.deadline(0, "k", t0), std::optional<std::optional<time_point>>(t0 + seconds(5)));
  ks.set(0, "k", "x", {}, t0);
  EXPECT_EQ(ks.deadline(0, "k", t0),
            std::optional<std::optional<time_point>>(std::in_place, std::nullopt));
  EXPECT_EQ(ks.deadline(0, "missing", t0), std::nullopt);
}

TEST(Keyspace, ConditionalSetAndPreviousValue) {
  keyspace ks;
  keyspace::set_options nx;
  nx.condition = keyspace::set_condition::if_absent;
  keyspace::set_options xx;
  xx.condition = keyspace::set_condition::if_present;
  EXPECT_FALSE(ks.set(0, "k", "v", xx, t0).written);
  EXPECT_TRUE(ks.set(0, "k", "v", nx, t0).written);
  const auto r = ks.set(0, "k", "w", nx, t0, keyspace::previous_value::fetch);
  EXPECT_FALSE(r.written);
  EXPECT_EQ(r.previous, "v");
}

TEST(Keyspace, IncrByValidatesAndDetectsOverflow) {
  keyspace ks;
  EXPECT_EQ(ks.incr_by(0, "n", 5, t0).value, 5);
  EXPECT_EQ(ks.incr_by(0, "n", -7, t0).value, -2);
  ks.set(0, "s", "abc", {}, t0);
  EXPECT_EQ(ks.incr_by(0, "s", 1, t0).error, keyspace::arith_error::not_an_integer);
  ks.set(0, "z", "007", {}, t0);  // Redis's strict integer rule: no leading zeros
  EXPECT_EQ(ks.incr_by(0, "z", 1, t0).error, keyspace::arith_error::not_an_integer);
  ks.set(0, "max", std::to_string(std::numeric_limits<std::int64_t>::max()), {}, t0);
  EXPECT_EQ(ks.incr_by(0, "max", 1, t0).error, keyspace::arith_error::overflow);
}

TEST(Keyspace, ExpireInThePastDeletes) {
  keyspace ks;
  ks.set(0, "k", "v", {}, t0);
  EXPECT_TRUE(ks.expire_at(0, "k", t0, t0));
  EXPECT_FALSE(ks.exists(0, "k", t0));
  EXPECT_FALSE(ks.expire_at(0, "k", t0 + seconds(1), t0));
}

}  // namespace
