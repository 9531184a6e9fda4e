#include <schsim/core/maint/notification.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace maint_notification_test {
namespace {

using schsim::maint::kind;
using schsim::maint::notification;
using schsim::maint::slot_range;

const kind all_kinds[] = {kind::moving,      kind::migrating,  kind::migrated, kind::failing_over,
                          kind::failed_over, kind::smigrating, kind::smigrated};

TEST(MaintKind, NamesAndParsing) {
  const std::vector<std::pair<std::string_view, std::string_view>> expected{
      {"MOVING", "moving"},           {"MIGRATING", "migrating"},
      {"MIGRATED", "migrated"},       {"FAILING_OVER", "failing_over"},
      {"FAILED_OVER", "failed_over"}, {"SMIGRATING", "smigrating"},
      {"SMIGRATED", "smigrated"},
  };
  for (std::size_t i = 0; i < std::size(all_kinds); ++i) {
    const kind k = all_kinds[i];
    EXPECT_EQ(schsim::maint::wire_name(k), expected[i].first);
    EXPECT_EQ(schsim::maint::to_string(k), expected[i].second);
    EXPECT_EQ(schsim::maint::parse_kind(expected[i].first), k);
    EXPECT_EQ(schsim::maint::parse_kind(expected[i].second), k);
  }
  EXPECT_EQ(schsim::maint::parse_kind("Moving"), std::nullopt);
  EXPECT_EQ(schsim::maint::parse_kind(""), std::nullopt);
  EXPECT_EQ(schsim::maint::parse_kind("message"), std::nullopt);
  std::ostringstream os;
  os << kind::failing_over;
  EXPECT_EQ(os.str(), "failing_over");
}

TEST(MaintKind, KindOfFollowsTheVariantOrder) {
  EXPECT_EQ(schsim::maint::kind_of(schsim::maint::moving{}), kind::moving);
  EXPECT_EQ(schsim::maint::kind_of(schsim::maint::migrating{}), kind::migrating);
  EXPECT_EQ(schsim::maint::kind_of(schsim::maint::migrated{}), kind::migrated);
  EXPECT_EQ(schsim::maint::kind_of(schsim::maint::failing_over{}), kind::failing_over);
  EXPECT_EQ(schsim::maint::kind_of(schsim::maint::failed_over{}), kind::failed_over);
  EXPECT_EQ(schsim::maint::kind_of(schsim::maint::smigrating{}), kind::smigrating);
  EXPECT_EQ(schsim::maint::kind_of(schsim::maint::smigrated{}), kind::smigrated);
}

TEST(MaintKind, Windows) {
  EXPECT_TRUE(schsim::maint::opens_window(kind::migrating));
  EXPECT_TRUE(schsim::maint::opens_window(kind::failing_over));
  EXPECT_TRUE(schsim::maint::opens_window(kind::smigrating));
  EXPECT_FALSE(schsim::maint::opens_window(kind::moving));
  EXPECT_FALSE(schsim::maint::opens_window(kind::migrated));
  EXPECT_TRUE(schsim::maint::closes_window(kind::migrated));
  EXPECT_TRUE(schsim::maint::closes_window(kind::failed_over));
  EXPECT_TRUE(schsim::maint::closes_window(kind::smigrated));
  EXPECT_FALSE(schsim::maint::closes_window(kind::moving));
  EXPECT_FALSE(schsim::maint::closes_window(kind::migrating));
  EXPECT_EQ(schsim::maint::closing_kind(kind::migrating), kind::migrated);
  EXPECT_EQ(schsim::maint::closing_kind(kind::failing_over), kind::failed_over);
  EXPECT_EQ(schsim::maint::closing_kind(kind::smigrating), kind::smigrated);
  EXPECT_EQ(schsim::maint::closing_kind(kind::moving), std::nullopt);
  EXPECT_EQ(schsim::maint::closing_kind(kind::migrated), std::nullopt);
}

TEST(MaintNotification, SeqAndTimeAccessors) {
  notification n = schsim::maint::moving{1, 15, "10.0.0.2:6379"};
  EXPECT_EQ(schsim::maint::seq_of(n), 1);
  EXPECT_EQ(schsim::maint::time_of(n), 15);
  schsim::maint::set_seq(n, 9);
  schsim::maint::set_time(n, 3);
  EXPECT_EQ(n, notification(schsim::maint::moving{9, 3, "10.0.0.2:6379"}));

  notification m = schsim::maint::migrated{4, {"1"}};
  EXPECT_EQ(schsim::maint::time_of(m), std::nullopt);
  schsim::maint::set_time(m, 7);  // no time field: unchanged
  EXPECT_EQ(m, notification(schsim::maint::migrated{4, {"1"}}));
  EXPECT_EQ(schsim::maint::time_of(schsim::maint::failing_over{1, 5, {}}), 5);
  EXPECT_EQ(schsim::maint::time_of(schsim::maint::migrating{1, 6, {}}), 6);
  EXPECT_EQ(schsim::maint::time_of(schsim::maint::smigrating{1, {}}), std::nullopt);
  EXPECT_EQ(schsim::maint::seq_of(schsim::maint::smigrated{42, {}}), 42);
}

TEST(MaintSlots, ParseList) {
  using list = std::vector<slot_range>;
  EXPECT_EQ(schsim::maint::parse_slot_list("123,789-1000"), (list{{123, 123}, {789, 1000}}));
  EXPECT_EQ(schsim::maint::parse_slot_list("0"), (list{{0, 0}}));
  EXPECT_EQ(schsim::maint::parse_slot_list("16383"), (list{{16383, 16383}}));
  EXPECT_EQ(schsim::maint::parse_slot_list("0-16383"), (list{{0, 16383}}));
  EXPECT_EQ(schsim::maint::parse_slot_list("5-5"), (list{{5, 5}}));
  EXPECT_EQ(schsim::maint::parse_slot_list(" 1 , 2 - 3 "), (list{{1, 1}, {2, 3}}));
  EXPECT_EQ(schsim::maint::parse_slot_list(""), list{});
  for (const auto bad :
       {"16384", "5-3", "a", "1,,2", "1,", ",1", "-1", "1-", "1-2-3", "+1", "1 2", "99999999999"}) {
    EXPECT_EQ(schsim::maint::parse_slot_list(bad), std::nullopt) << bad;
  }
}

TEST(MaintSlots, FormatList) {
  EXPECT_EQ(schsim::maint::format_slot_list({{123, 123}, {789, 1000}}), "123,789-1000");
  EXPECT_EQ(schsim::maint::format_slot_list({}), "");
  EXPECT_EQ(schsim::maint::format_slot_list({{0, 16383}}), "0-16383");
}

TEST(MaintShardIds, Parse) {
  using ids = std::vector<std::string>;
  EXPECT_EQ(schsim::maint::parse_shard_ids(R"(["1","2"])"), (ids{"1", "2"}));
  EXPECT_EQ(schsim::maint::parse_shard_ids(R"(["2", "4"])"), (ids{"2", "4"}));
  EXPECT_EQ(schsim::maint::parse_shard_ids(R"( [ "1" ] )"), (ids{"1"}));
  EXPECT_EQ(schsim::maint::parse_shard_ids("[]"), ids{});
  EXPECT_EQ(schsim::maint::parse_shard_ids("[1, 2]"), (ids{"1", "2"}));
  EXPECT_EQ(schsim::maint::parse_shard_ids(R"(["a\"b\\c"])"), (ids{"a\"b\\c"}));
  EXPECT_EQ(schsim::maint::parse_shard_ids(R"(["\u0041\n"])"), (ids{"A\n"}));
  EXPECT_EQ(schsim::maint::parse_shard_ids(R"(["\ud83d\ude00"])"), (ids{"\xf0\x9f\x98\x80"}));
  for (const auto bad : {R"("1")", R"(["1",])", R"(["1")", R"(["1"]x)", R"([1 2])", "", "[",
                         R"(["\q"])", R"(["\u12"])", "[-]", R"([,"1"])", R"(["a)"}) {
    EXPECT_EQ(schsim::maint::parse_shard_ids(bad), std::nullopt) << bad;
  }
}

