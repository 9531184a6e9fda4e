#pragma once

#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/resp3/value.hpp>

#include <gtest/gtest.h>

#include <string_view>

namespace schsim::refclient::test {

/// The one value in literal RESP3 bytes. Tests write replies and pushes as wire bytes, never
/// through schsim's serializer, so a bug shared by both sides of the codec cannot hide (E5).
inline auto from_wire(std::string_view bytes) -> resp3::value {
  resp3::parser p;
  p.feed(bytes);
  auto v = p.next();
  EXPECT_TRUE(v.has_value()) << "incomplete or invalid RESP3: " << bytes;
  EXPECT_FALSE(p.next().has_value()) << "more than one value in: " << bytes;
  return v.value_or(resp3::value{});
}

}  // namespace schsim::refclient::test

#include <schsim/core/maint/codec.hpp>

namespace schsim::refclient::test {

/// The notification in literal push bytes, decoded by core's codec as the client does it.
inline auto notification_from_wire(std::string_view bytes) -> maint::notification {
  const auto decoded = maint::decode(from_wire(bytes));
  EXPECT_TRUE(decoded.has_value()) << "not a maintenance push: " << bytes;
  if (!decoded) return maint::moving{};
  EXPECT_TRUE(std::holds_alternative<maint::notification>(*decoded)) << "malformed: " << bytes;
  if (!std::holds_alternative<maint::notification>(*decoded)) return maint::moving{};
  return std::get<maint::notification>(*decoded);
}

}  // namespace schsim::refclient::test
