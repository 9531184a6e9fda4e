// `schsim explore` end to end: bad input gets a clear message and its documented exit code,
// the correct reference client survives generated cases, and a broken one is caught, shrunk to
// a file that `schsim check` accepts and `schsim run` reproduces.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "harness_support.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace explore_cli_test {
namespace {

using namespace schsim::harness_test;

auto contains(const std::string& text, const std::string& part) -> bool {
  return text.find(part) != std::string::npos;
}

TEST(ExploreCli, BudgetOfZeroIsRefused) {
  temp_dir dir("explore-budget");
  const auto r =
      run_schsim("explore --client reference --budget 0s -o " + shell_quote(dir.path.string()));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--budget must be longer than 0")) << r.output;
  const auto words =
      run_schsim("explore --client reference --budget soon -o " + shell_quote(dir.path.string()));
  EXPECT_EQ(words.exit_code, 2) << words.output;
  EXPECT_TRUE(contains(words.output, "is not a duration")) << words.output;
  const auto cases =
      run_schsim("explore --client reference --cases 0 -o " + shell_quote(dir.path.string()));
  EXPECT_EQ(cases.exit_code, 2) << cases.output;
  EXPECT_TRUE(contains(cases.output, "--cases must be at least 1")) << cases.output;
}

TEST(ExploreCli, NegativeSeedIsRefused) {
  temp_dir dir("explore-seed");
  for (const auto* spelling : {"--seed -3", "--seed=-3"}) {
    const auto r = run_schsim(std::string("explore --client reference --cases 1 ") + spelling +
                              " -o " + shell_quote(dir.path.string()));
    EXPECT_EQ(r.exit_code, 2) << spelling << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "--seed must be 0 or more, not -3")) << r.output;
  }
}

TEST(ExploreCli, UnwritableOutputFolderIsRefusedBeforeAnyCaseRuns) {
  temp_dir dir("explore-out");
  const auto file = dir.path / "a-file";
  std::ofstream(file) << "not a directory\n";
  const auto r =
      run_schsim("explore --client reference --cases 1 -o " + shell_quote((file / "out").string()));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "cannot create")) << r.output;
  EXPECT_FALSE(contains(r.output, "[   1]")) << "a case ran:\n" << r.output;
}

TEST(ExploreCli, ClientThatCrashesOnEveryCaseIsReportedAsSuch) {
  temp_dir dir("explore-crash");
  // A driver that dies at once, whatever the scenario.
  const auto r = run_schsim("explore --client " + shell_quote("sh -c 'exit 3'") +
                            " --cases 2 --seed 1 -o " + shell_quote(dir.path.string()));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_TRUE(contains(r.output, "even on a scenario without any maintenance step")) << r.output;
}

TEST(ExploreCli, ClientThatCannotStartIsAUsageError) {
  temp_dir dir("explore-nodriver");
  const auto r = run_schsim("explore --client /nonexistent/driver --cases 1 -o " +
                            shell_quote(dir.path.string()));
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(ExploreCli, CorrectClientPassesGeneratedCases) {
  temp_dir dir("explore-good");
  const auto r = run_schsim("explore --client reference --seed 11 --cases 4 -j 2 -o " +
                            shell_quote(dir.path.string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "4 cases: 4 passed")) << r.output;
  EXPECT_TRUE(contains(read_text(dir.path / "explore.html"), "No generated case failed."));
}

// ignore-moving never hands off: the first case with a MOVING fails handoff_timing. The
// minimal file is valid, holds a MOVING and little else, and `schsim run` fails it again.
TEST(ExploreCli, BrokenClientIsCaughtAndShrunkToAReproducibleFile) {
  temp_dir dir("explore-broken");
  const auto r = run_schsim(
      "explore --client reference --broken=ignore-moving --profile standalone --seed 5 "
      "--cases 12 -j 2 --shrink-attempts 10 --tries 1 --confirm 1 -o " +
      shell_quote(dir.path.string()));
  ASSERT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "FAILURE")) << r.output;
  fs::path minimal;
  for (const auto& e : fs::directory_iterator(dir.path / "failures")) {
    if (e.path().string().ends_with(".min.toml")) {
      minimal = e.path();
    }
  }
  ASSERT_FALSE(minimal.empty()) << r.output;
  const auto text = read_text(minimal);
  EXPECT_TRUE(contains(text, "moving")) << text;
  const auto check = run_schsim("check " + shell_quote(minimal.string()));
  EXPECT_EQ(check.exit_code, 0) << check.output;
  const auto again = run_schsim("run " + shell_quote(minimal.string()) +
                                " --client reference --broken=ignore-moving -o " +
                                shell_quote((dir.path / "again").string()));
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_TRUE(contains(again.output, "handoff_timing")) << again.output;
  EXPECT_TRUE(contains(read_text(dir.path / "explore.html"), "handoff_timing"));
}

}  // namespace
}  // namespace explore_cli_test
