#include <schsim/reports/explore.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "text_util.hpp"

namespace schsim::reports {
namespace {

using detail::escape_xml;

constexpr std::string_view explore_style =
    "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}"
    "main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}h1{font-size:22px}"
    "h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dce3}"
    "table{border-collapse:collapse;background:#fff}th,td{border:1px solid #d8dce3;"
    "padding:3px 8px;text-align:left;vertical-align:top}th{background:#eef0f4}"
    "pre,code{font-family:ui-monospace,monospace;font-size:12.5px}pre{background:#fff;"
    "border:1px solid #d8dce3;padding:8px;overflow-x:auto}.race{color:#b7791f;font-weight:600}"
    ".deterministic{color:#c62828;font-weight:600}.none{color:#2e8540;font-weight:600}";

auto link(const std::string& href, const std::string& text) -> std::string {
  if (href.empty()) {
    return escape_xml(text);
  }
  return fmt::format("<a href=\"{}\">{}</a>", escape_xml(href), escape_xml(text));
}

auto meta_table(const explore_summary& s) -> std::string {
  const std::vector<std::pair<std::string, std::string>> rows{
      {"schsim", s.schsim_version},
      {"started", s.started_at},
      {"command", s.command_line},
      {"client", s.client},
      {"seed", std::to_string(s.seed)},
      {"profile", s.profile},
      {"cases run", fmt::format("{} ({} passed, {} unsupported, {} failed) in {:.0f} s",
                                s.cases_run, s.passed, s.unsupported, s.failed, s.explore_seconds)},
      {"shrinking", fmt::format("{:.0f} s", s.shrink_seconds)},
      {"stopped", s.stopped_because},
  };
  std::string out = "<table>\n";
  for (const auto& [key, value] : rows) {
    out += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", escape_xml(key), escape_xml(value));
  }
  return out + "</table>\n";
}

auto failure_section(const explore_failure& f, std::size_t n) -> std::string {
  std::string out = fmt::format(
      "<h2 id=\"failure-{}\">{}. {} &mdash; {} {}</h2>\n<p>{}</p>\n<table>\n", n, n,
      escape_xml(f.case_id), escape_xml(f.outcome), escape_xml(f.check), escape_xml(f.summary));
  if (!f.violations.empty()) {
    out += fmt::format("<tr><td>rules broken</td><td><code>{}</code></td></tr>\n",
                       escape_xml(fmt::format("{}", fmt::join(f.violations, ", "))));
  }
  out += fmt::format(
      "<tr><td>kind</td><td><span class=\"{}\">{}</span> (the minimal scenario failed {} of "
      "{} runs)</td></tr>\n",
      escape_xml(f.classification), escape_xml(f.classification), f.confirmed, f.confirm_runs);
  out += fmt::format(
      "<tr><td>steps</td><td>{} generated, {} after shrinking ({} candidates "
      "judged{})</td></tr>\n",
      f.original_steps, f.minimal_steps, f.shrink_attempts,
      f.shrink_budget_exhausted ? ", budget spent: not a local minimum" : "");
  out += fmt::format("<tr><td>files</td><td>{} &middot; {}</td></tr>\n",
                     link(f.minimal_file, "minimal scenario"),
                     link(f.original_file, "generated scenario"));
  out += fmt::format("<tr><td>reports</td><td>{} &middot; {}</td></tr>\n",
                     link(f.minimal_page, "minimal run"), link(f.original_page, "original run"));
  out +=
      fmt::format("<tr><td>reproduce</td><td><code>{}</code></td></tr>\n", escape_xml(f.reproduce));
  if (!f.same_failure_cases.empty()) {
    std::string others;
    for (const auto& c : f.same_failure_cases) {
      others += (others.empty() ? "" : ", ") + c;
    }
    out +=
        fmt::format("<tr><td>also failed (not shrunk)</td><td>{}</td></tr>\n", escape_xml(others));
  }
  out += "</table>\n<details><summary>shrink steps</summary>\n<ol>\n";
  for (const auto& c : f.changes) {
    out += fmt::format("<li>{}</li>\n", escape_xml(c));
  }
  out += "</ol>\n</details>\n";
  return out + fmt::format("<pre>{}</pre>\n", escape_xml(f.minimal_toml));
}

}  // namespace

auto to_html_explore(const explore_summary& s) -> std::string {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>schsim explore</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n"
      "<h1>schsim explore</h1>\n",
      explore_style);
  out += meta_table(s);
  if (s.failures.empty()) {
    out += "<p class=\"none\">No generated case failed.</p>\n";
  }
  for (std::size_t i = 0; i < s.failures.size(); ++i) {
    out += failure_section(s.failures[i], i + 1);
  }
  out +=
      "<p>index.html lists every case kept (each failing generated case and the runs of its "
      "minimal scenario) with its checks; report.json holds everything.</p>\n";
  return out + "</main>\n</body>\n</html>\n";
}

}  // namespace schsim::reports
