// The HTML report opens in a real browser: headless Chromium renders a case page to a PNG.
// Skipped (with a message) when chromium is not installed, unless SCHSIM_REQUIRE_TOOLS=1.
#include <gtest/gtest.h>

#include <cstdlib>

#include "harness_support.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace harness_report_test {
namespace {

using namespace schsim::harness_test;

auto chromium_binary() -> std::string {
  for (const auto* name : {"chromium", "chromium-browser", "google-chrome"}) {
    if (have_program(name)) {
      return name;
    }
  }
  return "chromium";
}

TEST(HarnessReport, HtmlRendersInHeadlessChromium) {
  SCHSIM_REQUIRE_PROGRAM(chromium_binary());
  temp_dir out("html");
  const auto r =
      run_schsim("run migrating-latency --client reference -o " + shell_quote(out.path.string()));
  // What is under test is the page, not the verdict: exit 1 (a check failed, e.g. a timeout
  // fired 50 ms late on an overloaded machine, seen at load 9 on 2 cores) writes the same
  // report. Any other exit (usage error, crash) has no page to render.
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.output;
  const auto page = out.path / "cases" / "migrating-latency--reference--r0.html";
  ASSERT_TRUE(fs::exists(page));
  const auto html = read_text(page);
  EXPECT_NE(html.find("id=\"timeline-svg\""), std::string::npos);
  EXPECT_NE(html.find("id=\"latency-svg\""), std::string::npos);
  EXPECT_NE(html.find("MIGRATING seq"), std::string::npos);  // the shaded window

  // Kept in the build tree so a person can look at it.
  const auto png = fs::path(SCHSIM_BINARY_DIR) / "harness-report-screenshot.png";
  fs::remove(png);
  const temp_dir profile("chromium-profile");
  const std::string command =
      chromium_binary() +
      " --headless --no-sandbox --disable-gpu --disable-background-networking"
      " --disable-component-update --disable-sync --no-first-run --hide-scrollbars"
      " --user-data-dir=" +
      shell_quote(profile.path.string()) +
      " --window-size=1280,1600 --screenshot=" + shell_quote(png.string()) + " " +
      shell_quote("file://" + page.string()) + " >/dev/null 2>&1";
  const int rc = std::system(command.c_str());
  EXPECT_EQ(rc, 0) << command;
  ASSERT_TRUE(fs::exists(png)) << command;
  const auto bytes = read_text(png);
  ASSERT_GT(bytes.size(), 10'000U);  // a blank page compresses to far less
  EXPECT_EQ(bytes.substr(1, 3), "PNG");

  // The matrix page renders too.
  const auto index_png = fs::path(SCHSIM_BINARY_DIR) / "harness-report-index.png";
  const std::string index_command =
      chromium_binary() +
      " --headless --no-sandbox --disable-gpu --disable-background-networking"
      " --disable-component-update --disable-sync --no-first-run"
      " --user-data-dir=" +
      shell_quote(profile.path.string()) +
      " --window-size=1280,600 --screenshot=" + shell_quote(index_png.string()) + " " +
      shell_quote("file://" + (out.path / "index.html").string()) + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(index_command.c_str()), 0);
  EXPECT_TRUE(fs::exists(index_png));
}

}  // namespace
}  // namespace harness_report_test
