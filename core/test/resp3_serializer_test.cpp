#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/resp3/serializer.hpp>

#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "support/values.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace resp3_serializer_test {
namespace {

using schsim::test::num;
using schsim::test::with_attributes;

using schsim::resp3::protocol;
using schsim::resp3::serialize;
using schsim::resp3::value;
using std::string_view_literals::operator""sv;

constexpr double inf = std::numeric_limits<double>::infinity();

struct serializer_case {
  std::string_view name;
  value v;
  std::string_view resp3;
  std::string_view resp2;
};

auto PrintTo(const serializer_case& c, std::ostream* os) -> void { *os << c.name; }

auto spelled_double(double d, std::string text) -> value {
  value v = value::double_of(d);
  v.text = std::move(text);
  return v;
}

class Resp3Serializer : public ::testing::TestWithParam<serializer_case> {};

TEST_P(Resp3Serializer, WritesTheLiteralBytes) {
  const auto& c = GetParam();
  EXPECT_EQ(serialize(c.v), c.resp3);
  EXPECT_EQ(serialize(c.v, protocol::resp3), c.resp3);
  EXPECT_EQ(serialize(c.v, protocol::resp2), c.resp2);
}

TEST_P(Resp3Serializer, AppendsToExistingOutput) {
  const auto& c = GetParam();
  std::string out = "prefix";
  serialize(c.v, out, protocol::resp3);
  EXPECT_EQ(out, "prefix" + std::string(c.resp3));
}

// The RESP3 bytes read back to the same value (the RESP2 ones lose types by design).
TEST_P(Resp3Serializer, Resp3BytesParseBack) {
  const auto& c = GetParam();
  schsim::resp3::parser p;
  p.feed(c.resp3);
  const auto back = p.next();
  ASSERT_TRUE(back.has_value()) << schsim::resp3::to_string(p.error());
  if (c.v.kind == schsim::resp3::type::simple_string && c.v.text.find('\n') != std::string::npos) {
    return;  // sanitized on purpose
  }
  EXPECT_EQ(*back, c.v);
}

const serializer_case serializer_cases[] = {
    {"simple_string", value::simple("OK"), "+OK\r\n", "+OK\r\n"},
    {"simple_string_crlf_becomes_space", value::simple("a\r\nb"), "+a  b\r\n", "+a  b\r\n"},
    {"simple_error", value::error("ERR unknown"), "-ERR unknown\r\n", "-ERR unknown\r\n"},
    {"integer", num(-5), ":-5\r\n", ":-5\r\n"},
    {"int64_min", num(std::numeric_limits<std::int64_t>::min()), ":-9223372036854775808\r\n",
     ":-9223372036854775808\r\n"},
    {"bulk_string", value::bulk("hello"), "$5\r\nhello\r\n", "$5\r\nhello\r\n"},
    {"empty_bulk_string", value::bulk(""), "$0\r\n\r\n", "$0\r\n\r\n"},
    {"binary_bulk_string", value::bulk(std::string("a\r\n\0", 4)), "$4\r\na\r\n\0\r\n"sv,
     "$4\r\na\r\n\0\r\n"sv},
    {"null", value::nil(), "_\r\n", "$-1\r\n"},
    {"true", value::boolean_of(true), "#t\r\n", ":1\r\n"},
    {"false", value::boolean_of(false), "#f\r\n", ":0\r\n"},
    {"double", value::double_of(1.5), ",1.5\r\n", "$3\r\n1.5\r\n"},
    {"double_integral", value::double_of(10), ",10\r\n", "$2\r\n10\r\n"},
    {"double_negative", value::double_of(-0.25), ",-0.25\r\n", "$5\r\n-0.25\r\n"},
    {"inf", value::double_of(inf), ",inf\r\n", "$3\r\ninf\r\n"},
    {"minus_inf", value::double_of(-inf), ",-inf\r\n", "$4\r\n-inf\r\n"},
    {"nan", value::double_of(std::numeric_limits<double>::quiet_NaN()), ",nan\r\n",
     "$3\r\nnan\r\n"},
    {"double_keeps_wire_text", spelled_double(1.5, "1.50"), ",1.50\r\n", "$4\r\n1.50\r\n"},
    {"big_number", value::big("12345678901234567890"), "(12345678901234567890\r\n",
     "$20\r\n12345678901234567890\r\n"},
    {"bulk_error", value::bulk_error("ERR oops!"), "!9\r\nERR oops!\r\n", "-ERR oops!\r\n"},
    {"verbatim", value::verbatim("txt", "Some string"), "=15\r\ntxt:Some string\r\n",
     "$11\r\nSome string\r\n"},
    {"empty_array", value::array_of({}), "*0\r\n", "*0\r\n"},
    {"array", value::array_of({num(1), value::bulk("foo"), value::nil()}),
     "*3\r\n:1\r\n$3\r\nfoo\r\n_\r\n", "*3\r\n:1\r\n$3\r\nfoo\r\n$-1\r\n"},
    {"map", value::map_of({value::simple("first"), num(1), value::simple("second"), num(2)}),
     "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", "*4\r\n+first\r\n:1\r\n+second\r\n:2\r\n"},
    {"set", value::set_of({value::simple("a"), value::simple("b")}), "~2\r\n+a\r\n+b\r\n",
     "*2\r\n+a\r\n+b\r\n"},
    {"push", value::push_of({value::bulk("MOVING"), num(1), num(15), value::bulk("10.0.0.2:6379")}),
     ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$13\r\n10.0.0.2:6379\r\n",
     "*4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$13\r\n10.0.0.2:6379\r\n"},
    {"nested", value::map_of({value::simple("k"), value::set_of({value::boolean_of(true)})}),
     "%1\r\n+k\r\n~1\r\n#t\r\n", "*2\r\n+k\r\n*1\r\n:1\r\n"},
    {"attribute", with_attributes(value::bulk("foo"), {value::simple("ttl"), num(5)}),
     "|1\r\n+ttl\r\n:5\r\n$3\r\nfoo\r\n", "$3\r\nfoo\r\n"},
    {"attribute_on_child",
     value::array_of({with_attributes(num(1), {value::simple("a"), value::nil()})}),
     "*1\r\n|1\r\n+a\r\n_\r\n:1\r\n", "*1\r\n:1\r\n"},
};

INSTANTIATE_TEST_SUITE_P(AllTypes, Resp3Serializer, ::testing::ValuesIn(serializer_cases),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST(Resp3SerializerCommand, ClientMaintNotifications) {
  std::string out;
  schsim::resp3::append_command(
      out, {"CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", "external-ip"});
  EXPECT_EQ(out,
            "*5\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n"
            "$20\r\nmoving-endpoint-type\r\n$11\r\nexternal-ip\r\n");
}

TEST(Resp3SerializerCommand, SpanAndAppend) {
  const std::array<std::string_view, 2> args{"GET", "k"};
  std::string out = "*1\r\n$4\r\nPING\r\n";
  schsim::resp3::append_command(out, std::span<const std::string_view>(args));
  EXPECT_EQ(out, "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
}

TEST(Resp3SerializerCommand, EncodeCommand) {
  EXPECT_EQ(schsim::resp3::encode_command({"PING"}), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(schsim::resp3::encode_command({"SET", "", "a b"}),
            "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$3\r\na b\r\n");
  EXPECT_EQ(schsim::resp3::encode_command({}), "*0\r\n");
}

}  // namespace
}  // namespace resp3_serializer_test
