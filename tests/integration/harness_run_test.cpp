// End to end: `schsim run` and `schsim suite` with the real executable, the in-process simulator
// and real driver processes (the reference client, and a small Python driver that misbehaves
// on request). Checks exit codes and that the reports are written whatever happens.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness_support.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace harness_run_test {
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

/// The line of `output` that holds `needle`, or "" when none does.
auto line_with(const std::string& output, const std::string& needle) -> std::string {
  const auto at = output.find(needle);
  if (at == std::string::npos) {
    return {};
  }
  const auto begin = output.rfind('\n', at);
  const auto end = output.find('\n', at);
  return output.substr(begin == std::string::npos ? 0 : begin + 1,
                       end == std::string::npos
                           ? std::string::npos
                           : end - (begin == std::string::npos ? 0 : begin + 1));
}

// Issue 19: `schsim run` of one case prints each check's one-line result, as the HTML's "result
// and evidence" column does, not only "1 case: 1 failed".
TEST(HarnessRun, ASingleCasePrintsEveryCheckWithItsResult) {
  temp_dir out("run-checks");
  const auto r = run_schsim("run migrating-latency --client reference --broken=no-relax -o " +
                            shell_quote(out.path.string()));
  ASSERT_EQ(r.exit_code, 1) << r.output;
  const auto c = read_report(out.path).cases.at(0);
  ASSERT_FALSE(c.checks.empty());
  for (const auto& chk : c.checks) {
    const auto line = line_with(r.output, "  " + chk.id + " ");
    ASSERT_FALSE(line.empty()) << chk.id << " not printed:\n" << r.output;
    EXPECT_NE(line.find(chk.summary), std::string::npos) << line;
    const std::string status = chk.outcome == v::status::fail ? "FAIL"
                               : chk.outcome == v::status::not_judged
                                   ? "NOT JUDGED"
                                   : std::string(v::to_string(chk.outcome));
    EXPECT_NE(line.find(status), std::string::npos) << line;
  }
  EXPECT_NE(line_with(r.output, "  timeout_relaxation ").find("FAIL"), std::string::npos)
      << r.output;
  // Several cases keep the short form unless -v asks for every check.
  temp_dir two("run-two");
  const auto r2 =
      run_schsim("run notification-migrating notification-migrated --client reference -o " +
                 shell_quote(two.path.string()));
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_TRUE(line_with(r2.output, "  zero_dropped ").empty()) << r2.output;
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
  // Issue 18 item 13: every check keeps its meaning, latency is not called unsupported, no
  // empty plot is drawn, and the index shows the reason, not just "U".
  ASSERT_FALSE(c.checks.empty());
  for (const auto& chk : c.checks) {
    EXPECT_FALSE(chk.meaning.empty()) << chk.id;
    if (chk.id == "latency") {
      EXPECT_EQ(chk.outcome, v::status::skipped) << chk.summary;
    } else {
      EXPECT_EQ(chk.outcome, v::status::unsupported) << chk.id;
    }
  }
  bool page_says_why = false;
  for (const auto& entry : fs::directory_iterator(out.path / "cases")) {
    const auto text = read_text(entry.path());
    page_says_why =
        text.find("No timeline: no connections were made: the client lacks") != std::string::npos &&
        text.find("No latency: no command was issued") != std::string::npos &&
        text.find("<svg") == std::string::npos;
  }
  EXPECT_TRUE(page_says_why);
  EXPECT_NE(read_text(out.path / "index.html").find("unsupported: the client lacks"),
            std::string::npos);
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
  const auto r = run_schsim("run notification-migrating --client " + fake_driver("good") + " -o " +
                            shell_quote(out.path.string()));
  const auto c = read_report(out.path).cases.at(0);
  EXPECT_EQ(c.client.library, "fake-python");
  const auto* zero = check(c, "zero_dropped");
  ASSERT_NE(zero, nullptr);
  EXPECT_EQ(zero->outcome, v::status::pass) << zero->summary;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Issue 19: a bare command line is named by the driver's hello (client and version), not by
  // its path, in the console, the file names and the reports.
  EXPECT_EQ(c.client.name, "fake-python 0.0.1");
  EXPECT_NE(c.client.command.find("fake_driver.py"), std::string::npos) << c.client.command;
  EXPECT_TRUE(fs::exists(out.path / "cases/notification-migrating--fake-python_0.0.1--r0.html"));
  EXPECT_NE(line_with(r.output, "[1/1] notification-migrating").find("fake-python 0.0.1"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(line_with(r.output, "[1/1] notification-migrating").find("fake_driver.py"),
            std::string::npos)
      << r.output;
}

// Issue 19: `suite` and `run` take NAME=COMMAND like `matrix`; the name is used everywhere.
TEST(HarnessRun, NameEqualsCommandNamesTheClient) {
  SCHSIM_REQUIRE_PROGRAM("python3");
  temp_dir out("named");
  const auto command =
      "python3 " + source_path("harness/test/fake_driver.py").string() + " --mode=good";
  const auto r =
      run_schsim("suite -f notification-migrating --client " + shell_quote("mine=" + command) +
                 " -o " + shell_quote(out.path.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = read_report(out.path);
  ASSERT_EQ(run.cases.size(), 1U);
  EXPECT_EQ(run.cases[0].client.name, "mine");
  EXPECT_EQ(run.cases[0].client.library, "fake-python");
  EXPECT_TRUE(fs::exists(out.path / "cases/notification-migrating--mine--r0.html"));
  EXPECT_NE(line_with(r.output, "notification-migrating").find(" mine "), std::string::npos)
      << r.output;
  const auto empty = run_schsim("run notification-migrating --client 'mine=' -o " +
                                shell_quote(out.path.string()));
  EXPECT_EQ(empty.exit_code, 2) << empty.output;
  EXPECT_NE(empty.output.find("no command after '='"), std::string::npos) << empty.output;
  const auto broken =
      run_schsim("run notification-migrating --client " + shell_quote("mine=" + command) +
                 " --broken=no-relax -o " + shell_quote(out.path.string()));
  EXPECT_EQ(broken.exit_code, 2) << broken.output;
}

// Issue 18 item 3: a driver that prints something other than protocol messages on stdout was
// reported as "did not answer hello". It is a driver protocol error quoting the line and its
// number (exit 2: the driver named on the command line is wrong).
TEST(HarnessRun, ANonJsonLineIsADriverProtocolErrorQuotingIt) {
  SCHSIM_REQUIRE_PROGRAM("python3");
  temp_dir out("garbage");
  const auto r = run_schsim("run notification-migrating --client " + fake_driver("garbage") +
                            " -o " + shell_quote(out.path.string()));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const auto c = read_report(out.path).cases.at(0);
  EXPECT_EQ(c.outcome, v::case_outcome::error);
  EXPECT_NE(c.outcome_detail.find(
                "driver protocol error: driver stdout line 1 is not JSON: \"this is not json\""),
            std::string::npos)
      << c.outcome_detail;
  EXPECT_NE(r.output.find("driver stdout line 1 is not JSON"), std::string::npos) << r.output;
}

TEST(HarnessRun, ALineOverTheLimitIsADriverProtocolErrorNotAHang) {
  SCHSIM_REQUIRE_PROGRAM("python3");
  temp_dir out("huge");
  const auto r = run_schsim("run notification-migrating --client " + fake_driver("huge-line") +
                            " -o " + shell_quote(out.path.string()));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const auto c = read_report(out.path).cases.at(0);
  EXPECT_EQ(c.outcome, v::case_outcome::error);
  EXPECT_NE(c.outcome_detail.find("driver stdout line 1 is longer than the 1048576-byte limit: "
                                  "\"yyyy"),
            std::string::npos)
      << c.outcome_detail;
  EXPECT_NE(c.outcome_detail.find("(3145728 bytes in all)"), std::string::npos) << c.outcome_detail;
  EXPECT_LT(c.outcome_detail.size(), 600U);
}

// Issue 18 item 6: results for unknown ids and second results are named as driver protocol
// errors in the evidence (the first result of a command is the one judged).
TEST(HarnessRun, UnknownAndDuplicateResultsAreNamedAsProtocolErrors) {
  SCHSIM_REQUIRE_PROGRAM("python3");
  temp_dir out("bad-results");
  run_schsim("run notification-migrating --client " + fake_driver("bad-results") + " -o " +
             shell_quote(out.path.string()));
  const auto c = read_report(out.path).cases.at(0);
  const auto logged = [&](const std::string& text) {
    return std::any_of(c.driver_log.begin(), c.driver_log.end(),
                       [&](const auto& l) { return l.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(logged("driver protocol error: driver stdout line")) << c.driver_log.size();
  EXPECT_TRUE(logged("result for unknown command id 987654321"));
  EXPECT_TRUE(logged("second result for command"));
  EXPECT_TRUE(logged("driver protocol errors: 2 message(s) from the driver were skipped"));
}

// Issue 18 item 8: a client that never opts in leaves every step waiting for `handshakes = 1`
// unrun; such cases used to pass with nothing tested. Every report must name the steps that
// never ran, and the case must never pass.
TEST(HarnessRun, ACaseWhoseStepsNeverRanIsNeverAPass) {
  SCHSIM_REQUIRE_PROGRAM("python3");
  temp_dir out("not-run");
  const auto r = run_schsim("suite --client " + fake_driver("no-opt-in") +
                            " -f failover -f migrating-latency -f notification- -f seq-overlapping"
                            " -j 2 -o " +
                            shell_quote(out.path.string()));
  EXPECT_NE(r.exit_code, 0) << r.output;
  const auto run = read_report(out.path);
  // The tag "failover" also selects fault-injector-sequence, maintenance-mode,
  // pubsub-failover, blocking-failover and transactions-failover (unsupported here: the fake
  // driver has neither pubsub nor blocking nor transactions).
  ASSERT_EQ(run.cases.size(), 15U) << r.output;
  for (const auto& c : run.cases) {
    EXPECT_NE(c.outcome, v::case_outcome::passed) << c.scenario_id;
    if (c.outcome != v::case_outcome::unsupported) {
      EXPECT_FALSE(c.steps_not_run.empty()) << c.scenario_id;
    }
  }
}

// The same with checks that all pass: a client in disabled mode is judged correct by every
// check, but the step waiting for its handshake never runs, so nothing was tested.
TEST(HarnessRun, PassingChecksWithStepsThatNeverRanAreInconclusive) {
  temp_dir out("inconclusive");
  const auto file = write_scenario(out.path, "waits-for-opt-in", R"toml(
[scenario]
id = "waits-for-opt-in"
title = "a step that waits for a handshake a disabled client never makes"
duration = "1500ms"
[topology]
start = "node-a"
[[topology.endpoint]]
name = "node-a"
[client]
mode = "disabled"
[workload]
rate = 20
mix = { incr = 1 }
[expect]
checks = ["no_errors"]
[[step]]
id = "migrating"
action = "send"
when = { handshakes = 1, delay = "100ms" }
notification = "migrating"
time = 1
)toml");
  const auto r = run_schsim("run " + shell_quote(file.string()) + " --client reference -o " +
                            shell_quote((out.path / "reports").string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const auto c = read_report(out.path / "reports").cases.at(0);
  EXPECT_EQ(c.outcome, v::case_outcome::inconclusive) << c.outcome_detail;
  EXPECT_EQ(c.steps_not_run, std::vector<std::string>{"migrating"});
  EXPECT_NE(c.outcome_detail.find("scenario steps never ran: migrating"), std::string::npos)
      << c.outcome_detail;
  EXPECT_NE(r.output.find("INCONCLUSIVE"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("scenario steps never ran: migrating"), std::string::npos) << r.output;
  const auto junit = read_text(out.path / "reports/junit.xml");
  EXPECT_NE(junit.find("<error type=\"inconclusive\""), std::string::npos) << junit;
  EXPECT_NE(read_text(out.path / "reports/cases/waits-for-opt-in--reference--r0.html")
                .find("Steps that never ran:</b> <code>migrating</code>"),
            std::string::npos);
}

// Issue 18 item 2: an unusable -o used to fail only after the whole run (exit 70, results
// lost). It must be refused before any case runs, with a clear error and exit 2.
TEST(HarnessRun, AnUnusableOutputLocationIsRefusedBeforeAnythingRuns) {
  temp_dir out("bad-out");
  const auto file = out.path / "a-file";
  std::ofstream(file) << "not a directory\n";
  const std::vector<std::string> commands{
      "run moving-new-endpoint --client reference",
      "suite --client reference -f moving-new-endpoint",
      "matrix --client reference -f moving-new-endpoint",
  };
  for (const auto& command : commands) {
    for (const auto& [where, why] : std::vector<std::pair<std::string, std::string>>{
             {file.string(), "exists and is not a directory"},
             {(file / "sub").string(), "cannot create the directory"},
             {"/proc/schsim-no-such-dir", "cannot create the directory"}}) {
      const auto r = run_schsim(command + " -o " + shell_quote(where));
      EXPECT_EQ(r.exit_code, 2) << command << " -o " << where << "\n" << r.output;
      EXPECT_NE(r.output.find(why), std::string::npos) << command << "\n" << r.output;
      EXPECT_EQ(r.output.find("[1/1]"), std::string::npos) << "a case ran:\n" << r.output;
    }
  }
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
}  // namespace harness_run_test
