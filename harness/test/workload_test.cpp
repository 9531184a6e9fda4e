#include <schsim/harness/workload.hpp>

#include <gtest/gtest.h>

#include <set>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace workload_test {
namespace {

using namespace schsim;
using std::chrono::milliseconds;

TEST(Workload, SameSeedSameSchedule) {
  scenario::workload w;
  w.rate = 200;
  const auto a = harness::make_schedule(w, milliseconds{2000}, 11);
  const auto b = harness::make_schedule(w, milliseconds{2000}, 11);
  const auto c = harness::make_schedule(w, milliseconds{2000}, 12);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].args, b[i].args);
    EXPECT_EQ(a[i].offset, b[i].offset);
  }
  bool differs = false;
  for (std::size_t i = 0; i < std::min(a.size(), c.size()); ++i) {
    differs = differs || a[i].args != c[i].args;
  }
  EXPECT_TRUE(differs);
}

TEST(Workload, OpenLoopAtTheRateWithUniqueIds) {
  scenario::workload w;
  w.rate = 100;
  w.mix = {{"incr", 1}};
  w.probe = scenario::latency_probe{milliseconds{250}, "ping"};
  const auto s = harness::make_schedule(w, milliseconds{1000}, 1);
  std::set<std::uint64_t> ids;
  std::set<std::string> keys;
  std::size_t probes = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    ids.insert(s[i].id);
    if (i > 0) {
      EXPECT_LE(s[i - 1].offset, s[i].offset);
    }
    if (s[i].purpose == "probe") {
      ++probes;
      EXPECT_EQ(s[i].args[0], "PING");
    } else {
      EXPECT_EQ(s[i].args[0], "INCR");
      keys.insert(s[i].args[1]);
      EXPECT_EQ(s[i].args[1], "schsim:ctr:" + std::to_string(s[i].id));
    }
  }
  EXPECT_EQ(ids.size(), s.size());
  EXPECT_EQ(keys.size(), s.size() - probes);  // INCR on per-command keys
  EXPECT_EQ(probes, 3U);
  EXPECT_EQ(s.size() - probes, 99U);  // every 10 ms from 10 ms, before 1000 ms
}

TEST(Workload, DurationCapsTheSchedule) {
  scenario::workload w;
  w.rate = 10;
  w.duration = milliseconds{500};
  EXPECT_EQ(harness::make_schedule(w, milliseconds{5000}, 1).size(), 4U);
  w.rate = 0;
  EXPECT_TRUE(harness::make_schedule(w, milliseconds{5000}, 1).empty());
}

TEST(Workload, IdentityTiesServerRecordsToCommands) {
  scenario::workload w;
  w.mix = {{"set", 1}, {"incr", 1}, {"get", 1}, {"ping", 1}};
  w.value_size = 300;  // longer than the server's 128-byte argument cut
  for (const auto& c : harness::make_schedule(w, milliseconds{300}, 3)) {
    auto recorded = c.args;
    for (auto& a : recorded) {
      a.resize(std::min<std::size_t>(a.size(), 128));
    }
    const auto identity = harness::command_identity(recorded);
    if (c.args[0] == "GET") {
      EXPECT_FALSE(identity);
    } else {
      ASSERT_TRUE(identity) << c.args[0];
      EXPECT_NE(identity->find(std::to_string(c.id)), std::string::npos);
    }
  }
  EXPECT_EQ(harness::command_identity({"incr", "x:ctr:5"}), "incr:5");
  EXPECT_FALSE(harness::command_identity({"HELLO", "3"}));
}

}  // namespace
}  // namespace workload_test
