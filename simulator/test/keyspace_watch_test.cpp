#include <schsim/simulator/keyspace.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <chrono>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace keyspace_watch_test {
namespace {

using schsim::seconds;
using schsim::time_point;
using schsim::simulator::keyspace;

const time_point t0 = time_point{} + seconds(100);

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
}  // namespace keyspace_watch_test
