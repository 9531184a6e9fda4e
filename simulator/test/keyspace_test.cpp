#include <schsim/simulator/keyspace.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <string_view>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace keyspace_test {
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

// The table is open-addressed: growing it moves every entry. Values, expiries and the
// distinction between live and expired keys must survive many rehashes.
TEST(Keyspace, ManyKeysSurviveTableGrowth) {
  keyspace ks;
  keyspace::set_options short_ttl;
  short_ttl.ttl = keyspace::ttl_policy::set;
  short_ttl.expires_at = t0 + seconds(1);
  constexpr int keys = 20'000;
  for (int i = 0; i < keys; ++i) {
    const std::string key = "key:" + std::to_string(i);
    // Every tenth key gets a TTL; every key's value is long enough to live on the heap for
    // half of them and inline (small-string) for the other half.
    const std::string value =
        i % 2 == 0 ? std::string(40, static_cast<char>('a' + i % 26)) : std::to_string(i);
    ks.set(0, key, value, i % 10 == 0 ? short_ttl : keyspace::set_options{}, t0);
  }
  EXPECT_EQ(ks.size(0, t0), static_cast<std::size_t>(keys));
  EXPECT_EQ(ks.expiring(0, t0), static_cast<std::size_t>(keys / 10));
  for (int i = 0; i < keys; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const std::string* v = ks.get(0, key, t0);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_EQ(*v,
              i % 2 == 0 ? std::string(40, static_cast<char>('a' + i % 26)) : std::to_string(i));
  }
  // After the deadline the TTL keys are gone and nothing else is.
  const time_point later = t0 + seconds(1);
  EXPECT_EQ(ks.get(0, "key:0", later), nullptr);
  EXPECT_NE(ks.get(0, "key:1", later), nullptr);
  EXPECT_EQ(ks.size(0, later), static_cast<std::size_t>(keys - keys / 10));
  EXPECT_EQ(ks.expiring(0, later), 0u);
  EXPECT_EQ(ks.size(1, later), 0u);
}

TEST(Keyspace, DeleteOfAnExpiredKeyReportsFalseAndRemovesIt) {
  keyspace ks;
  keyspace::set_options ttl;
  ttl.ttl = keyspace::ttl_policy::set;
  ttl.expires_at = t0 + seconds(1);
  ks.set(0, "k", "v", ttl, t0);
  ks.set(0, "other", "w", {}, t0);
  EXPECT_FALSE(ks.del(0, "k", t0 + seconds(1)));
  EXPECT_EQ(ks.size(0, t0), 1u);  // checked before the deadline: "k" is no longer stored
  ASSERT_NE(ks.get(0, "other", t0), nullptr);
  EXPECT_EQ(*ks.get(0, "other", t0), "w");
}

// Keys are looked up by string_view without a copy: a view into a larger buffer (as the parser
// hands out) finds the key stored from a std::string, and binary keys with NUL bytes are exact.
TEST(Keyspace, LookupByViewIntoALargerBufferAndBinaryKeys) {
  keyspace ks;
  const std::string wire = "*2\r\n$3\r\nGET\r\n$5\r\nmykey\r\n";
  const std::string_view key = std::string_view(wire).substr(wire.find("mykey"), 5);
  ks.set(0, "mykey", "value", {}, t0);
  ASSERT_NE(ks.get(0, key, t0), nullptr);
  EXPECT_EQ(*ks.get(0, key, t0), "value");
  EXPECT_EQ(ks.get(0, key.substr(0, 4), t0), nullptr);

  const std::string binary("a\0b", 3);
  ks.set(0, binary, "nul", {}, t0);
  EXPECT_EQ(ks.get(0, "a", t0), nullptr);
  ASSERT_NE(ks.get(0, binary, t0), nullptr);
  EXPECT_EQ(*ks.get(0, binary, t0), "nul");
}

// Short keys are stored inside the table's slots and long ones on the heap: keys of every
// length across that boundary (and the empty key) are distinct and found exactly.
TEST(Keyspace, KeysOfEveryLengthAcrossTheInlineLimit) {
  keyspace ks;
  for (std::size_t n = 0; n <= 48; ++n) {
    ks.set(0, std::string(n, 'k'), "len " + std::to_string(n), {}, t0);
  }
  EXPECT_EQ(ks.size(0, t0), 49u);
  for (std::size_t n = 0; n <= 48; ++n) {
    const std::string* v = ks.get(0, std::string(n, 'k'), t0);
    ASSERT_NE(v, nullptr) << n;
    EXPECT_EQ(*v, "len " + std::to_string(n));
  }
  EXPECT_TRUE(ks.del(0, std::string(22, 'k'), t0));
  EXPECT_EQ(ks.get(0, std::string(22, 'k'), t0), nullptr);
  EXPECT_NE(ks.get(0, std::string(23, 'k'), t0), nullptr);
  EXPECT_NE(ks.get(0, std::string(21, 'k'), t0), nullptr);
}

TEST(Keyspace, IncrRewritesTheValueAndKeepsTheTtl) {
  keyspace ks;
  keyspace::set_options ttl;
  ttl.ttl = keyspace::ttl_policy::set;
  ttl.expires_at = t0 + seconds(5);
  ks.set(0, "n", "9", ttl, t0);
  EXPECT_EQ(ks.incr_by(0, "n", 1, t0).value, 10);
  ASSERT_NE(ks.get(0, "n", t0), nullptr);
  EXPECT_EQ(*ks.get(0, "n", t0), "10");
  EXPECT_EQ(ks.incr_by(0, "n", std::numeric_limits<std::int64_t>::min() + 1, t0).value,
            std::numeric_limits<std::int64_t>::min() + 11);
  EXPECT_EQ(*ks.get(0, "n", t0), std::to_string(std::numeric_limits<std::int64_t>::min() + 11));
  EXPECT_EQ(ks.deadline(0, "n", t0), std::optional<std::optional<time_point>>(t0 + seconds(5)));
}

TEST(KeyspaceWatch, WritesDeletesFlushesAndExpiryBreakAWatch) {
  keyspace ks;
  ks.watch(1, 0, "k", t0);
  EXPECT_FALSE(ks.watch_broken(1, t0));
  ks.set(0, "other", "v", {}, t0);
  ks.set(1, "k", "v", {}, t0);  // another database
  EXPECT_FALSE(ks.watch_broken(1, t0));
  ks.set(0, "k", "v", {}, t0);
  EXPECT_TRUE(ks.watch_broken(1, t0));
  ks.unwatch(1);
  EXPECT_FALSE(ks.watch_broken(1, t0));

  ks.watch(2, 0, "k", t0);
  ks.del(0, "k", t0);
  EXPECT_TRUE(ks.watch_broken(2, t0));
  ks.unwatch(2);

  ks.incr_by(0, "n", 1, t0);
  ks.watch(3, 0, "n", t0);
  ks.flush(0);
  EXPECT_TRUE(ks.watch_broken(3, t0));
  ks.unwatch(3);

  keyspace::set_options ttl;
  ttl.ttl = keyspace::ttl_policy::set;
  ttl.expires_at = t0 + seconds(1);
  ks.set(0, "e", "v", ttl, t0);
  ks.watch(4, 0, "e", t0);
  EXPECT_FALSE(ks.watch_broken(4, t0));
  EXPECT_TRUE(ks.watch_broken(4, t0 + seconds(2)));
}

}  // namespace
}  // namespace keyspace_test
