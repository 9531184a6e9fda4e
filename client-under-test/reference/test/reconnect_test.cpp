#include <schsim/refclient/reconnect.hpp>

#include <gtest/gtest.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::reconnect_test {
namespace {

using namespace std::chrono_literals;

TEST(Backoff, ImmediateThenDoublingUpToTheCap) {
  backoff b{8ms, 50ms};
  EXPECT_EQ(b.next(), 0ms);
  EXPECT_EQ(b.next(), 8ms);
  EXPECT_EQ(b.next(), 16ms);
  EXPECT_EQ(b.next(), 32ms);
  EXPECT_EQ(b.next(), 50ms);
  EXPECT_EQ(b.next(), 50ms);
  b.reset();
  EXPECT_EQ(b.next(), 0ms);
}

TEST(LostReply, WrittenCommandsFailUnlessIdempotentAndAllowed) {
  const std::vector<std::string> incr{"INCR", "k"};
  const std::vector<std::string> get{"get", "k"};
  broken_set none;
  EXPECT_EQ(on_lost_reply(incr, retry_policy::never, none), lost_reply::fail);
  EXPECT_EQ(on_lost_reply(incr, retry_policy::idempotent_only, none), lost_reply::fail);
  EXPECT_EQ(on_lost_reply(get, retry_policy::never, none), lost_reply::fail);
  EXPECT_EQ(on_lost_reply(get, retry_policy::idempotent_only, none), lost_reply::retry);
  broken_set resend;
  resend.set(broken_mode::resend_written);
  EXPECT_EQ(on_lost_reply(incr, retry_policy::never, resend), lost_reply::retry);
}

TEST(LostReply, Idempotency) {
  EXPECT_TRUE(is_idempotent(std::vector<std::string>{"PING"}));
  EXPECT_TRUE(is_idempotent(std::vector<std::string>{"Exists", "a"}));
  EXPECT_FALSE(is_idempotent(std::vector<std::string>{"SET", "a", "b"}));
  EXPECT_FALSE(is_idempotent(std::vector<std::string>{"INCR", "a"}));
  EXPECT_FALSE(is_idempotent(std::vector<std::string>{}));
}

}  // namespace
}  // namespace schsim::refclient::reconnect_test
