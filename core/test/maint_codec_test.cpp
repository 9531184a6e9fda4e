#include <schsim/core/maint/codec.hpp>
#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/resp3/serializer.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "support/split_parse.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace maint_codec_test {
namespace {

using schsim::maint::decode;
using schsim::maint::decode_error;
using schsim::maint::dialect;
using schsim::maint::encode;
using schsim::maint::notification;
using schsim::resp3::value;

// Literal bytes: every one parses at every split into exactly one push.
auto parse_push(std::string_view wire) -> value {
  const auto outcome = schsim::test::parse_every_split(wire);
  EXPECT_EQ(outcome.error, schsim::resp3::parse_error::none);
  EXPECT_EQ(outcome.values.size(), 1u);
  return outcome.values.empty() ? value::nil() : outcome.values.front();
}

auto decoded(std::string_view wire) -> std::optional<std::variant<notification, decode_error>> {
  return decode(parse_push(wire));
}

auto decodes_to(std::string_view wire, const notification& expected) -> ::testing::AssertionResult {
  const auto got = decoded(wire);
  if (!got) {
    return ::testing::AssertionFailure() << "not a maintenance notification";
  }
  if (const auto* e = std::get_if<decode_error>(&*got)) {
    return ::testing::AssertionFailure() << "decode error: " << e->message;
  }
  const auto& n = std::get<notification>(*got);
  if (n != expected) {
    return ::testing::AssertionFailure() << "got " << n << ", expected " << expected;
  }
  return ::testing::AssertionSuccess();
}

auto decode_error_of(std::string_view wire) -> std::string {
  const auto got = decoded(wire);
  if (!got || !std::holds_alternative<decode_error>(*got)) {
    ADD_FAILURE() << "expected a decode error";
    return {};
  }
  return std::get<decode_error>(*got).message;
}

// ---------------------------------------------------------------------------------------------
// Canonical form: the byte examples of sch-protocol.md §2.2.

struct canonical_case {
  std::string_view name;
  notification n;
  std::string_view wire;
};

auto PrintTo(const canonical_case& c, std::ostream* os) -> void { *os << c.name; }

const canonical_case canonical_cases[] = {
    {"moving", schsim::maint::moving{1, 15, "10.0.0.2:6379"},
     ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$13\r\n10.0.0.2:6379\r\n"},
    {"moving_none", schsim::maint::moving{1, 15, std::nullopt},
     ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n_\r\n"},
    {"migrating", schsim::maint::migrating{2, 5, {"1"}},
     ">4\r\n$9\r\nMIGRATING\r\n:2\r\n:5\r\n$5\r\n[\"1\"]\r\n"},
    {"migrating_two_shards", schsim::maint::migrating{2, 5, {"1", "2"}},
     ">4\r\n$9\r\nMIGRATING\r\n:2\r\n:5\r\n$9\r\n[\"1\",\"2\"]\r\n"},
    {"migrated", schsim::maint::migrated{3, {"1"}},
     ">3\r\n$8\r\nMIGRATED\r\n:3\r\n$5\r\n[\"1\"]\r\n"},
    {"failing_over", schsim::maint::failing_over{4, 5, {"1"}},
     ">4\r\n$12\r\nFAILING_OVER\r\n:4\r\n:5\r\n$5\r\n[\"1\"]\r\n"},
    {"failed_over", schsim::maint::failed_over{5, {"1"}},
     ">3\r\n$11\r\nFAILED_OVER\r\n:5\r\n$5\r\n[\"1\"]\r\n"},
    {"smigrating", schsim::maint::smigrating{6, {{123, 123}, {789, 1000}}},
     ">3\r\n$10\r\nSMIGRATING\r\n:6\r\n$12\r\n123,789-1000\r\n"},
    {"smigrated",
     schsim::maint::smigrated{7, {{"10.0.0.1:6379", "10.0.0.2:6380", {{123, 123}, {789, 1000}}}}},
     ">3\r\n$9\r\nSMIGRATED\r\n:7\r\n*1\r\n*3\r\n$13\r\n10.0.0.1:6379\r\n$13\r\n10.0.0.2:6380\r\n"
     "$12\r\n123,789-1000\r\n"},
    {"smigrated_two_entries",
     schsim::maint::smigrated{8, {{"a:1", "b:2", {{1, 1}}}, {"a:1", "c:3", {{2, 4}}}}},
     ">3\r\n$9\r\nSMIGRATED\r\n:8\r\n*2\r\n*3\r\n$3\r\na:1\r\n$3\r\nb:2\r\n$1\r\n1\r\n"
     "*3\r\n$3\r\na:1\r\n$3\r\nc:3\r\n$3\r\n2-4\r\n"},
};

class MaintCodecCanonical : public ::testing::TestWithParam<canonical_case> {};

TEST_P(MaintCodecCanonical, EncodesToTheLiteralBytes) {
  const auto& c = GetParam();
  EXPECT_EQ(schsim::resp3::serialize(encode(c.n)), c.wire);
  EXPECT_EQ(encode(c.n), parse_push(c.wire));
}

TEST_P(MaintCodecCanonical, DecodesTheLiteralBytes) {
  const auto& c = GetParam();
  EXPECT_TRUE(decodes_to(c.wire, c.n));
}

INSTANTIATE_TEST_SUITE_P(Frames, MaintCodecCanonical, ::testing::ValuesIn(canonical_cases),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(MaintCodec, MovingFrameIs45Bytes) {
  const auto bytes =
      schsim::resp3::serialize(encode(schsim::maint::moving{1, 15, "10.0.0.2:6379"}));
  EXPECT_EQ(bytes.size(), 45u);
}

// ---------------------------------------------------------------------------------------------
// Dialects: the bytes each flag produces, and that decode reads them back.

struct dialect_case {
  std::string_view name;
  std::vector<std::string_view> flags;
  notification n;
  std::string_view wire;
  notification decoded;  // what decode gives back (a pair loses the source)
};

auto PrintTo(const dialect_case& c, std::ostream* os) -> void { *os << c.name; }

const schsim::maint::moving moving_with{1, 15, "10.0.0.2:6379"};
const schsim::maint::moving moving_none{1, 15, std::nullopt};
const schsim::maint::smigrating smigrating_two{6, {{123, 123}, {789, 1000}}};
const schsim::maint::smigrated smigrated_one{
    7, {{"10.0.0.1:6379", "10.0.0.2:6380", {{123, 123}, {789, 1000}}}}};
const schsim::maint::smigrated smigrated_no_source{
    7, {{"", "10.0.0.2:6380", {{123, 123}, {789, 1000}}}}};

const dialect_case dialect_cases[] = {
    {"simple_string_name",
     {"simple-string-name"},
     moving_with,
     ">4\r\n+MOVING\r\n:1\r\n:15\r\n$13\r\n10.0.0.2:6379\r\n",
     moving_with},
    {"simple_string_arguments",
     {"simple-string-arguments"},
     moving_with,
     ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n+10.0.0.2:6379\r\n",
     moving_with},
    {"simple_strings",
     {"simple-strings"},
     moving_with,
     ">4\r\n+MOVING\r\n:1\r\n:15\r\n+10.0.0.2:6379\r\n",
     moving_with},
    {"null_string",
     {"null-string"},
     moving_none,
     ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$4\r\nnull\r\n",
     moving_none},
    {"null_simple_string",
     {"null-string", "simple-strings"},
     moving_none,
     ">4\r\n+MOVING\r\n:1\r\n:15\r\n+null\r\n",
     moving_none},
    {"null_string_with_endpoint",
     {"null-string"},
     moving_with,
     ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$13\r\n10.0.0.2:6379\r\n",
     moving_with},
    {"moving_three_elements",
     {"moving-3-elements"},
     moving_none,
     ">3\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n",
     moving_none},
    {"moving_three_elements_wins_over_null_string",
     {"moving-3-elements", "null-string"},
     moving_none,
     ">3\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n",
     moving_none},
    {"moving_three_elements_with_endpoint",
     {"moving-3-elements"},
     moving_with,
     ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$13\r\n10.0.0.2:6379\r\n",
     moving_with},
    {"simple_string_shard_ids",
     {"simple-strings"},
     schsim::maint::migrating{2, 5, {"1"}},
     ">4\r\n+MIGRATING\r\n:2\r\n:5\r\n+[\"1\"]\r\n",
     schsim::maint::migrating{2, 5, {"1"}}},
    {"smigrated_pairs",
     {"smigrated-pairs"},
     smigrated_one,
     ">3\r\n$9\r\nSMIGRATED\r\n:7\r\n*1\r\n*2\r\n$13\r\n10.0.0.2:6380\r\n$12\r\n123,789-1000\r\n",
     smigrated_no_source},
    {"smigrated_simple_strings",
     {"simple-strings"},
     smigrated_one,
     ">3\r\n+SMIGRATED\r\n:7\r\n*1\r\n*3\r\n+10.0.0.1:6379\r\n+10.0.0.2:6380\r\n+123,789-1000\r\n",
     smigrated_one},
    {"slots_as_arguments",
     {"slots-as-arguments"},
     smigrating_two,
     ">4\r\n$10\r\nSMIGRATING\r\n:6\r\n$3\r\n123\r\n$8\r\n789-1000\r\n",
     smigrating_two},
    {"slots_as_arguments_none",
     {"slots-as-arguments"},
     schsim::maint::smigrating{6, {}},
     ">3\r\n$10\r\nSMIGRATING\r\n:6\r\n$0\r\n\r\n",
     schsim::maint::smigrating{6, {}}},
    {"slots_as_arguments_leaves_smigrated_alone",
     {"slots-as-arguments"},
     smigrated_one,
     ">3\r\n$9\r\nSMIGRATED\r\n:7\r\n*1\r\n*3\r\n$13\r\n10.0.0.1:6379\r\n$13\r\n10.0.0.2:6380\r\n"
     "$12\r\n123,789-1000\r\n",
     smigrated_one},
};

class MaintCodecDialect : public ::testing::TestWithParam<dialect_case> {};

TEST_P(MaintCodecDialect, EncodesToTheLiteralBytes) {
  const auto& c = GetParam();
  dialect d;
  for (const auto f : c.flags) {
    ASSERT_TRUE(schsim::maint::apply_dialect_flag(d, f)) << f;
  }
  EXPECT_EQ(schsim::resp3::serialize(encode(c.n, d)), c.wire);
}

TEST_P(MaintCodecDialect, DecodesTheLiteralBytes) {
  const auto& c = GetParam();
  EXPECT_TRUE(decodes_to(c.wire, c.decoded));
}

INSTANTIATE_TEST_SUITE_P(Flags, MaintCodecDialect, ::testing::ValuesIn(dialect_cases),
                         [](const auto& tp) { return std::string(tp.param.name); });

// Forms seen in the clients' own fakes and docs (sch-protocol.md §2.2).
TEST(MaintCodecDecode, FakesAndDocForms) {
  // cae-resp-proxy README
  EXPECT_TRUE(decodes_to(">4\r\n$6\r\nMOVING\r\n:1\r\n:2\r\n$6\r\nhost:3\r\n",
                         schsim::maint::moving{1, 2, "host:3"}));
  // redis-py mock: simple-string endpoint
  EXPECT_TRUE(decodes_to(">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n+1.2.3.4:6379\r\n",
                         schsim::maint::moving{1, 15, "1.2.3.4:6379"}));
  // RESP2-style null bulk as the endpoint
  EXPECT_TRUE(decodes_to(">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$-1\r\n", moving_none));
  // Shard ids with a space after the comma, as in the protocol notes.
  EXPECT_TRUE(decodes_to(">4\r\n$9\r\nMIGRATING\r\n:2\r\n:5\r\n$10\r\n[\"2\", \"4\"]\r\n",
                         schsim::maint::migrating{2, 5, {"2", "4"}}));
  // go-redis proxy fake: one bulk argument per slot.
  EXPECT_TRUE(decodes_to(">5\r\n$10\r\nSMIGRATING\r\n:6\r\n$1\r\n1\r\n$1\r\n2\r\n$3\r\n5-9\r\n",
                         schsim::maint::smigrating{6, {{1, 1}, {2, 2}, {5, 9}}}));
  // Slots as integers.
  EXPECT_TRUE(decodes_to(">4\r\n$10\r\nSMIGRATING\r\n:6\r\n:1\r\n:2\r\n",
                         schsim::maint::smigrating{6, {{1, 1}, {2, 2}}}));
  // A triplet with an empty source (what encode writes for an entry read from a pair).
  EXPECT_TRUE(
      decodes_to(">3\r\n$9\r\nSMIGRATED\r\n:7\r\n*1\r\n*3\r\n$0\r\n\r\n$3\r\nb:2\r\n$1\r\n1\r\n",
                 schsim::maint::smigrated{7, {{"", "b:2", {{1, 1}}}}}));
  // Empty SMIGRATED.
  EXPECT_TRUE(decodes_to(">3\r\n$9\r\nSMIGRATED\r\n:7\r\n*0\r\n", schsim::maint::smigrated{7, {}}));
  // Negative and large integers are kept as they are.
  EXPECT_TRUE(
      decodes_to(">3\r\n$8\r\nMIGRATED\r\n:-1\r\n$2\r\n[]\r\n", schsim::maint::migrated{-1, {}}));
}

TEST(MaintCodecDecode, NonMaintenancePushesAreNotNotifications) {
  for (const auto wire : {
           ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
           ">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n",
           ">4\r\n$6\r\nmoving\r\n:1\r\n:15\r\n_\r\n",  // names are upper case
           ">4\r\n$6\r\nMoving\r\n:1\r\n:15\r\n_\r\n",
           ">4\r\n$7\r\nMOVING2\r\n:1\r\n:15\r\n_\r\n",
           ">1\r\n:1\r\n",  // name is no string
           ">0\r\n",
       }) {
    EXPECT_EQ(decoded(wire), std::nullopt) << wire;
  }
  // Only pushes carry notifications: the same elements in a reply array are a reply.
  EXPECT_EQ(decode(parse_push("*4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n_\r\n")), std::nullopt);
  EXPECT_EQ(decode(value::bulk("MOVING")), std::nullopt);
}

TEST(MaintCodecDecode, MalformedFramesAreErrors) {
  struct bad {
    std::string_view wire;
    std::string_view message_part;
  };
  const bad cases[] = {
      {">5\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n_\r\n_\r\n", "MOVING: expected 3 to 4 elements, got 5"},
      {">2\r\n$6\r\nMOVING\r\n:1\r\n", "MOVING: expected 3 to 4 elements, got 2"},
      {">4\r\n$6\r\nMOVING\r\n$1\r\n1\r\n:15\r\n_\r\n", "MOVING: seq is not an integer"},
      {">4\r\n$6\r\nMOVING\r\n:1\r\n,1.5\r\n_\r\n", "MOVING: time is not an integer"},
      {">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n:6379\r\n", "MOVING: endpoint is not a host:port"},
      {">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$0\r\n\r\n", "MOVING: endpoint is not a host:port"},
      {">3\r\n$9\r\nMIGRATING\r\n:2\r\n:5\r\n", "MIGRATING: expected 4 elements, got 3"},
      {">4\r\n$9\r\nMIGRATING\r\n:2\r\n:5\r\n$3\r\n[1\"\r\n", "MIGRATING: shard ids are not"},
      {">4\r\n$9\r\nMIGRATING\r\n:2\r\n:5\r\n:1\r\n", "MIGRATING: shard ids are not a string"},
      {">4\r\n$8\r\nMIGRATED\r\n:3\r\n$2\r\n[]\r\n$2\r\n[]\r\n",
       "MIGRATED: expected 3 elements, got 4"},
      {">3\r\n$12\r\nFAILING_OVER\r\n:4\r\n:5\r\n", "FAILING_OVER: expected 4 elements, got 3"},
      {">3\r\n$11\r\nFAILED_OVER\r\n+x\r\n$2\r\n[]\r\n", "FAILED_OVER: seq is not an integer"},
      {">2\r\n$10\r\nSMIGRATING\r\n:6\r\n", "SMIGRATING: expected 3 elements, got 2"},
      {">3\r\n$10\r\nSMIGRATING\r\n:6\r\n$3\r\nabc\r\n", "SMIGRATING: bad slot list"},
      {">3\r\n$10\r\nSMIGRATING\r\n:6\r\n$5\r\n16384\r\n", "SMIGRATING: bad slot list"},
      {">3\r\n$10\r\nSMIGRATING\r\n:6\r\n:-1\r\n", "SMIGRATING: bad slot list"},
      {">3\r\n$9\r\nSMIGRATED\r\n:7\r\n$3\r\nabc\r\n", "SMIGRATED: entries are not an array"},
      {">3\r\n$9\r\nSMIGRATED\r\n:7\r\n*1\r\n*1\r\n$3\r\na:1\r\n", "SMIGRATED: an entry is not"},
      {">3\r\n$9\r\nSMIGRATED\r\n:7\r\n*1\r\n$3\r\na:1\r\n", "SMIGRATED: an entry is not"},
      {">3\r\n$9\r\nSMIGRATED\r\n:7\r\n*1\r\n*3\r\n:1\r\n$3\r\nb:2\r\n$1\r\n1\r\n",
       "SMIGRATED: entry source is not"},
      {">3\r\n$9\r\nSMIGRATED\r\n:7\r\n*1\r\n*3\r\n$3\r\na:1\r\n$3\r\nb:2\r\n$3\r\n1-x\r\n",
       "SMIGRATED: bad slot list"},
      {">4\r\n$9\r\nSMIGRATED\r\n:7\r\n*0\r\n*0\r\n", "SMIGRATED: expected 3 elements, got 4"},
  };
  for (const auto& c : cases) {
    const auto message = decode_error_of(c.wire);
    EXPECT_NE(message.find(c.message_part), std::string::npos)
        << "message \"" << message << "\" lacks \"" << c.message_part << "\"";
  }
}

// ---------------------------------------------------------------------------------------------
// Every combination of flags reads back (a pair loses only the source).

TEST(MaintCodec, EveryDialectCombinationDecodesBack) {
  const std::vector<notification> samples{
      schsim::maint::moving{1, 15, "10.0.0.2:6379"},
      schsim::maint::moving{2, 0, std::nullopt},
      schsim::maint::migrating{3, 5, {"1", "2"}},
      schsim::maint::migrated{4, {}},
      schsim::maint::failing_over{5, 5, {"x"}},
      schsim::maint::failed_over{6, {"1"}},
      schsim::maint::smigrating{7, {{0, 0}, {10, 20}}},
      schsim::maint::smigrating{8, {}},
      smigrated_one,
      schsim::maint::smigrated{9, {}},
  };
  for (unsigned mask = 0; mask < 64; ++mask) {
    dialect d;
    d.simple_string_name = (mask & 1) != 0;
    d.simple_string_arguments = (mask & 2) != 0;
    d.null_as_string = (mask & 4) != 0;
    d.moving_three_elements = (mask & 8) != 0;
    d.smigrated_pairs = (mask & 16) != 0;
    d.slots_as_arguments = (mask & 32) != 0;
    for (const auto& n : samples) {
      notification expected = n;
      if (auto* s = std::get_if<schsim::maint::smigrated>(&expected); s && d.smigrated_pairs) {
        for (auto& e : s->entries) {
          e.source.clear();
        }
      }
      const auto got = decode(encode(n, d));
      ASSERT_TRUE(got.has_value()) << describe(d) << " " << n;
      ASSERT_TRUE(std::holds_alternative<notification>(*got))
          << describe(d) << " " << n << ": " << std::get<decode_error>(*got).message;
      EXPECT_EQ(std::get<notification>(*got), expected) << describe(d);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dialect flag names

TEST(MaintDialect, FlagNames) {
  const std::vector<std::string_view> expected{
      "canonical",   "simple-string-name", "simple-string-arguments", "simple-strings",
      "null-string", "moving-3-elements",  "smigrated-pairs",         "slots-as-arguments"};
  EXPECT_EQ(schsim::maint::dialect_flag_names(), expected);
  for (const auto name : expected) {
    dialect d;
    EXPECT_TRUE(schsim::maint::apply_dialect_flag(d, name)) << name;
  }
}

TEST(MaintDialect, ApplyFlag) {
  dialect d;
  EXPECT_TRUE(schsim::maint::apply_dialect_flag(d, "canonical"));
  EXPECT_EQ(d, dialect{});
  EXPECT_TRUE(schsim::maint::apply_dialect_flag(d, "simple-strings"));
  EXPECT_TRUE(d.simple_string_name);
  EXPECT_TRUE(d.simple_string_arguments);
  EXPECT_TRUE(schsim::maint::apply_dialect_flag(d, "null-string"));
  EXPECT_TRUE(d.null_as_string);
  EXPECT_TRUE(schsim::maint::apply_dialect_flag(d, "moving-3-elements"));
  EXPECT_TRUE(d.moving_three_elements);
  EXPECT_TRUE(schsim::maint::apply_dialect_flag(d, "smigrated-pairs"));
  EXPECT_TRUE(d.smigrated_pairs);
  EXPECT_TRUE(schsim::maint::apply_dialect_flag(d, "slots-as-arguments"));
  EXPECT_TRUE(d.slots_as_arguments);
  // "canonical" does not undo flags set before it.
  EXPECT_TRUE(schsim::maint::apply_dialect_flag(d, "canonical"));
  EXPECT_TRUE(d.slots_as_arguments);

  dialect unchanged;
  EXPECT_FALSE(schsim::maint::apply_dialect_flag(unchanged, "null_string"));
  EXPECT_FALSE(schsim::maint::apply_dialect_flag(unchanged, "NULL-STRING"));
  EXPECT_FALSE(schsim::maint::apply_dialect_flag(unchanged, ""));
  EXPECT_EQ(unchanged, dialect{});
}

TEST(MaintDialect, Describe) {
  EXPECT_EQ(describe(dialect{}), "canonical");
  dialect d;
  d.null_as_string = true;
  EXPECT_EQ(describe(d), "null-string");
  d.simple_string_name = true;
  d.slots_as_arguments = true;
  EXPECT_EQ(describe(d), "simple-string-name,null-string,slots-as-arguments");
  // The description reads back through apply_dialect_flag.
  dialect back;
  const std::string storage = describe(d);
  std::string_view rest = storage;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    EXPECT_TRUE(schsim::maint::apply_dialect_flag(back, rest.substr(0, comma)));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  EXPECT_EQ(back, d);
}

}  // namespace
}  // namespace maint_codec_test
