#include <schsim/harness/suite.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace suite_test {
namespace {

using namespace schsim;

auto scenario_with(const std::string& id, std::vector<std::string> tags) -> scenario::scenario {
  scenario::scenario s;
  s.meta.id = id;
  s.meta.tags = std::move(tags);
  return s;
}

TEST(SuiteFilter, MatchesIdPrefixAndTags) {
  const auto s = scenario_with("moving-new-endpoint", {"handoff"});
  EXPECT_TRUE(harness::matches_filter(s, {}));
  EXPECT_TRUE(harness::matches_filter(s, {"moving-new-endpoint"}));
  EXPECT_TRUE(harness::matches_filter(s, {"moving"}));
  EXPECT_TRUE(harness::matches_filter(s, {"moving-*"}));
  EXPECT_TRUE(harness::matches_filter(s, {"failover", "handoff"}));
  EXPECT_FALSE(harness::matches_filter(s, {"failover"}));
  EXPECT_FALSE(harness::matches_filter(s, {"new-endpoint"}));
}

TEST(ResolveClient, ReferenceAndCommandLines) {
  ::setenv("SCHSIM_REFCLIENT_DRIVER", "/opt/x/schsim-refclient-driver", 1);
  const auto ref = harness::resolve_client("reference", {"no-relax", "late-reconnect"}, "/bin/x");
  EXPECT_EQ(ref.argv, (std::vector<std::string>{"/opt/x/schsim-refclient-driver",
                                                "--broken=no-relax,late-reconnect"}));
  EXPECT_EQ(ref.name, "reference --broken=no-relax,late-reconnect");
  ::unsetenv("SCHSIM_REFCLIENT_DRIVER");

  const auto other = harness::resolve_client("node 'my driver.js' --x", {}, "/bin/x");
  EXPECT_EQ(other.argv, (std::vector<std::string>{"node", "my driver.js", "--x"}));
  EXPECT_EQ(other.name, "node 'my driver.js' --x");
  EXPECT_THROW(harness::resolve_client("node d.js", {"no-relax"}, "/bin/x"), std::invalid_argument);
  EXPECT_THROW(harness::resolve_client("   ", {}, "/bin/x"), std::invalid_argument);
}

TEST(ResolveClient, FindsTheReferenceDriverInTheBuildTree) {
  namespace fs = std::filesystem;
  const auto root = fs::temp_directory_path() / ("schsim-find-" + std::to_string(::getpid()));
  fs::create_directories(root / "apps/schsim");
  fs::create_directories(root / "client-under-test");
  const auto driver = root / "client-under-test/schsim-refclient-driver";
  { std::ofstream(driver) << "#!/bin/sh\n"; }
  fs::permissions(driver, fs::perms::owner_all);
  const auto found = harness::find_reference_driver(root / "apps/schsim/schsim");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, fs::weakly_canonical(driver));
  fs::remove_all(root);
}

}  // namespace
}  // namespace suite_test
