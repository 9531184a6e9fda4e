#include <schsim/core/resp3/value.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <sstream>
#include <string>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace resp3_value_test {
namespace {

using schsim::resp3::type;
using schsim::resp3::value;

TEST(Resp3Value, FactoriesSetKindAndPayload) {
  EXPECT_EQ(value::simple("OK").kind, type::simple_string);
  EXPECT_EQ(value::simple("OK").text, "OK");
  EXPECT_EQ(value::error("ERR x").kind, type::simple_error);
  EXPECT_EQ(value::bulk("b").kind, type::bulk_string);
  EXPECT_EQ(value::bulk_error("E").kind, type::bulk_error);
  EXPECT_EQ(value::number_of(-3).integer, -3);
  EXPECT_EQ(value::number_of(-3).kind, type::integer);
  EXPECT_EQ(value::double_of(2.5).number, 2.5);
  EXPECT_EQ(value::double_of(2.5).kind, type::double_number);
  EXPECT_TRUE(value::boolean_of(true).boolean);
  EXPECT_EQ(value::nil().kind, type::null);
  const auto v = value::verbatim("mkd", "# hi");
  EXPECT_EQ(v.kind, type::verbatim_string);
  EXPECT_EQ(v.verbatim_format, "mkd");
  EXPECT_EQ(v.text, "# hi");
  EXPECT_EQ(value::big("123").kind, type::big_number);
  EXPECT_EQ(value::array_of({value::nil()}).elements.size(), 1u);
  EXPECT_EQ(value::set_of({}).kind, type::set);
  EXPECT_EQ(value::push_of({}).kind, type::push);
  EXPECT_EQ(value::map_of({value::nil(), value::nil()}).kind, type::map);
}

TEST(Resp3Value, Classification) {
  EXPECT_TRUE(value::simple("").is_string());
  EXPECT_TRUE(value::bulk("").is_string());
  EXPECT_TRUE(value::verbatim("txt", "").is_string());
  EXPECT_FALSE(value::error("").is_string());
  EXPECT_FALSE(value::big("1").is_string());
  EXPECT_TRUE(value::error("").is_error());
  EXPECT_TRUE(value::bulk_error("").is_error());
  EXPECT_FALSE(value::simple("").is_error());

  for (const auto t : {type::simple_string, type::simple_error, type::bulk_string, type::bulk_error,
                       type::verbatim_string, type::big_number}) {
    EXPECT_TRUE(schsim::resp3::holds_text(t)) << t;
  }
  for (const auto t :
       {type::integer, type::double_number, type::null, type::boolean, type::array}) {
    EXPECT_FALSE(schsim::resp3::holds_text(t)) << t;
  }
  for (const auto t : {type::array, type::set, type::push, type::map, type::attribute}) {
    EXPECT_TRUE(schsim::resp3::is_aggregate(t)) << t;
  }
  for (const auto t : {type::bulk_string, type::null, type::integer}) {
    EXPECT_FALSE(schsim::resp3::is_aggregate(t)) << t;
  }
}

TEST(Resp3Value, TypeNamesAndWireBytes) {
  EXPECT_EQ(schsim::resp3::to_string(type::push), "push");
  EXPECT_EQ(schsim::resp3::to_string(type::double_number), "double_number");
  EXPECT_EQ(static_cast<char>(type::verbatim_string), '=');
  std::ostringstream os;
  os << type::attribute;
  EXPECT_EQ(os.str(), "attribute");
}

TEST(Resp3Value, EqualityComparesThePayloadOfTheKind) {
  EXPECT_EQ(value::bulk("a"), value::bulk("a"));
  EXPECT_NE(value::bulk("a"), value::bulk("b"));
  EXPECT_NE(value::bulk("a"), value::simple("a"));
  EXPECT_NE(value::number_of(1), value::number_of(2));
  EXPECT_NE(value::boolean_of(true), value::boolean_of(false));
  EXPECT_NE(value::verbatim("txt", "a"), value::verbatim("mkd", "a"));
  // Fields that do not belong to the kind are ignored.
  value stray = value::number_of(1);
  stray.text = "junk";
  EXPECT_EQ(stray, value::number_of(1));
  // A double is its number, not its spelling; NaN equals NaN.
  value spelled = value::double_of(1.5);
  spelled.text = "1.50";
  EXPECT_EQ(spelled, value::double_of(1.5));
  EXPECT_EQ(value::double_of(std::numeric_limits<double>::quiet_NaN()),
            value::double_of(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_NE(value::double_of(std::numeric_limits<double>::quiet_NaN()), value::double_of(0));
  // Aggregates compare element-wise and in order; attributes count.
  EXPECT_EQ(value::array_of({value::number_of(1)}), value::array_of({value::number_of(1)}));
  EXPECT_NE(value::array_of({value::number_of(1)}), value::set_of({value::number_of(1)}));
  EXPECT_NE(value::map_of({value::simple("a"), value::nil(), value::simple("b"), value::nil()}),
            value::map_of({value::simple("b"), value::nil(), value::simple("a"), value::nil()}));
  value with_attr = value::number_of(1);
  with_attr.attributes = {value::simple("ttl"), value::number_of(3)};
  EXPECT_NE(with_attr, value::number_of(1));
}

TEST(Resp3Value, DebugString) {
  const auto moving = value::push_of(
      {value::bulk("MOVING"), value::number_of(1), value::number_of(15), value::nil()});
  EXPECT_EQ(to_debug_string(moving), ">[$\"MOVING\", :1, :15, _]");
  EXPECT_EQ(to_debug_string(value::simple("OK")), "+\"OK\"");
  EXPECT_EQ(to_debug_string(value::error("ERR x")), "-\"ERR x\"");
  EXPECT_EQ(to_debug_string(value::bulk("a\"b\\\r\n\x01")), "$\"a\\\"b\\\\\\r\\n\\x01\"");
  EXPECT_EQ(to_debug_string(value::boolean_of(false)), "#f");
  EXPECT_EQ(to_debug_string(value::double_of(1.5)), ",1.5");
  EXPECT_EQ(to_debug_string(value::double_of(-std::numeric_limits<double>::infinity())), ",-inf");
  EXPECT_EQ(to_debug_string(value::big("-12")), "(-12");
  EXPECT_EQ(to_debug_string(value::verbatim("txt", "hi")), "=\"txt:hi\"");
  EXPECT_EQ(to_debug_string(value::map_of({value::simple("k"), value::number_of(1)})),
            "%{+\"k\": :1}");
  EXPECT_EQ(to_debug_string(value::set_of({})), "~[]");
  value with_attr = value::number_of(7);
  with_attr.attributes = {value::simple("ttl"), value::number_of(3)};
  EXPECT_EQ(to_debug_string(with_attr), "|{+\"ttl\": :3} :7");
  std::ostringstream os;
  os << value::nil();
  EXPECT_EQ(os.str(), "_");
}

TEST(Resp3Value, DebugStringCutsLongPayloads) {
  const auto s = to_debug_string(value::bulk(std::string(1000, 'a')));
  EXPECT_LT(s.size(), 300u);
  EXPECT_NE(s.find("(1000 bytes)"), std::string::npos);
}

}  // namespace
}  // namespace resp3_value_test
