#include <schsim/simulator/upstream.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace upstream_test {
namespace {

using schsim::simulator::encode_command;
using schsim::simulator::proxy_route;
using schsim::simulator::route_command;
using schsim::simulator::upstream_frames;

auto route(std::vector<std::string_view> args) { return route_command(args); }

TEST(ProxyRoute, TheHandshakeIsSchsimsAndDataGoesUpstream) {
  EXPECT_EQ(route({"CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", "none"}).route,
            proxy_route::local);
  EXPECT_EQ(route({"client", "setinfo", "LIB-NAME", "x"}).route, proxy_route::local);
  EXPECT_EQ(route({"CLIENT", "SETNAME", "a"}).route, proxy_route::local);
  EXPECT_EQ(route({"AUTH", "default", "pw"}).route, proxy_route::local);
  EXPECT_EQ(route({"quit"}).route, proxy_route::local);
  EXPECT_EQ(route({"SET", "k", "v"}).route, proxy_route::upstream);
  EXPECT_EQ(route({"GET", "k"}).route, proxy_route::upstream);
  EXPECT_EQ(route({"SELECT", "2"}).route, proxy_route::upstream);
  EXPECT_EQ(route({"SUBSCRIBE", "ch"}).route, proxy_route::upstream);
  // Connection settings the upstream must apply itself (its invalidation pushes, its replies).
  EXPECT_EQ(route({"CLIENT", "TRACKING", "ON"}).route, proxy_route::upstream);
  EXPECT_EQ(route({"CLIENT", "REPLY", "ON"}).route, proxy_route::upstream);
  EXPECT_EQ(route({"CLIENT"}).route, proxy_route::upstream);
}

TEST(ProxyRoute, HelloGoesUpstreamWithTheProtocolOnly) {
  const auto d = route({"hello", "3", "AUTH", "default", "secret", "SETNAME", "n"});
  EXPECT_EQ(d.route, proxy_route::both);
  EXPECT_EQ(d.upstream_args, (std::vector<std::string>{"HELLO", "3"}));
  EXPECT_EQ(route({"HELLO"}).upstream_args, (std::vector<std::string>{"HELLO"}));
  EXPECT_EQ(route({"RESET"}).route, proxy_route::both);
}

TEST(ProxyEncode, ArraysOfBulkStrings) {
  const std::vector<std::string> args{"HELLO", "3"};
  EXPECT_EQ(encode_command(args), "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
  const std::vector<std::string_view> views{"SET", "k", ""};
  EXPECT_EQ(encode_command(views), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(UpstreamFrames, SplitsRepliesAndPushesByteForByte) {
  upstream_frames f;
  f.feed("+OK\r\n$3\r\nbar\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n:1");
  auto a = f.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->bytes, "+OK\r\n");
  EXPECT_FALSE(a->push);
  auto b = f.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->bytes, "$3\r\nbar\r\n");
  auto c = f.next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->bytes, ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
  EXPECT_TRUE(c->push);
  EXPECT_FALSE(f.next());  // ":1" still needs its CRLF
  f.feed("\r\n");
  auto d = f.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->bytes, ":1\r\n");
}

TEST(UpstreamFrames, AFrameSplitAcrossReadsAndItsAttributeStayTogether) {
  upstream_frames f;
  const std::string whole = "|1\r\n+ttl\r\n:3\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n";
  for (char ch : whole) {
    EXPECT_FALSE(f.next());
    f.feed(std::string_view(&ch, 1));
  }
  auto v = f.next();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->bytes, whole);
  EXPECT_FALSE(f.next());
}

TEST(UpstreamFrames, ABrokenStreamStopsForGood) {
  upstream_frames f;
  f.feed("+OK\r\n?garbage\r\n+later\r\n");
  ASSERT_TRUE(f.next());
  EXPECT_FALSE(f.next());
  EXPECT_TRUE(f.failed());
  EXPECT_FALSE(f.error_message().empty());
  f.feed("+more\r\n");
  EXPECT_FALSE(f.next());
}

}  // namespace
}  // namespace upstream_test
