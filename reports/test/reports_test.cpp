#include <schsim/reports/console.hpp>
#include <schsim/reports/files.hpp>
#include <schsim/reports/html.hpp>
#include <schsim/reports/json.hpp>
#include <schsim/reports/junit.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "sample_run.hpp"
#include <unistd.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace reports_test {
namespace {

using namespace schsim;
using schsim::reports::test::sample_run;

auto count(const std::string& haystack, const std::string& needle) -> std::size_t {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

auto read_file(const std::filesystem::path& p) -> std::string {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Compares with the golden file; SCHSIM_UPDATE_GOLDEN=1 rewrites it instead.
void expect_golden(const std::string& actual, const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(SCHSIM_REPORTS_GOLDEN_DIR) / name;
  if (const char* update = std::getenv("SCHSIM_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << path;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing; run with SCHSIM_UPDATE_GOLDEN=1";
  EXPECT_EQ(read_file(path), actual)
      << "differs from " << path << " (SCHSIM_UPDATE_GOLDEN=1 rewrites it)";
}

TEST(JsonReport, MatchesGolden) { expect_golden(reports::to_json(sample_run()), "run.json"); }

TEST(JsonReport, HoldsVerdictsSeedsVersionsAndTimeline) {
  const auto doc = nlohmann::json::parse(reports::to_json(sample_run()));
  EXPECT_EQ(doc["format"], "schsim-report");
  EXPECT_EQ(doc["schsim_version"], "0.1.0");
  EXPECT_EQ(doc["suite_version"], "1");
  ASSERT_EQ(doc["cases"].size(), 2U);
  const auto& first = doc["cases"][0];
  EXPECT_EQ(first["seed"], 42);
  EXPECT_EQ(first["outcome"], "passed");
  EXPECT_EQ(first["checks"][1]["id"], "handoff_timing");
  EXPECT_EQ(first["checks"][1]["tolerances"][0]["high"], 2000.0);
  EXPECT_EQ(first["timeline"][6]["kind"], "push_written");
  EXPECT_EQ(first["timeline"][6]["name"], "MOVING");
  EXPECT_EQ(doc["cases"][1]["process"]["exit_code"], 1);
}

TEST(JsonReport, RoundTrips) {
  const auto text = reports::to_json(sample_run());
  const auto back = reports::run_from_json(text);
  EXPECT_EQ(reports::to_json(back), text);
}

TEST(JsonReport, RejectsWhatIsNotAReport) {
  EXPECT_THROW(reports::run_from_json("{}"), std::runtime_error);
  EXPECT_THROW(reports::run_from_json("not json"), std::runtime_error);
}

TEST(JsonReport, SurvivesInvalidUtf8InStderr) {
  auto run = sample_run();
  run.cases[1].process.stderr_tail = "bad \xff\xfe bytes";
  EXPECT_NO_THROW(nlohmann::json::parse(reports::to_json(run)));
}

TEST(JunitReport, MatchesGolden) {
  expect_golden(reports::to_junit_xml(sample_run()), "junit.xml");
}

TEST(JunitReport, CountsFailuresErrorsAndSkips) {
  const auto xml = reports::to_junit_xml(sample_run());
  // 2 + 2 checks + the crashed case's session test case.
  EXPECT_NE(xml.find("<testsuites name=\"schsim 0.1.0\" tests=\"5\" failures=\"1\" errors=\"1\" "
                     "skipped=\"1\""),
            std::string::npos)
      << xml;
  EXPECT_EQ(count(xml, "<failure "), 1U);
  EXPECT_EQ(count(xml, "<error "), 1U);
  EXPECT_NE(xml.find("AssertionError [ERR_ASSERTION]: &lt;null endpoint&gt;"), std::string::npos);
  EXPECT_NE(xml.find("node &lt;x&gt; &amp; &quot;y&quot;"), std::string::npos);
}

TEST(JunitReport, NonCriticalFailureIsNotAFailure) {
  auto run = sample_run();
  run.cases.resize(1);
  run.cases[0].checks[0].outcome = verdict::status::fail;
  run.cases[0].checks[0].critical = false;
  const auto xml = reports::to_junit_xml(run);
  EXPECT_EQ(count(xml, "<failure "), 0U);
  EXPECT_NE(xml.find("zero_dropped (non-critical)"), std::string::npos);
}

TEST(HtmlReport, CaseMatchesGolden) {
  const auto run = sample_run();
  expect_golden(reports::to_html_case(run, run.cases[0]), "case.html");
}

TEST(HtmlReport, MatrixMatchesGolden) {
  expect_golden(reports::to_html_matrix(sample_run()), "index.html");
}

TEST(HtmlReport, IsSelfContained) {
  const auto run = sample_run();
  for (const auto& page :
       {reports::to_html_case(run, run.cases[0]), reports::to_html_case(run, run.cases[1]),
        reports::to_html_matrix(run)}) {
    // The only URL allowed is the SVG namespace, which is an identifier, not a fetch.
    std::string without_ns = page;
    for (auto pos = without_ns.find("http://www.w3.org/2000/svg"); pos != std::string::npos;
         pos = without_ns.find("http://www.w3.org/2000/svg")) {
      without_ns.erase(pos, 26);
    }
    EXPECT_EQ(without_ns.find("http:"), std::string::npos);
    EXPECT_EQ(without_ns.find("https:"), std::string::npos);
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_EQ(page.find("<link"), std::string::npos);
    EXPECT_EQ(page.find(" src="), std::string::npos);
  }
}

TEST(HtmlReport, CasePageHasLanesWindowsPlotAndEvidence) {
  const auto run = sample_run();
  const auto html = reports::to_html_case(run, run.cases[0]);
  EXPECT_NE(html.find("id=\"timeline-svg\""), std::string::npos);
  EXPECT_NE(html.find("id=\"latency-svg\""), std::string::npos);
  // One lane label per connection.
  EXPECT_NE(html.find(">#1 node-a</text>"), std::string::npos);
  EXPECT_NE(html.find(">#2 node-b</text>"), std::string::npos);
  // The MOVING window is shaded on both plots.
  EXPECT_EQ(count(html, "<title>MOVING seq 7 grace 2 s"), 2U);
  EXPECT_NE(html.find("id=\"check-handoff_timing\""), std::string::npos);
  EXPECT_NE(html.find("[0, grace) with grace = 2 s"), std::string::npos);
  EXPECT_NE(html.find("push MOVING seq 7 time 2 s (step s1)"), std::string::npos);
}

TEST(HtmlReport, CrashedCaseShowsExitAndStderr) {
  const auto run = sample_run();
  const auto html = reports::to_html_case(run, run.cases[1]);
  EXPECT_NE(html.find("exited with status 1"), std::string::npos);
  EXPECT_NE(html.find("AssertionError [ERR_ASSERTION]: &lt;null endpoint&gt;"), std::string::npos);
  EXPECT_NE(html.find("no connections were made"), std::string::npos);
}

TEST(HtmlReport, MatrixLinksEveryCase) {
  const auto run = sample_run();
  const auto html = reports::to_html_matrix(run);
  EXPECT_NE(html.find("href=\"cases/moving-basic--reference--r0.html\""), std::string::npos);
  EXPECT_NE(html.find("href=\"cases/moving-null-endpoint--node__x_____y_--r1.html\""),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<th><code>timeout_relaxation</code></th>"), std::string::npos);
  EXPECT_EQ(count(html, "class=\"cell c-fail\""), 1U);
}

TEST(ConsoleReport, ProgressLineNamesFailedChecks) {
  const auto run = sample_run();
  const auto line = reports::format_progress(run.cases[1], 2, 12, reports::color::off);
  EXPECT_NE(line.find("[ 2/12] moving-null-endpoint #2"), std::string::npos) << line;
  EXPECT_NE(line.find("CRASHED"), std::string::npos) << line;
  EXPECT_NE(line.find("failed: zero_dropped"), std::string::npos) << line;
}

TEST(ConsoleReport, SummaryShowsFailuresWithEvidenceAndTotals) {
  const auto text = reports::format_summary(sample_run(), reports::color::off);
  EXPECT_NE(text.find("CRASHED moving-null-endpoint #2"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL zero_dropped: 3 of 10 commands got no result"), std::string::npos)
      << text;
  EXPECT_NE(text.find("    | AssertionError"), std::string::npos) << text;
  EXPECT_NE(text.find("2 cases: 1 passed, 1 crashed"), std::string::npos) << text;
  EXPECT_EQ(text.find("\x1b["), std::string::npos);
  EXPECT_NE(reports::format_summary(sample_run(), reports::color::ansi).find("\x1b[31;1m"),
            std::string::npos);
}

TEST(ReportFiles, WritesEveryFormat) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("schsim-reports-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto written = reports::write_reports(sample_run(), dir);
  EXPECT_EQ(written.size(), 5U);
  for (const auto* name :
       {"report.json", "junit.xml", "index.html", "cases/moving-basic--reference--r0.html"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / name)) << name;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

namespace cluster_rendering {

/// The sample's first case with what a cluster run adds: a slot migration window, a -MOVED
/// answered on a node connection and the migration's start and end.
auto cluster_run() -> schsim::verdict::run_result {
  namespace tl = schsim::timeline;
  auto run = sample_run();
  auto& c = run.cases[0];
  c.windows.push_back({"slot_migration", "slots 0-2730 node-a -> node-b",
                       c.timeline.front().t_ns + 200'000'000, c.timeline.front().t_ns + 900'000'000,
                       "node-a"});
  const auto t = c.timeline.front().t_ns;
  c.timeline.push_back({t + 300'000'000, "node-a", 1,
                        tl::cluster_redirect{tl::cluster_redirect::kind::moved, 1234, "node-b",
                                             "127.0.0.1:7002", "INCR"}});
  c.timeline.push_back(
      {t + 200'000'000, "", 0, tl::slot_migration_started{"node-a", "node-b", "0-2730"}});
  c.timeline.push_back(
      {t + 900'000'000, "", 0, tl::slot_migration_completed{"node-a", "node-b", "0-2730"}});
  return run;
}

TEST(ClusterReport, HtmlShadesMigrationsAndMarksRedirects) {
  const auto run = cluster_run();
  const auto html = reports::to_html_case(run, run.cases[0]);
  EXPECT_NE(html.find("fill=\"#9c5bd633\"><title>slots 0-2730 node-a -&gt; node-b"),
            std::string::npos);
  EXPECT_NE(html.find("INCR answered -MOVED 1234 127.0.0.1:7002 (node node-b)"), std::string::npos);
  EXPECT_NE(html.find("slots 0-2730 migrated node-a -&gt; node-b"), std::string::npos);
}

TEST(ClusterReport, JsonKeepsClusterEventsThroughARoundTrip) {
  const auto text = reports::to_json(cluster_run());
  const auto doc = nlohmann::json::parse(text);
  const auto& timeline = doc["cases"][0]["timeline"];
  EXPECT_TRUE(std::any_of(timeline.begin(), timeline.end(), [](const auto& e) {
    return e["kind"] == "cluster_redirect" && e["redirect"] == "MOVED" && e["slot"] == 1234;
  }));
  EXPECT_EQ(reports::to_json(reports::run_from_json(text)), text);
}

}  // namespace cluster_rendering

namespace pubsub_rendering {

/// The sample's first case with a PUBLISH and its delivery through a pattern.
auto pubsub_run() -> schsim::verdict::run_result {
  namespace tl = schsim::timeline;
  auto run = sample_run();
  auto& c = run.cases[0];
  const auto t = c.timeline.front().t_ns;
  c.timeline.push_back(
      {t + 300'000'000, "node-a", 1, tl::pubsub_published{"news", false, 2, 1, 5}});
  c.timeline.push_back(
      {t + 300'100'000, "node-a", 1, tl::pubsub_delivered{"news", "n*", false, 1, 5}});
  c.timeline.push_back(
      {t + 300'200'000, "node-a", 1, tl::pubsub_delivered{"news", "", false, std::nullopt, 9}});
  return run;
}

TEST(PubSubReport, JsonKeepsPubSubEventsThroughARoundTripAndHtmlDescribesThem) {
  const auto run = pubsub_run();
  const auto text = reports::to_json(run);
  const auto doc = nlohmann::json::parse(text);
  const auto& timeline = doc["cases"][0]["timeline"];
  EXPECT_TRUE(std::any_of(timeline.begin(), timeline.end(), [](const auto& e) {
    return e["kind"] == "pubsub_published" && e["channel"] == "news" && e["receivers"] == 2 &&
           e["payload_seq"] == 1;
  }));
  EXPECT_TRUE(std::any_of(timeline.begin(), timeline.end(), [](const auto& e) {
    return e["kind"] == "pubsub_delivered" && e["payload_seq"].is_null() && e["bytes"] == 9;
  }));
  EXPECT_EQ(reports::to_json(reports::run_from_json(text)), text);
  const auto html = reports::to_html_case(run, run.cases[0]);
  EXPECT_NE(html.find("PUBLISH news (5 bytes, seq 1) to 2 receiver(s)"), std::string::npos);
  EXPECT_NE(html.find("pmessage news via n* delivered (5 bytes, seq 1)"), std::string::npos);
}

}  // namespace pubsub_rendering

namespace list_rendering {

/// The sample's first case with a producer's push, a written pop and a lost one.
auto list_run() -> schsim::verdict::run_result {
  namespace tl = schsim::timeline;
  auto run = sample_run();
  auto& c = run.cases[0];
  const auto t = c.timeline.front().t_ns;
  c.timeline.push_back({t + 400'000'000, "", 0, tl::list_pushed{"jobs", "job:1", true}});
  c.timeline.push_back({t + 400'100'000, "node-a", 1,
                        tl::list_popped{"jobs", "job:1", 7, tl::list_popped::outcome::written}});
  c.timeline.push_back({t + 400'200'000, "node-a", 1,
                        tl::list_popped{"jobs", "job:2", 8, tl::list_popped::outcome::lost}});
  return run;
}

TEST(ListReport, JsonKeepsListEventsThroughARoundTripAndHtmlDescribesThem) {
  const auto run = list_run();
  const auto text = reports::to_json(run);
  const auto doc = nlohmann::json::parse(text);
  const auto& timeline = doc["cases"][0]["timeline"];
  EXPECT_TRUE(std::any_of(timeline.begin(), timeline.end(), [](const auto& e) {
    return e["kind"] == "list_pushed" && e["key"] == "jobs" && e["producer"] == true;
  }));
  EXPECT_TRUE(std::any_of(timeline.begin(), timeline.end(), [](const auto& e) {
    return e["kind"] == "list_popped" && e["element"] == "job:2" && e["command"] == 8 &&
           e["result"] == "lost";
  }));
  EXPECT_EQ(reports::to_json(reports::run_from_json(text)), text);
  const auto html = reports::to_html_case(run, run.cases[0]);
  EXPECT_NE(html.find("job:1 pushed onto list jobs by the producer"), std::string::npos);
  EXPECT_NE(html.find("job:2 popped from list jobs by #8 was lost"), std::string::npos);
}

}  // namespace list_rendering
}  // namespace reports_test
