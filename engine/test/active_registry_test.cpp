#include <schsim/engine/active_registry.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace active_registry_test {
namespace {

namespace maint = schsim::maint;
using schsim::time_point;
using schsim::engine::active_notification;
using schsim::engine::active_registry;
using namespace std::chrono_literals;

const time_point t0 = time_point{} + 100s;

auto moving(std::int64_t seq, std::int64_t time_s, std::string endpoint, time_point at)
    -> active_notification {
  return {"m", maint::moving{seq, time_s, "node-b"}, {}, std::move(endpoint),
          at,  at + std::chrono::seconds(time_s)};
}

TEST(ActiveRegistry, RemainingTimeRoundsDown) {
  active_registry r;
  r.activate(moving(1, 15, "node-a", t0));
  for (auto [elapsed, expected] : {std::pair{0ms, 15}, std::pair{999ms, 14}, std::pair{1000ms, 14},
                                   std::pair{1001ms, 13}, std::pair{14500ms, 0}}) {
    const auto out = r.for_new_connection("node-a", t0 + elapsed);
    ASSERT_EQ(out.size(), 1u) << elapsed.count();
    EXPECT_EQ(maint::time_of(out[0].notification), expected) << elapsed.count();
  }
  EXPECT_TRUE(r.for_new_connection("node-a", t0 + 15s).empty()) << "expired";
}

TEST(ActiveRegistry, ScopedToAnEndpoint) {
  active_registry r;
  r.activate(moving(1, 5, "node-a", t0));
  EXPECT_TRUE(r.for_new_connection("node-b", t0).empty());
  r.activate({"all", maint::migrating{2, 3, {"1"}}, {}, "", t0, std::nullopt});
  EXPECT_EQ(r.for_new_connection("node-b", t0).size(), 1u);
  EXPECT_EQ(r.for_new_connection("node-a", t0).size(), 2u);
}

TEST(ActiveRegistry, SameKindAndScopeIsReplaced) {
  active_registry r;
  r.activate(moving(1, 5, "node-a", t0));
  r.activate(moving(2, 5, "node-a", t0 + 1s));
  const auto out = r.for_new_connection("node-a", t0 + 1s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(maint::seq_of(out[0].notification), 2);
}

TEST(ActiveRegistry, ClosingKindEndsItsWindow) {
  active_registry r;
  r.activate({"a", maint::migrating{1, 3, {"1"}}, {}, "node-a", t0, std::nullopt});
  r.activate({"b", maint::failing_over{2, 3, {"1"}}, {}, "node-a", t0, std::nullopt});
  r.on_sent(maint::kind::migrated, "node-b");  // another endpoint
  EXPECT_EQ(r.active(t0).size(), 2u);
  r.on_sent(maint::kind::migrated, "node-a");
  ASSERT_EQ(r.active(t0).size(), 1u);
  EXPECT_EQ(r.active(t0)[0].origin_step, "b");
  r.on_sent(maint::kind::moving, "");       // opening kinds end nothing
  r.on_sent(maint::kind::failed_over, "");  // sent to all: ends it everywhere
  EXPECT_TRUE(r.active(t0).empty());
}

TEST(ActiveRegistry, Clear) {
  active_registry r;
  r.activate(moving(1, 5, "node-a", t0));
  r.activate({"a", maint::migrating{1, 3, {"1"}}, {}, "node-a", t0, std::nullopt});
  r.clear(maint::kind::moving, "");
  EXPECT_EQ(r.active(t0).size(), 1u);
  r.clear(std::nullopt, "node-b");
  EXPECT_EQ(r.active(t0).size(), 1u);
  r.clear(std::nullopt, "");
  EXPECT_TRUE(r.active(t0).empty());
}

}  // namespace
}  // namespace active_registry_test
