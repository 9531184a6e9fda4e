#include <schsim/core/resp3/parser.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "support/split_parse.hpp"
#include "support/values.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace resp3_parser_test {
namespace {

using schsim::test::num;
using schsim::test::with_attributes;

using schsim::resp3::inline_mode;
using schsim::resp3::parse_error;
using schsim::resp3::parser;
using schsim::resp3::parser_limits;
using schsim::resp3::type;
using schsim::resp3::value;
using schsim::test::parse_every_split;
using schsim::test::parse_options;
using schsim::test::parse_whole;

using std::string_view_literals::operator""sv;

auto bulk(std::string s) -> value { return value::bulk(std::move(s)); }
auto simple(std::string s) -> value { return value::simple(std::move(s)); }

// ---------------------------------------------------------------------------------------------
// One value per RESP3 type, each at every split.

struct value_case {
  std::string_view name;
  std::string_view wire;
  value expected;
};

auto PrintTo(const value_case& c, std::ostream* os) -> void { *os << c.name; }

class Resp3ParserValue : public ::testing::TestWithParam<value_case> {};

TEST_P(Resp3ParserValue, ParsesAtEverySplit) {
  const auto& c = GetParam();
  const auto outcome = parse_every_split(c.wire);
  EXPECT_EQ(outcome.error, parse_error::none) << schsim::resp3::to_string(outcome.error);
  ASSERT_EQ(outcome.values.size(), 1u);
  EXPECT_EQ(outcome.values[0], c.expected);
  EXPECT_EQ(outcome.buffered, 0u);
}

const value_case value_cases[] = {
    {"simple_string", "+OK\r\n", simple("OK")},
    {"empty_simple_string", "+\r\n", simple("")},
    {"simple_string_with_lf", "+a\nb\r\n", simple("a\nb")},
    {"simple_error", "-ERR unknown command\r\n", value::error("ERR unknown command")},
    {"integer_zero", ":0\r\n", num(0)},
    {"integer", ":42\r\n", num(42)},
    {"negative_integer", ":-7\r\n", num(-7)},
    {"int64_max", ":9223372036854775807\r\n", num(std::numeric_limits<std::int64_t>::max())},
    {"int64_min", ":-9223372036854775808\r\n", num(std::numeric_limits<std::int64_t>::min())},
    {"bulk_string", "$5\r\nhello\r\n", bulk("hello")},
    {"empty_bulk_string", "$0\r\n\r\n", bulk("")},
    {"binary_bulk_string", "$6\r\na\r\nb\0c\r\n"sv, bulk(std::string("a\r\nb\0c", 6))},
    {"resp2_null_bulk", "$-1\r\n", value::nil()},
    {"resp2_null_array", "*-1\r\n", value::nil()},
    {"null", "_\r\n", value::nil()},
    {"true", "#t\r\n", value::boolean_of(true)},
    {"false", "#f\r\n", value::boolean_of(false)},
    {"double", ",1.5\r\n", value::double_of(1.5)},
    {"negative_double", ",-2.25\r\n", value::double_of(-2.25)},
    {"double_integral", ",10\r\n", value::double_of(10)},
    {"double_exponent", ",1.23e10\r\n", value::double_of(1.23e10)},
    {"double_plus_sign", ",+3.5\r\n", value::double_of(3.5)},
    {"inf", ",inf\r\n", value::double_of(std::numeric_limits<double>::infinity())},
    {"minus_inf", ",-inf\r\n", value::double_of(-std::numeric_limits<double>::infinity())},
    {"nan", ",nan\r\n", value::double_of(std::numeric_limits<double>::quiet_NaN())},
    {"big_number", "(3492890328409238509324850943850943825024385\r\n",
     value::big("3492890328409238509324850943850943825024385")},
    {"negative_big_number", "(-12\r\n", value::big("-12")},
    {"bulk_error", "!21\r\nSYNTAX invalid syntax\r\n", value::bulk_error("SYNTAX invalid syntax")},
    {"verbatim", "=15\r\ntxt:Some string\r\n", value::verbatim("txt", "Some string")},
    {"empty_verbatim", "=4\r\nmkd:\r\n", value::verbatim("mkd", "")},
    {"empty_array", "*0\r\n", value::array_of({})},
    {"array", "*3\r\n:1\r\n$3\r\nfoo\r\n_\r\n",
     value::array_of({num(1), bulk("foo"), value::nil()})},
    {"nested_array", "*2\r\n*1\r\n:1\r\n*0\r\n",
     value::array_of({value::array_of({num(1)}), value::array_of({})})},
    {"map", "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
     value::map_of({simple("first"), num(1), simple("second"), num(2)})},
    {"empty_map", "%0\r\n", value::map_of({})},
    {"set", "~3\r\n+a\r\n+b\r\n+c\r\n", value::set_of({simple("a"), simple("b"), simple("c")})},
    {"push_moving", ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$13\r\n10.0.0.2:6379\r\n",
     value::push_of({bulk("MOVING"), num(1), num(15), bulk("10.0.0.2:6379")})},
    {"push_moving_null", ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n_\r\n",
     value::push_of({bulk("MOVING"), num(1), num(15), value::nil()})},
    {"push_simple_name", ">2\r\n+LOLWUT\r\n:42\r\n", value::push_of({simple("LOLWUT"), num(42)})},
    {"map_in_array_in_map", "%1\r\n+k\r\n*1\r\n%1\r\n:1\r\n#t\r\n",
     value::map_of(
         {simple("k"), value::array_of({value::map_of({num(1), value::boolean_of(true)})})})},
    {"hello_reply",
     "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.4.0\r\n$5\r\nproto\r\n:3\r\n"
     "$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
     "$7\r\nmodules\r\n*0\r\n",
     value::map_of({bulk("server"), bulk("redis"), bulk("version"), bulk("7.4.0"), bulk("proto"),
                    num(3), bulk("id"), num(1), bulk("mode"), bulk("standalone"), bulk("role"),
                    bulk("master"), bulk("modules"), value::array_of({})})},
};

INSTANTIATE_TEST_SUITE_P(AllTypes, Resp3ParserValue, ::testing::ValuesIn(value_cases),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(Resp3Parser, DoubleKeepsItsWireSpelling) {
  for (const auto wire : {",1.50\r\n"sv, ",inf\r\n"sv, ",-inf\r\n"sv, ",nan\r\n"sv, ",1e3\r\n"sv}) {
    const auto outcome = parse_every_split(wire);
    ASSERT_EQ(outcome.values.size(), 1u) << wire;
    EXPECT_EQ(outcome.values[0].kind, type::double_number);
    EXPECT_EQ(outcome.values[0].text, wire.substr(1, wire.size() - 3));
  }
  const auto nan = parse_whole(",nan\r\n");
  EXPECT_TRUE(std::isnan(nan.values.at(0).number));
  EXPECT_EQ(parse_whole(",-inf\r\n").values.at(0).number, -std::numeric_limits<double>::infinity());
}

TEST(Resp3Parser, VerbatimFormatIsSplitOff) {
  const auto outcome = parse_every_split("=15\r\ntxt:Some string\r\n");
  ASSERT_EQ(outcome.values.size(), 1u);
  EXPECT_EQ(outcome.values[0].verbatim_format, "txt");
  EXPECT_EQ(outcome.values[0].text, "Some string");
}

TEST(Resp3Parser, PipelinedValuesComeOutInOrder) {
  constexpr auto wire =
      "+OK\r\n:1\r\n$3\r\nfoo\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n_\r\n"
      "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"sv;
  const auto outcome = parse_every_split(wire);
  ASSERT_EQ(outcome.error, parse_error::none);
  const std::vector<value> expected{
      simple("OK"), num(1),
      bulk("foo"),  value::push_of({bulk("message"), bulk("ch"), bulk("hi")}),
      value::nil(), value::array_of({bulk("GET"), bulk("k")})};
  EXPECT_EQ(outcome.values, expected);
  EXPECT_EQ(outcome.buffered, 0u);
}

TEST(Resp3Parser, ValuesFedWithoutPullingAreAllKept) {
  parser p;
  p.feed("+a\r\n");
  p.feed("+b\r\n:");
  p.feed("3\r\n");
  EXPECT_EQ(p.next(), simple("a"));
  EXPECT_EQ(p.next(), simple("b"));
  EXPECT_EQ(p.next(), num(3));
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_FALSE(p.failed());
}

TEST(Resp3Parser, BufferedAndMidValueTrackThePartialValue) {
  parser p;
  EXPECT_EQ(p.buffered(), 0u);
  EXPECT_FALSE(p.mid_value());
  p.feed("*2\r\n:1\r\n");
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_EQ(p.buffered(), 8u);
  EXPECT_TRUE(p.mid_value());
  p.feed(":2\r\n+x");
  EXPECT_EQ(p.next(), value::array_of({num(1), num(2)}));
  EXPECT_EQ(p.buffered(), 2u);
  EXPECT_TRUE(p.mid_value());
  p.feed("\r\n");
  EXPECT_EQ(p.next(), simple("x"));
  EXPECT_EQ(p.buffered(), 0u);
  EXPECT_FALSE(p.mid_value());
}

TEST(Resp3Parser, IncompleteInputIsNoError) {
  for (const auto wire :
       {"$5\r\nhel"sv, "*2\r\n:1\r\n"sv, "+OK\r"sv, ":12"sv, ">4\r\n$6\r\nMOV"sv}) {
    const auto outcome = parse_every_split(wire);
    EXPECT_EQ(outcome.error, parse_error::none) << wire;
    EXPECT_TRUE(outcome.values.empty()) << wire;
    EXPECT_EQ(outcome.buffered, wire.size()) << wire;
  }
}

// ---------------------------------------------------------------------------------------------
// Attributes

TEST(Resp3Parser, AttributeAttachesToTheFollowingValue) {
  // The example of the RESP3 specification.
  constexpr auto wire =
      "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
      "*2\r\n:2039123\r\n:9543892\r\n"sv;
  const auto outcome = parse_every_split(wire);
  ASSERT_EQ(outcome.values.size(), 1u);
  const value expected = with_attributes(
      value::array_of({num(2039123), num(9543892)}),
      {simple("key-popularity"),
       value::map_of({bulk("a"), value::double_of(0.1923), bulk("b"), value::double_of(0.0012)})});
  EXPECT_EQ(outcome.values[0], expected);
  EXPECT_EQ(outcome.buffered, 0u);
}

TEST(Resp3Parser, AttributeInsideAnAggregateIsNoElement) {
  const auto outcome = parse_every_split("*2\r\n|1\r\n+ttl\r\n:3600\r\n$3\r\nfoo\r\n:7\r\n");
  ASSERT_EQ(outcome.values.size(), 1u);
  const value expected =
      value::array_of({with_attributes(bulk("foo"), {simple("ttl"), num(3600)}), num(7)});
  EXPECT_EQ(outcome.values[0], expected);
}

TEST(Resp3Parser, AttributesOfAnAggregateAndOfItsChildStaySeparate) {
  const auto outcome = parse_every_split("|1\r\n+a\r\n:1\r\n*1\r\n|1\r\n+b\r\n:2\r\n:3\r\n");
  ASSERT_EQ(outcome.values.size(), 1u);
  const value expected = with_attributes(
      value::array_of({with_attributes(num(3), {simple("b"), num(2)})}), {simple("a"), num(1)});
  EXPECT_EQ(outcome.values[0], expected);
}

TEST(Resp3Parser, ConsecutiveAttributesAreMerged) {
  const auto outcome = parse_every_split("|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n:2\r\n#t\r\n");
  ASSERT_EQ(outcome.values.size(), 1u);
  EXPECT_EQ(outcome.values[0],
            with_attributes(value::boolean_of(true), {simple("a"), num(1), simple("b"), num(2)}));
}

TEST(Resp3Parser, AttributeOnAnAttributeKeyStaysOnTheKey) {
  const auto outcome = parse_every_split("|1\r\n|1\r\n+x\r\n+y\r\n+k\r\n+v\r\n:1\r\n");
  ASSERT_EQ(outcome.values.size(), 1u);
  EXPECT_EQ(outcome.values[0],
            with_attributes(
                num(1), {with_attributes(simple("k"), {simple("x"), simple("y")}), simple("v")}));
}

TEST(Resp3Parser, EmptyAttributeAddsNothing) {
  const auto outcome = parse_every_split("|0\r\n:1\r\n");
  ASSERT_EQ(outcome.values.size(), 1u);
  EXPECT_EQ(outcome.values[0], num(1));
  EXPECT_TRUE(outcome.values[0].attributes.empty());
}

TEST(Resp3Parser, AttributeAloneWaitsForItsValue) {
  parser p;
  p.feed("|1\r\n+a\r\n:1\r\n");
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_FALSE(p.failed());
  EXPECT_TRUE(p.mid_value());
  EXPECT_EQ(p.buffered(), 12u);
  p.feed("_\r\n");
  EXPECT_EQ(p.next(), with_attributes(value::nil(), {simple("a"), num(1)}));
  EXPECT_FALSE(p.mid_value());
}

// ---------------------------------------------------------------------------------------------
// Errors: each with its offset, the same at every split.

struct error_case {
  std::string_view name;
  std::string_view wire;
  parse_error error;
  std::uint64_t offset;
  std::size_t values_before = 0;  // complete values that precede the error
};

auto PrintTo(const error_case& c, std::ostream* os) -> void { *os << c.name; }

class Resp3ParserError : public ::testing::TestWithParam<error_case> {};

TEST_P(Resp3ParserError, IsReportedAtItsOffsetAtEverySplit) {
  const auto& c = GetParam();
  const auto outcome = parse_every_split(c.wire);
  EXPECT_EQ(outcome.error, c.error) << schsim::resp3::to_string(outcome.error);
  EXPECT_EQ(outcome.error_offset, c.offset);
  EXPECT_EQ(outcome.values.size(), c.values_before);
}

const error_case error_cases[] = {
    {"type_byte_top_level", "?x\r\n", parse_error::invalid_type_byte, 0},
    {"type_byte_in_array", "*1\r\n?\r\n", parse_error::invalid_type_byte, 4},
    {"type_byte_after_value", "+OK\r\n@", parse_error::invalid_type_byte, 5, 1},
    {"type_byte_crlf", "\r\n", parse_error::invalid_type_byte, 0},
    {"integer_letters", ":abc\r\n", parse_error::invalid_integer, 1},
    {"integer_empty", ":\r\n", parse_error::invalid_integer, 1},
    {"integer_minus_only", ":-\r\n", parse_error::invalid_integer, 1},
    {"integer_leading_space", ": 1\r\n", parse_error::invalid_integer, 1},
    {"integer_trailing_space", ":1 \r\n", parse_error::invalid_integer, 1},
    {"integer_plus", ":+1\r\n", parse_error::invalid_integer, 1},
    {"integer_leading_zero", ":01\r\n", parse_error::invalid_integer, 1},
    {"integer_minus_zero", ":-0\r\n", parse_error::invalid_integer, 1},
    {"integer_overflow", ":9223372036854775808\r\n", parse_error::invalid_integer, 1},
    {"integer_underflow", ":-9223372036854775809\r\n", parse_error::invalid_integer, 1},
    {"integer_huge", ":99999999999999999999999\r\n", parse_error::invalid_integer, 1},
    {"integer_in_push", ">2\r\n$6\r\nMOVING\r\n:1x\r\n", parse_error::invalid_integer, 17},
    {"bulk_length_letters", "$abc\r\n", parse_error::invalid_length, 1},
    {"bulk_length_empty", "$\r\n", parse_error::invalid_length, 1},
    {"bulk_length_minus_two", "$-2\r\n", parse_error::invalid_length, 1},
    {"bulk_length_leading_zero", "$03\r\nfoo\r\n", parse_error::invalid_length, 1},
    {"bulk_length_streamed", "$?\r\n", parse_error::invalid_length, 1},
    {"bulk_error_null", "!-1\r\n", parse_error::invalid_length, 1},
    {"verbatim_null", "=-1\r\n", parse_error::invalid_length, 1},
    {"array_length_letters", "*x\r\n", parse_error::invalid_length, 1},
    {"array_length_minus_two", "*-2\r\n", parse_error::invalid_length, 1},
    {"map_null", "%-1\r\n", parse_error::invalid_length, 1},
    {"set_null", "~-1\r\n", parse_error::invalid_length, 1},
    {"push_null", ">-1\r\n", parse_error::invalid_length, 1},
    {"attribute_null", "|-1\r\n", parse_error::invalid_length, 1},
    {"nested_length", "*1\r\n*z\r\n", parse_error::invalid_length, 5},
    {"bulk_missing_cr", "$3\r\nfooX\r\n", parse_error::missing_crlf, 7},
    {"bulk_missing_lf", "$3\r\nfoo\rX", parse_error::missing_crlf, 8},
    {"bulk_too_short", "$4\r\nfoo\r\n:1\r\n", parse_error::missing_crlf, 8},
    {"line_lone_cr", "+OK\rX\r\n", parse_error::missing_crlf, 4},
    {"header_lone_cr", "*1\rX", parse_error::missing_crlf, 3},
    {"double_letters", ",abc\r\n", parse_error::invalid_double, 1},
    {"double_empty", ",\r\n", parse_error::invalid_double, 1},
    {"double_trailing", ",1.5x\r\n", parse_error::invalid_double, 1},
    {"double_two_signs", ",+-1\r\n", parse_error::invalid_double, 1},
    {"double_space", ", 1\r\n", parse_error::invalid_double, 1},
    {"boolean_letter", "#x\r\n", parse_error::invalid_boolean, 1},
    {"boolean_empty", "#\r\n", parse_error::invalid_boolean, 1},
    {"boolean_upper", "#T\r\n", parse_error::invalid_boolean, 1},
    {"boolean_long", "#tt\r\n", parse_error::invalid_boolean, 1},
    {"big_number_empty", "(\r\n", parse_error::invalid_big_number, 1},
    {"big_number_sign_only", "(-\r\n", parse_error::invalid_big_number, 1},
    {"big_number_letters", "(12a\r\n", parse_error::invalid_big_number, 1},
    {"verbatim_short", "=3\r\ntxt\r\n", parse_error::invalid_verbatim, 4},
    {"verbatim_no_colon", "=5\r\ntxt-x\r\n", parse_error::invalid_verbatim, 4},
    {"null_payload", "_x\r\n", parse_error::invalid_null, 1},
};

INSTANTIATE_TEST_SUITE_P(AllErrors, Resp3ParserError, ::testing::ValuesIn(error_cases),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(Resp3Parser, ErrorMessagesAreRedisLike) {
  const auto message = [](std::string_view wire) {
    parser p;
    p.feed(wire);
    (void)p.next();
    return p.error_message();
  };
  EXPECT_EQ(message("+OK\r\n"), "");
  EXPECT_EQ(message("$x\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(message("!-1\r\n"), "Protocol error: invalid bulk length");
  EXPECT_EQ(message("*x\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(message("%-1\r\n"), "Protocol error: invalid multibulk length");
  EXPECT_EQ(message("?\r\n"), "Protocol error: expected a RESP3 type byte, got '?'");
  EXPECT_EQ(message("*1\r\nPING\r\n"), "Protocol error: expected a RESP3 type byte, got 'P'");
  EXPECT_EQ(message("\x01"), "Protocol error: expected a RESP3 type byte, got '\\x01'");
  EXPECT_EQ(message(":x\r\n"), "Protocol error: invalid integer");
  EXPECT_EQ(message("$3\r\nfooXY"), "Protocol error: expected CRLF");
  EXPECT_EQ(message(",x\r\n"), "Protocol error: invalid double");
  EXPECT_EQ(message("#x\r\n"), "Protocol error: invalid boolean");
  EXPECT_EQ(message("(x\r\n"), "Protocol error: invalid big number");
  EXPECT_EQ(message("=3\r\nabc\r\n"), "Protocol error: invalid verbatim string");
  EXPECT_EQ(message("_x\r\n"), "Protocol error: invalid null");
}

TEST(Resp3Parser, ErrorNamesAreTheEnumerators) {
  EXPECT_EQ(schsim::resp3::to_string(parse_error::none), "none");
  EXPECT_EQ(schsim::resp3::to_string(parse_error::invalid_type_byte), "invalid_type_byte");
  EXPECT_EQ(schsim::resp3::to_string(parse_error::nesting_too_deep), "nesting_too_deep");
  EXPECT_EQ(schsim::resp3::to_string(parse_error::unbalanced_quotes), "unbalanced_quotes");
}

TEST(Resp3Parser, ErrorIsStickyUntilReset) {
  parser p;
  p.feed("+OK\r\n:1x\r\n");
  EXPECT_EQ(p.next(), simple("OK"));
  EXPECT_EQ(p.next(), std::nullopt);
  ASSERT_TRUE(p.failed());
  EXPECT_EQ(p.error(), parse_error::invalid_integer);
  EXPECT_EQ(p.error_offset(), 6u);
  const auto message = p.error_message();

  p.feed("+fine\r\n:2\r\n");
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_EQ(p.error(), parse_error::invalid_integer);
  EXPECT_EQ(p.error_offset(), 6u);
  EXPECT_EQ(p.error_message(), message);
  EXPECT_FALSE(p.mid_value());
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(Resp3Parser, ResetClearsErrorStateAndOffsets) {
  parser p;
  p.feed("*2\r\n:1\r\n?");
  EXPECT_EQ(p.next(), std::nullopt);
  ASSERT_EQ(p.error(), parse_error::invalid_type_byte);
  EXPECT_EQ(p.error_offset(), 8u);

  p.reset();
  EXPECT_FALSE(p.failed());
  EXPECT_EQ(p.error(), parse_error::none);
  EXPECT_EQ(p.error_offset(), 0u);
  EXPECT_EQ(p.error_message(), "");
  p.feed("+OK\r\n");
  EXPECT_EQ(p.next(), simple("OK"));
  p.feed("#?\r\n");
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_EQ(p.error(), parse_error::invalid_boolean);
  EXPECT_EQ(p.error_offset(), 6u);  // counted from the reset, not from the first stream
}

TEST(Resp3Parser, ResetDropsAPartialValue) {
  parser p;
  p.feed("*3\r\n|1\r\n+a\r\n:1\r\n:1\r\n$10\r\nabc");
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_TRUE(p.mid_value());
  p.reset();
  EXPECT_FALSE(p.mid_value());
  EXPECT_EQ(p.buffered(), 0u);
  p.feed(":5\r\n");
  EXPECT_EQ(p.next(), num(5));  // no attribute or array left over from before the reset
}

TEST(Resp3Parser, ErrorOffsetCountsBytesAlreadyCompactedAway) {
  parser p;
  std::uint64_t fed = 0;
  for (int i = 0; i < 5000; ++i) {
    p.feed("+OK\r\n");
    fed += 5;
    ASSERT_EQ(p.next(), simple("OK"));
  }
  p.feed("$2\r\nab");
  EXPECT_EQ(p.next(), std::nullopt);
  p.feed("!!");
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_EQ(p.error(), parse_error::missing_crlf);
  EXPECT_EQ(p.error_offset(), fed + 6);
}

TEST(Resp3Parser, ErrorOffsetCountsBytesKeptAcrossCompaction) {
  // The values are pulled only after all the input is in, so the consumed prefix is still there.
  parser p;
  std::string wire;
  for (int i = 0; i < 2000; ++i) {
    wire += ":1\r\n";
  }
  wire += ":x\r\n";
  for (std::size_t i = 0; i < wire.size(); i += 7) {
    p.feed(std::string_view(wire).substr(i, 7));
    while (p.next()) {
    }
  }
  EXPECT_EQ(p.error(), parse_error::invalid_integer);
  EXPECT_EQ(p.error_offset(), 8001u);
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST(Resp3ParserLimits, DepthLimit) {
  parse_options options;
  options.limits.max_depth = 2;
  const auto ok = parse_every_split("*1\r\n*1\r\n:1\r\n", options);
  EXPECT_EQ(ok.error, parse_error::none);
  EXPECT_EQ(ok.values.size(), 1u);

  const auto deep = parse_every_split("*1\r\n*1\r\n*1\r\n:1\r\n", options);
  EXPECT_EQ(deep.error, parse_error::nesting_too_deep);
  EXPECT_EQ(deep.error_offset, 8u);

  // Attributes and empty aggregates nest too.
  EXPECT_EQ(parse_every_split("*1\r\n%1\r\n*0\r\n", options).error, parse_error::nesting_too_deep);
  EXPECT_EQ(parse_every_split("*1\r\n|1\r\n+a\r\n+b\r\n:1\r\n", options).error, parse_error::none);
  EXPECT_EQ(parse_every_split("*1\r\n|1\r\n*0\r\n+b\r\n:1\r\n", options).error,
            parse_error::nesting_too_deep);
  // A RESP2 null array is no aggregate.
  EXPECT_EQ(parse_every_split("*1\r\n*1\r\n*-1\r\n", options).error, parse_error::none);
}

TEST(Resp3ParserLimits, DefaultDepthLimit) {
  const std::size_t depth = parser_limits{}.max_depth;
  std::string ok;
  for (std::size_t i = 0; i < depth; ++i) {
    ok += "*1\r\n";
  }
  const std::string too_deep = ok + "*1\r\n:1\r\n";
  ok += ":1\r\n";
  EXPECT_EQ(parse_whole(ok).values.size(), 1u);
  const auto outcome = parse_whole(too_deep);
  EXPECT_EQ(outcome.error, parse_error::nesting_too_deep);
  EXPECT_EQ(outcome.error_offset, depth * 4);
  parser p;
  p.feed(too_deep);
  (void)p.next();
  EXPECT_EQ(p.error_message(), "Protocol error: max nesting depth exceeded");
}

TEST(Resp3ParserLimits, BulkLengthLimit) {
  parse_options options;
  options.limits.max_bulk_length = 4;
  EXPECT_EQ(parse_every_split("$4\r\nabcd\r\n", options).values.size(), 1u);
  for (const auto wire : {"$5\r\nabcde\r\n"sv, "!5\r\nERR x\r\n"sv, "=9\r\ntxt:abcde\r\n"sv}) {
    const auto outcome = parse_every_split(wire, options);
    EXPECT_EQ(outcome.error, parse_error::bulk_too_long) << wire;
    EXPECT_EQ(outcome.error_offset, 1u) << wire;
  }
  // Over the limit is reported from the header alone, before any payload arrives.
  parser p(options.limits);
  p.feed("$9223372036854775807\r\n");
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_EQ(p.error(), parse_error::bulk_too_long);
  EXPECT_EQ(p.error_message(), "Protocol error: invalid bulk length");
}

TEST(Resp3ParserLimits, DefaultBulkLengthLimitIsRedisProtoMaxBulkLen) {
  parser p;
  p.feed("$536870913\r\n");  // 512 MiB + 1
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_EQ(p.error(), parse_error::bulk_too_long);
  parser q;
  q.feed("$536870912\r\n");
  EXPECT_EQ(q.next(), std::nullopt);
  EXPECT_FALSE(q.failed());
}

TEST(Resp3ParserLimits, AggregateLengthLimit) {
  parse_options options;
  options.limits.max_aggregate_length = 2;
  EXPECT_EQ(parse_every_split("*2\r\n:1\r\n:2\r\n", options).values.size(), 1u);
  EXPECT_EQ(parse_every_split("%1\r\n:1\r\n:2\r\n", options).values.size(), 1u);
  for (const auto wire : {"*3\r\n"sv, "~3\r\n"sv, ">3\r\n"sv, "%2\r\n"sv, "|2\r\n"sv}) {
    const auto outcome = parse_every_split(wire, options);
    EXPECT_EQ(outcome.error, parse_error::aggregate_too_long) << wire;
    EXPECT_EQ(outcome.error_offset, 1u) << wire;
  }
  parser p;
  p.feed("*9223372036854775807\r\n");
  EXPECT_EQ(p.next(), std::nullopt);
  EXPECT_EQ(p.error(), parse_error::aggregate_too_long);
  EXPECT_EQ(p.error_message(), "Protocol error: invalid multibulk length");
}

TEST(Resp3ParserLimits, InlineLengthLimit) {
  parse_options options;
  options.limits.max_inline_length = 8;
  options.inline_commands = inline_mode::accepted;
  // Exactly at the limit, with either line ending.
  EXPECT_EQ(parse_every_split("PINGPONG\r\n", options).values.size(), 1u);
  EXPECT_EQ(parse_every_split("PINGPONG\n", options).values.size(), 1u);
  for (const auto wire :
       {"PING PONG\r\n"sv, "PINGPONGX\n"sv, "AAAAAAAAAAAAAAAA"sv, "PINGPONG\rX"sv}) {
    const auto outcome = parse_every_split(wire, options);
    EXPECT_EQ(outcome.error, parse_error::inline_too_long) << wire;
    EXPECT_EQ(outcome.error_offset, 8u) << wire;
  }
  // Only 9 bytes without a newline: the 9th may still be the CR of a line at the limit.
  EXPECT_EQ(parse_every_split("PINGPONG\r", options).error, parse_error::none);
  // A second, too long line after a good one.
  const auto second = parse_every_split("PING\r\nTOOLONGLINE\r\n", options);
  EXPECT_EQ(second.values.size(), 1u);
  EXPECT_EQ(second.error, parse_error::inline_too_long);
  EXPECT_EQ(second.error_offset, 14u);
  parser p(options.limits, options.inline_commands);
  p.feed("TOOLONGLINE\r\n");
  (void)p.next();
  EXPECT_EQ(p.error_message(), "Protocol error: too big inline request");
}

// ---------------------------------------------------------------------------------------------
// Inline commands

auto inline_options() -> parse_options {
  parse_options o;
  o.inline_commands = inline_mode::accepted;
  return o;
}

auto command(std::vector<std::string> args) -> value {
  std::vector<value> items;
  for (auto& a : args) {
    items.push_back(bulk(std::move(a)));
  }
  return value::array_of(std::move(items));
}

struct inline_case {
  std::string_view name;
  std::string_view wire;
  std::vector<std::string> args;
};

auto PrintTo(const inline_case& c, std::ostream* os) -> void { *os << c.name; }

class Resp3ParserInline : public ::testing::TestWithParam<inline_case> {};

TEST_P(Resp3ParserInline, SplitsLikeSdssplitargs) {
  const auto& c = GetParam();
  const auto outcome = parse_every_split(c.wire, inline_options());
  EXPECT_EQ(outcome.error, parse_error::none) << schsim::resp3::to_string(outcome.error);
  ASSERT_EQ(outcome.values.size(), 1u);
  EXPECT_EQ(outcome.values[0], command(c.args));
  EXPECT_EQ(outcome.buffered, 0u);
}

const inline_case inline_cases[] = {
    {"ping_crlf", "PING\r\n", {"PING"}},
    {"ping_lf", "PING\n", {"PING"}},
    {"three_words", "SET key value\r\n", {"SET", "key", "value"}},
    {"extra_blanks", "  SET   key\tvalue  \r\n", {"SET", "key", "value"}},
    {"double_quotes", "SET k \"hello world\"\r\n", {"SET", "k", "hello world"}},
    {"single_quotes", "SET k 'hello world'\r\n", {"SET", "k", "hello world"}},
    {"double_quote_escapes",
     "SET k \"a\\x41\\n\\r\\t\\\"b\\\\\"\r\n",
     {"SET", "k", "aA\n\r\t\"b\\"}},
    {"control_escapes", "ECHO \"\\a\\b\\q\"\r\n", {"ECHO", "\a\bq"}},
    {"bad_hex_escape_is_literal", "ECHO \"\\xZZ\"\r\n", {"ECHO", "xZZ"}},
    {"single_quote_escape", "ECHO 'it\\'s'\r\n", {"ECHO", "it's"}},
    {"single_quote_keeps_backslash", "ECHO 'a\\nb'\r\n", {"ECHO", "a\\nb"}},
    {"empty_quoted", "ECHO \"\" ''\r\n", {"ECHO", "", ""}},
    {"quote_inside_word", "ECHO a\"b c\"\r\n", {"ECHO", "ab c"}},
    {"quote_at_end_of_line", "ECHO \"x\"\n", {"ECHO", "x"}},
    {"nul_ends_the_line", "GET a\0b c\r\n"sv, {"GET", "a"}},
    {"leading_empty_lines", "\r\n\n\r\nPING\r\n", {"PING"}},
};

INSTANTIATE_TEST_SUITE_P(Commands, Resp3ParserInline, ::testing::ValuesIn(inline_cases),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(Resp3ParserInlineErrors, UnbalancedQuotes) {
  for (const auto wire : {"SET k \"foo\r\n"sv, "SET k 'foo\r\n"sv, "SET k \"foo\"bar\r\n"sv,
                          "SET k 'foo'bar\r\n"sv, "SET k \"foo\\\"\r\n"sv}) {
    const auto outcome = parse_every_split(wire, inline_options());
    EXPECT_EQ(outcome.error, parse_error::unbalanced_quotes) << wire;
    EXPECT_EQ(outcome.error_offset, 0u) << wire;
  }
  const auto later = parse_every_split("PING\r\nSET \"x\r\n", inline_options());
  EXPECT_EQ(later.values.size(), 1u);
  EXPECT_EQ(later.error, parse_error::unbalanced_quotes);
  EXPECT_EQ(later.error_offset, 6u);
  parser p({}, inline_mode::accepted);
  p.feed("SET \"x\r\n");
  (void)p.next();
  EXPECT_EQ(p.error_message(), "Protocol error: unbalanced quotes in request");
}

TEST(Resp3ParserInline, EmptyLinesAreSkippedWithoutAValue) {
  const auto outcome = parse_every_split("\r\n\n \r\n", inline_options());
  EXPECT_EQ(outcome.error, parse_error::none);
  EXPECT_TRUE(outcome.values.empty());
  EXPECT_EQ(outcome.buffered, 0u);
}

TEST(Resp3ParserInline, MixesWithMultibulkCommands) {
  const auto outcome = parse_every_split("PING\r\n*1\r\n$4\r\nPING\r\nECHO hi\n", inline_options());
  const std::vector<value> expected{command({"PING"}), command({"PING"}), command({"ECHO", "hi"})};
  EXPECT_EQ(outcome.values, expected);
}

TEST(Resp3ParserInline, OnlyAtTopLevel) {
  const auto outcome = parse_every_split("*1\r\nPING\r\n", inline_options());
  EXPECT_EQ(outcome.error, parse_error::invalid_type_byte);
  EXPECT_EQ(outcome.error_offset, 4u);
}

TEST(Resp3ParserInline, RejectedByDefault) {
  const auto outcome = parse_every_split("PING\r\n");
  EXPECT_EQ(outcome.error, parse_error::invalid_type_byte);
  EXPECT_EQ(outcome.error_offset, 0u);
}

// ---------------------------------------------------------------------------------------------
// Incremental parsing: large frames fed in tiny pieces finish in linear time. A parser that
// re-parsed from the frame start on every feed would need hours for these sizes.

TEST(Resp3ParserIncremental, LargeBulkFedByteByByte) {
  constexpr std::size_t size = 1 << 20;
  const std::string payload(size, 'x');
  const std::string wire = "$" + std::to_string(size) + "\r\n" + payload + "\r\n";
  parser p;
  std::optional<value> got;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    p.feed(std::string_view(wire).substr(i, 1));
    got = p.next();
    if (i + 1 < wire.size()) {
      ASSERT_FALSE(got.has_value()) << i;
    }
  }
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text.size(), size);
  EXPECT_EQ(got->text, payload);
}

TEST(Resp3ParserIncremental, LargeArrayFedByteByByte) {
  constexpr int count = 100000;
  std::string wire = ">" + std::to_string(count) + "\r\n";
  for (int i = 0; i < count; ++i) {
    wire += ":" + std::to_string(i) + "\r\n";
  }
  parser p;
  std::optional<value> got;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    p.feed(std::string_view(wire).substr(i, 1));
    got = p.next();
    if (i + 1 < wire.size()) {
      ASSERT_FALSE(got.has_value()) << i;
    }
  }
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->elements.size(), static_cast<std::size_t>(count));
  EXPECT_EQ(got->elements.back(), num(count - 1));
}

TEST(Resp3ParserIncremental, LongSimpleStringFedByteByByte) {
  const std::string text(200000, 'y');
  const std::string wire = "+" + text + "\r\n";
  parser_limits limits;
  limits.max_line_length = wire.size();  // this test is about rescanning, not the line limit
  parser p(limits);
  std::optional<value> got;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    p.feed(std::string_view(wire).substr(i, 1));
    got = p.next();
  }
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->text, text);
}

TEST(Resp3ParserIncremental, ManyValuesInChunksAcrossCompaction) {
  std::string wire;
  std::vector<value> expected;
  for (int i = 0; i < 3000; ++i) {
    wire += "*2\r\n$5\r\nhello\r\n:" + std::to_string(i) + "\r\n";
    expected.push_back(value::array_of({bulk("hello"), num(i)}));
  }
  for (const std::size_t chunk : {1u, 3u, 7u, 100u, 4096u, 5000u}) {
    parser p;
    std::vector<value> got;
    for (std::size_t i = 0; i < wire.size(); i += chunk) {
      p.feed(std::string_view(wire).substr(i, chunk));
      while (auto v = p.next()) {
        got.push_back(std::move(*v));
      }
    }
    EXPECT_EQ(got, expected) << "chunk " << chunk;
    EXPECT_EQ(p.buffered(), 0u);
  }
}

}  // namespace

TEST(Resp3ParserLimits, LineLengthLimit) {
  parse_options options;
  options.limits.max_line_length = 8;
  // "+1234567" is 8 bytes counted from the type byte: accepted.
  EXPECT_EQ(parse_every_split("+1234567\r\n", options).values.size(), 1u);
  // A line that never ends must not grow the buffer forever: it fails once past the limit,
  // whether or not its CR ever arrives.
  for (const auto wire : {"+12345678\r\n"sv, "+123456789012345"sv, "*123456789\r\n"sv}) {
    const auto outcome = parse_every_split(wire, options);
    EXPECT_EQ(outcome.error, parse_error::line_too_long) << wire;
    EXPECT_EQ(outcome.error_offset, 8u) << wire;
  }
  // Nested: the limit applies to each line, counted from its own type byte.
  const auto nested = parse_every_split("*1\r\n-ERR too long\r\n", options);
  EXPECT_EQ(nested.error, parse_error::line_too_long);
  EXPECT_EQ(nested.error_offset, 12u);
}

// ---------------------------------------------------------------------------------------------
// next_request(): commands as views into the buffer, everything else through next().

namespace {

using request_form = parser::request_form;

/// What a run of next_request() produced, with each command's views copied into a value so it
/// compares with next()'s results.
struct request_outcome {
  schsim::test::parse_outcome outcome;
  std::size_t as_views = 0;  // how many values came as views
};

auto requests_of_chunks(std::span<const std::string_view> chunks, const parse_options& options)
    -> request_outcome {
  parser p(options.limits, options.inline_commands);
  request_outcome r;
  std::vector<std::string_view> args;
  std::optional<value> fallback;
  for (const auto chunk : chunks) {
    p.feed(chunk);
    for (;;) {
      const request_form form = p.next_request(args, fallback);
      if (form == request_form::none) {
        EXPECT_TRUE(args.empty());
        EXPECT_FALSE(fallback.has_value());
        break;
      }
      if (form == request_form::views) {
        EXPECT_FALSE(fallback.has_value());
        std::vector<value> items;
        for (const auto a : args) {
          items.push_back(bulk(std::string(a)));
        }
        r.outcome.values.push_back(value::array_of(std::move(items)));
        ++r.as_views;
      } else {
        EXPECT_TRUE(args.empty());
        r.outcome.values.push_back(std::move(*fallback));
      }
    }
  }
  r.outcome.error = p.error();
  r.outcome.error_offset = p.error_offset();
  r.outcome.buffered = p.buffered();
  return r;
}

/// next_request() on `wire` in one feed, split in two at every offset, and byte by byte: each
/// must equal next() on the whole input. Returns the one-feed run.
auto requests_at_every_split(std::string_view wire, const parse_options& options = {})
    -> request_outcome {
  const std::array whole_chunks{wire};
  const request_outcome whole = requests_of_chunks(whole_chunks, options);
  EXPECT_EQ(whole.outcome, parse_whole(wire, options)) << "one feed";
  for (std::size_t i = 0; i <= wire.size(); ++i) {
    const std::array two{wire.substr(0, i), wire.substr(i)};
    EXPECT_EQ(requests_of_chunks(two, options).outcome, whole.outcome) << "split at " << i;
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    bytes.push_back(wire.substr(i, 1));
  }
  EXPECT_EQ(requests_of_chunks(bytes, options).outcome, whole.outcome) << "byte by byte";
  return whole;
}

}  // namespace

TEST(Resp3ParserRequest, CompleteCommandsComeAsViewsIntoTheBuffer) {
  parser p;
  p.feed("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n"sv);
  std::vector<std::string_view> args;
  std::optional<value> fallback;
  ASSERT_EQ(p.next_request(args, fallback), request_form::views);
  EXPECT_EQ(args, (std::vector<std::string_view>{"SET", "key", "value"}));
  EXPECT_EQ(p.buffered(), 14u);  // the PING command is still waiting
  ASSERT_EQ(p.next_request(args, fallback), request_form::views);
  EXPECT_EQ(args, (std::vector<std::string_view>{"PING"}));
  EXPECT_EQ(p.buffered(), 0u);
  EXPECT_FALSE(p.mid_value());
  EXPECT_EQ(p.next_request(args, fallback), request_form::none);
  EXPECT_FALSE(p.failed());
}

TEST(Resp3ParserRequest, PipelinedCommandsMatchNextAtEverySplit) {
  constexpr auto wire =
      "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000012345\r\n$3\r\nxxx\r\n"
      "*2\r\n$3\r\nGET\r\n$16\r\nkey:000000012345\r\n"
      "*2\r\n$4\r\nINCR\r\n$0\r\n\r\n"sv;
  const auto r = requests_at_every_split(wire);
  EXPECT_EQ(r.outcome.error, parse_error::none);
  EXPECT_EQ(r.as_views, 3u);
  EXPECT_EQ(
      r.outcome.values,
      (std::vector<value>{value::array_of({bulk("SET"), bulk("key:000000012345"), bulk("xxx")}),
                          value::array_of({bulk("GET"), bulk("key:000000012345")}),
                          value::array_of({bulk("INCR"), bulk("")})}));
}

TEST(Resp3ParserRequest, BinaryPayloadsWithCrlfAndNulAreExact) {
  const auto r = requests_at_every_split("*2\r\n$4\r\nECHO\r\n$6\r\na\r\nb\0c\r\n"sv);
  EXPECT_EQ(r.as_views, 1u);
  ASSERT_EQ(r.outcome.values.size(), 1u);
  EXPECT_EQ(r.outcome.values[0],
            value::array_of({bulk("ECHO"), bulk(std::string("a\r\nb\0c", 6))}));
}

TEST(Resp3ParserRequest, OtherRequestsGoThroughNext) {
  parse_options inline_ok;
  inline_ok.inline_commands = inline_mode::accepted;
  // An inline command, an empty array, a null, an integer element, a nested array, a null bulk
  // element and an attribute before a command: all values, none as views.
  constexpr auto wire =
      "PING hello\r\n*0\r\n*-1\r\n*2\r\n$3\r\nGET\r\n:1\r\n*1\r\n*1\r\n$1\r\na\r\n"
      "*2\r\n$3\r\nGET\r\n$-1\r\n|1\r\n+k\r\n+v\r\n*1\r\n$4\r\nPING\r\n"sv;
  const auto r = requests_at_every_split(wire, inline_ok);
  EXPECT_EQ(r.outcome.error, parse_error::none);
  EXPECT_EQ(r.as_views, 0u);
  EXPECT_EQ(r.outcome.values.size(), 7u);
  // A plain command after them is a view again.
  std::string more(wire);
  more += "*1\r\n$4\r\nPING\r\n";
  EXPECT_EQ(requests_at_every_split(more, inline_ok).as_views, 1u);
}

TEST(Resp3ParserRequest, PartialCommandIsNoErrorAndKeepsItsBytes) {
  for (const auto wire : {"*2\r\n$3\r\nGET\r\n$1\r\n"sv, "*2\r\n$3\r\nGET\r\n$1\r\nk\r"sv,
                          "*2\r\n$3\r\nGE"sv, "*2\r"sv, "*"sv}) {
    const auto r = requests_at_every_split(wire);
    EXPECT_EQ(r.outcome.error, parse_error::none) << wire;
    EXPECT_TRUE(r.outcome.values.empty()) << wire;
    EXPECT_EQ(r.outcome.buffered, wire.size()) << wire;
  }
  // The rest arrives: the command comes out whole (through next(), which kept its work).
  parser p;
  std::vector<std::string_view> args;
  std::optional<value> fallback;
  p.feed("*2\r\n$3\r\nGET\r\n$1\r\n");
  EXPECT_EQ(p.next_request(args, fallback), request_form::none);
  p.feed("k\r\n");
  ASSERT_EQ(p.next_request(args, fallback), request_form::value);
  EXPECT_EQ(*fallback, value::array_of({bulk("GET"), bulk("k")}));
}

TEST(Resp3ParserRequest, ErrorsKeepNextsKindAndOffsetAtEverySplit) {
  struct error_request {
    std::string_view wire;
    parse_error error;
    std::uint64_t offset;
  };
  const error_request cases[] = {
      {"*1\r\n$3\r\nGETX\r\n", parse_error::missing_crlf, 11},
      {"*1\r\n$3\r\nGET\rX", parse_error::missing_crlf, 12},
      {"*1\r\n$03\r\nGET\r\n", parse_error::invalid_length, 5},
      {"*1\r\n$-2\r\n", parse_error::invalid_length, 5},
      {"*x\r\n$3\r\nGET\r\n", parse_error::invalid_length, 1},
      {"*1\r\n$3\rX", parse_error::missing_crlf, 7},
      {"*1\r\n+OK\r\n*1\r\n?\r\n", parse_error::invalid_type_byte, 13},
      // A good command, then a broken one: the first still comes out (as views).
      {"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPINGxx", parse_error::missing_crlf, 26},
  };
  for (const auto& c : cases) {
    const auto r = requests_at_every_split(c.wire);
    EXPECT_EQ(r.outcome.error, c.error) << c.wire;
    EXPECT_EQ(r.outcome.error_offset, c.offset) << c.wire;
  }
}

TEST(Resp3ParserRequest, LimitsAreThoseOfNext) {
  parse_options small;
  small.limits.max_bulk_length = 4;
  small.limits.max_aggregate_length = 2;
  small.limits.max_line_length = 8;
  // At the limits: still views.
  EXPECT_EQ(requests_at_every_split("*2\r\n$4\r\nPING\r\n$4\r\nabcd\r\n", small).as_views, 1u);
  const error_case over[] = {
      {"bulk", "*1\r\n$5\r\nhello\r\n", parse_error::bulk_too_long, 5},
      {"aggregate", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", parse_error::aggregate_too_long, 1},
      {"array_line", "*00000001\r\n$1\r\na\r\n", parse_error::line_too_long, 8},
      {"bulk_line", "*1\r\n$000000001\r\na\r\n", parse_error::line_too_long, 12},
  };
  for (const auto& c : over) {
    const auto r = requests_at_every_split(c.wire, small);
    EXPECT_EQ(r.outcome.error, c.error) << c.name;
    EXPECT_EQ(r.outcome.error_offset, c.offset) << c.name;
    EXPECT_TRUE(r.outcome.values.empty()) << c.name;
  }
  // A depth limit of 0 refuses even a top-level array.
  parse_options flat;
  flat.limits.max_depth = 0;
  const auto r = requests_at_every_split("*1\r\n$4\r\nPING\r\n", flat);
  EXPECT_EQ(r.outcome.error, parse_error::nesting_too_deep);
  EXPECT_EQ(r.outcome.error_offset, 0u);
}

TEST(Resp3ParserRequest, ManyCommandsInChunksAcrossCompaction) {
  std::string wire;
  std::vector<value> expected;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "key:" + std::to_string(i);
    wire += "*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
    expected.push_back(value::array_of({bulk("GET"), bulk(key)}));
  }
  for (const std::size_t chunk : {1u, 7u, 100u, 4096u, 5000u}) {
    std::vector<std::string_view> chunks;
    for (std::size_t i = 0; i < wire.size(); i += chunk) {
      chunks.push_back(std::string_view(wire).substr(i, chunk));
    }
    const auto r = requests_of_chunks(chunks, {});
    EXPECT_EQ(r.outcome.values, expected) << "chunk " << chunk;
    EXPECT_EQ(r.outcome.buffered, 0u);
    if (chunk >= 4096) {
      EXPECT_GT(r.as_views, 2900u) << "chunk " << chunk;  // only frames cut by a chunk are not
    }
  }
}
}  // namespace resp3_parser_test
