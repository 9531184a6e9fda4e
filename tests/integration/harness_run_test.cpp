// End to end: `schsim run` and `schsim suite` with the real executable, the in-process simulator
// and real driver processes (the reference client, and a small Python driver that misbehaves
// on request). Checks exit codes and that the reports are written whatever happens.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness_support.hpp"

namespace {

using namespace schsim::harness_test;
namespace v = schsim::verdict;

auto fake_driver(const std::string& mode) -> std::string {
  return shell_quote("python3 " + source_path("harness/test/fake_driver.py").string() +
                     " --mode=" + mode);
}

auto check(const v::case_result& c, const std::string& id) -> const v::check_result* {
  const auto it =
      std::find_if(c.checks.begin(), c.checks.end(), [&](const auto& r) { return r.id == id; });
  return it == c.checks.end() ? nullptr : &*it;
}

TEST(HarnessRun, ReferenceClientPassesAHandoffAndEveryReportIsWritten) {
  temp_dir out("run-ref");
  const auto r =
      run_schsim("run moving-new-endpoint --client reference -o " + shell_quote(out.path.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto* name : {"report.json", "junit.xml", "index.html",
                           "cases/moving-new-endpoint--reference--r0.html"}) {
    EXPECT_TRUE(fs::exists(out.path / name)) << name;
  }
  const auto run = read_report(out.path);
  ASSERT_EQ(run.cases.size(), 1U);
  const auto& c = run.cases[0];
  EXPECT_EQ(c.outcome, v::case_outcome::passed);
  EXPECT_EQ(c.client.library, "schsim-refclient");
  EXPECT_NE(c.seed, 0U);
  EXPECT_FALSE(run.suite_version.empty());
  for (const auto* id : {"zero_dropped", "handshake", "handoff_timing"}) {
    const auto* r_check = check(c, id);
    ASSERT_NE(r_check, nullptr) << id;
    EXPECT_EQ(r_check->outcome, v::status::pass) << id << ": " << r_check->summary;
  }
  EXPECT_FALSE(c.timeline.empty());
  EXPECT_FALSE(c.commands.empty());
  EXPECT_NE(r.output.find("[1/1] moving-new-endpoint"), std::string::npos) << r.output;
}

TEST(HarnessRun, SameSeedSameSchedule) {
  temp_dir a("seed-a");
  temp_dir b("seed-b");
  ASSERT_EQ(run_schsim("run notification-migrating --client reference --seed 77 -o " +
                       shell_quote(a.path.string()))
                .exit_code,
            0);
  ASSERT_EQ(run_schsim("run notification-migrating --client reference --seed 77 -o " +
                       shell_quote(b.path.string()))
                .exit_code,
            0);
  const auto ra = read_report(a.path).cases.at(0);
  const auto rb = read_report(b.path).cases.at(0);
  EXPECT_EQ(ra.seed, 77U);
  ASSERT_EQ(ra.commands.size(), rb.commands.size());
  for (std::size_t i = 0; i < ra.commands.size(); ++i) {
    EXPECT_EQ(ra.commands[i].args, rb.commands[i].args);
  }
}

TEST(HarnessRun, BadScenarioIsAUsageError) {
  temp_dir out("bad");
  const auto file = write_scenario(out.path, "broken", "[scenario]\nid = \"x\"\nnot toml at all");
  EXPECT_EQ(run_schsim("run " + shell_quote(file.string()) + " --client reference").exit_code, 2);
  EXPECT_EQ(run_schsim("run moving-new-endpoint --client nonexistent-driver-xyz -o " +
                       shell_quote(out.path.string()))
                .exit_code,
            2);
  EXPECT_EQ(
      run_schsim("run moving-new-endpoint --client 'python3 x.py' --broken=no-relax").exit_code, 2);
}

TEST(HarnessRun, AClientLackingACapabilityIsUnsupportedNotFailed) {
  SCHSIM_REQUIRE_PROGRAM("python3");
  temp_dir out("unsupported");
  const auto r = run_schsim("run migrating-latency --client " + fake_driver("no-caps") + " -o " +
                            shell_quote(out.path.string()));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  const auto c = read_report(out.path).cases.at(0);
  EXPECT_EQ(c.outcome, v::case_outcome::unsupported);
  EXPECT_NE(c.outcome_detail.find("maint_notifications"), std::string::npos) << c.outcome_detail;
}

TEST(HarnessRun, ExitCode127BeforeHelloIsUnsupported) {
  SCHSIM_REQUIRE_PROGRAM("python3");
  temp_dir out("exit127");
  const auto r = run_schsim("run migrating-latency --client " + fake_driver("unsupported") +
                            " -o " + shell_quote(out.path.string()));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_EQ(read_report(out.path).cases.at(0).process.exit_code, 127);
}

TEST(HarnessRun, ACrashedClientIsReportedWithItsStatusAndStderr) {
  SCHSIM_REQUIRE_PROGRAM("python3");
  temp_dir out("crash");
  const auto r = run_schsim("run migrating-latency --client " + fake_driver("crash-after=5") +
                            " -o " + shell_quote(out.path.string()));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  const auto c = read_report(out.path).cases.at(0);
  EXPECT_EQ(c.outcome, v::case_outcome::crashed);
  EXPECT_EQ(c.process.exit_code, 1);
  EXPECT_NE(c.process.stderr_tail.find("simulated crash after 5 results"), std::string::npos);
  EXPECT_TRUE(fs::exists(out.path / "junit.xml"));
  EXPECT_NE(read_text(out.path / "junit.xml").find("<error type=\"crashed\""), std::string::npos);
}

TEST(HarnessRun, TheWatchdogEndsAHungClient) {
  SCHSIM_REQUIRE_PROGRAM("python3");
  temp_dir out("hung");
  const auto r = run_schsim("run notification-migrating --client " + fake_driver("hang-results") +
                            " -o " + shell_quote(out.path.string()));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  const auto c = read_report(out.path).cases.at(0);
  EXPECT_EQ(c.outcome, v::case_outcome::hung);
  EXPECT_TRUE(c.process.killed_by_watchdog);
  EXPECT_NE(c.outcome_detail.find("watchdog"), std::string::npos) << c.outcome_detail;
}

TEST(HarnessRun, AThirdPartyDriverRunsThroughTheSamePath) {
  SCHSIM_REQUIRE_PROGRAM("python3");
  temp_dir out("python");
  const auto r = run_schsim("run notification-migrating --client " + fake_driver("garbage") +
                            " -o " + shell_quote(out.path.string()));
  const auto c = read_report(out.path).cases.at(0);
  EXPECT_EQ(c.client.library, "fake-python");
  EXPECT_TRUE(std::any_of(c.driver_log.begin(), c.driver_log.end(), [](const auto& l) {
    return l.find("not JSON: this is not json") != std::string::npos;
  }));
  const auto* zero = check(c, "zero_dropped");
  ASSERT_NE(zero, nullptr);
  EXPECT_EQ(zero->outcome, v::status::pass) << zero->summary;
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(HarnessSuite, FiltersByTagAndRepeats) {
  temp_dir out("suite");
  const auto r = run_schsim(
      "suite --client reference -f notification-migrating -f "
      "notification-migrated --repeat 2 -o " +
      shell_quote(out.path.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = read_report(out.path);
  ASSERT_EQ(run.cases.size(), 4U);
  EXPECT_EQ(run.cases[1].repetition, 1);
  EXPECT_TRUE(fs::exists(out.path / "cases/notification-migrated--reference--r1.html"));
  const auto dry = run_schsim("suite --dry-run -f moving");
  EXPECT_EQ(dry.exit_code, 0);
  EXPECT_NE(dry.output.find("moving-new-endpoint"), std::string::npos) << dry.output;
}

}  // namespace
