#include <schsim/core/cluster/slots.hpp>

#include <gtest/gtest.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace cluster_slots_test {
namespace {

using schsim::cluster::crc16;
using schsim::cluster::key_slot;
using schsim::cluster::parse_slot_set;
using schsim::cluster::slot_parse_error;
using cluster_range = schsim::cluster::slot_range;
using schsim::cluster::slot_set;

TEST(ClusterCrc16, MatchesTheXmodemCheckValue) {
  // The standard CRC16-XMODEM check value, and the one the Redis Cluster spec quotes.
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
}

TEST(ClusterKeySlot, MatchesRedisClusterKeyslot) {
  // Values from `CLUSTER KEYSLOT` on a real Redis 7 cluster.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("somekey"), 11058);
  EXPECT_EQ(key_slot(""), 0);
}

TEST(ClusterKeySlot, HashTagRules) {
  // Only the text inside the first {...} is hashed...
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("{user1000}.followers"), key_slot("{user1000}.following"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  // ...unless it is empty or unclosed: then the whole key is.
  EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") & 16383);
  EXPECT_EQ(key_slot("{}foo"), crc16("{}foo") & 16383);
  EXPECT_EQ(key_slot("foo{bar"), crc16("foo{bar") & 16383);
}

TEST(ClusterSlotSet, ParsesSlotsAndRanges) {
  const auto parsed = parse_slot_set("123,789-1000");
  ASSERT_TRUE(std::holds_alternative<slot_set>(parsed));
  const auto& set = std::get<slot_set>(parsed);
  EXPECT_EQ(set.size(), 1U + 212U);
  EXPECT_TRUE(set.contains(123));
  EXPECT_FALSE(set.contains(124));
  EXPECT_TRUE(set.contains(789));
  EXPECT_TRUE(set.contains(1000));
  EXPECT_FALSE(set.contains(1001));
  EXPECT_EQ(set.ranges(), (std::vector<cluster_range>{{123, 123}, {789, 1000}}));
  EXPECT_EQ(set.to_string(), "123,789-1000");
}

TEST(ClusterSlotSet, MergesAdjacentAndOverlappingItems) {
  const auto parsed = parse_slot_set(" 0-10 , 11, 5-20,16383 ");
  ASSERT_TRUE(std::holds_alternative<slot_set>(parsed));
  EXPECT_EQ(std::get<slot_set>(parsed).to_string(), "0-20,16383");
}

TEST(ClusterSlotSet, EmptyTextIsTheEmptySet) {
  for (const auto* text : {"", "   "}) {
    const auto parsed = parse_slot_set(text);
    ASSERT_TRUE(std::holds_alternative<slot_set>(parsed)) << text;
    EXPECT_TRUE(std::get<slot_set>(parsed).empty());
    EXPECT_EQ(std::get<slot_set>(parsed).to_string(), "");
  }
}

TEST(ClusterSlotSet, ErrorsPointAtTheOffendingByte) {
  struct bad_case {
    const char* text;
    std::size_t offset;
    const char* fragment;
  };
  for (const auto& c :
       {bad_case{"16384", 0, "out of range"}, bad_case{"1,99999999999", 2, "out of range"},
        bad_case{"10-5", 3, "ends before it starts"}, bad_case{"1,,2", 2, "expected a slot number"},
        bad_case{"1,", 2, "found the end"}, bad_case{"1-", 2, "found the end"},
        bad_case{"7 8", 2, "expected ','"}, bad_case{"a-b", 0, "found 'a'"},
        bad_case{"-3", 0, "found '-'"}}) {
    const auto parsed = parse_slot_set(c.text);
    ASSERT_TRUE(std::holds_alternative<slot_parse_error>(parsed)) << c.text;
    const auto& error = std::get<slot_parse_error>(parsed);
    EXPECT_EQ(error.offset, c.offset) << c.text;
    EXPECT_NE(error.message.find(c.fragment), std::string::npos) << c.text << ": " << error.message;
  }
}

TEST(ClusterSlotSet, SetAlgebra) {
  auto a = slot_set::of(0, 8191);
  const auto b = slot_set::of(8000, 9000);
  EXPECT_TRUE(a.intersects(b));
  EXPECT_EQ(a.intersection(b), slot_set::of(8000, 8191));
  a.remove(b);
  EXPECT_EQ(a, slot_set::of(0, 7999));
  EXPECT_FALSE(a.intersects(b));
  a.add(b);
  EXPECT_EQ(a.to_string(), "0-9000");
  a.remove(std::uint16_t{5});
  EXPECT_EQ(a.to_string(), "0-4,6-9000");
  EXPECT_EQ(slot_set::of(0, 16383).size(), 16384U);
  EXPECT_EQ(slot_set::of(0, 16383).ranges(), (std::vector<cluster_range>{{0, 16383}}));
}

}  // namespace
}  // namespace cluster_slots_test