TEST(MaintShardIds, Format) {
  EXPECT_EQ(schsim::maint::format_shard_ids({"1", "2"}), R"(["1","2"])");
  EXPECT_EQ(schsim::maint::format_shard_ids({"1"}), R"(["1"])");
  EXPECT_EQ(schsim::maint::format_shard_ids({}), "[]");
  EXPECT_EQ(schsim::maint::format_shard_ids({"a\"b\\", "\x01"}), R"(["a\"b\\","\u0001"])");
}

TEST(MaintNotification, DebugString) {
  EXPECT_EQ(to_debug_string(schsim::maint::moving{1, 15, "10.0.0.2:6379"}),
            "MOVING seq=1 time=15 endpoint=10.0.0.2:6379");
  EXPECT_EQ(to_debug_string(schsim::maint::moving{1, 15, std::nullopt}),
            "MOVING seq=1 time=15 endpoint=<none>");
  EXPECT_EQ(to_debug_string(schsim::maint::migrating{2, 5, {"1", "2"}}),
            R"(MIGRATING seq=2 time=5 shards=["1","2"])");
  EXPECT_EQ(to_debug_string(schsim::maint::failed_over{5, {"1"}}),
            R"(FAILED_OVER seq=5 shards=["1"])");
  EXPECT_EQ(to_debug_string(schsim::maint::smigrating{6, {{123, 123}, {789, 1000}}}),
            "SMIGRATING seq=6 slots=123,789-1000");
  EXPECT_EQ(to_debug_string(schsim::maint::smigrated{
                7, {{"10.0.0.1:6379", "10.0.0.2:6380", {{1, 2}}}, {"", "h:1", {{3, 3}}}}}),
            "SMIGRATED seq=7 entries=[10.0.0.1:6379 -> 10.0.0.2:6380 slots=1-2, ? -> h:1 slots=3]");
  std::ostringstream os;
  os << notification(schsim::maint::migrated{3, {"1"}});
  EXPECT_EQ(os.str(), R"(MIGRATED seq=3 shards=["1"])");
}

}  // namespace
}  // namespace maint_notification_test
