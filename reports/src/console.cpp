#include <schsim/reports/console.hpp>

#include <fmt/format.h>

#include <map>

#include "text_util.hpp"

namespace schsim::reports {

namespace {

namespace v = schsim::verdict;

auto paint(color use_color, std::string_view code, std::string_view text) -> std::string {
  if (use_color == color::off) {
    return std::string(text);
  }
  return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
}

auto outcome_label(v::case_outcome o, color use_color) -> std::string {
  switch (o) {
    case v::case_outcome::passed:
      return paint(use_color, "32", "PASS");
    case v::case_outcome::failed:
      return paint(use_color, "31;1", "FAIL");
    case v::case_outcome::unsupported:
      return paint(use_color, "33", "UNSUPPORTED");
    case v::case_outcome::crashed:
      return paint(use_color, "35;1", "CRASHED");
    case v::case_outcome::hung:
      return paint(use_color, "35;1", "HUNG");
    case v::case_outcome::error:
      return paint(use_color, "35;1", "ERROR");
    case v::case_outcome::inconclusive:
      return paint(use_color, "33;1", "INCONCLUSIVE");
  }
  return "?";
}

auto status_label(v::status s, color use_color) -> std::string {
  switch (s) {
    case v::status::pass:
      return paint(use_color, "32", "pass");
    case v::status::fail:
      return paint(use_color, "31;1", "FAIL");
    case v::status::unsupported:
      return paint(use_color, "33", "unsupported");
    case v::status::skipped:
      return paint(use_color, "2", "skipped");
    case v::status::not_judged:
      return paint(use_color, "33;1", "NOT JUDGED");
  }
  return "?";
}

auto case_name(const v::case_result& c) -> std::string {
  return c.repetition > 0 ? fmt::format("{} #{}", c.scenario_id, c.repetition + 1) : c.scenario_id;
}

}  // namespace

auto format_progress(const verdict::case_result& c, std::size_t done, std::size_t total,
                     color use_color) -> std::string {
  const int width = static_cast<int>(fmt::format("{}", total).size());
  std::string failed;
  for (const auto& check : c.checks) {
    if (check.outcome == v::status::fail) {
      failed += (failed.empty() ? "" : ", ") + check.id;
    }
  }
  std::string tail;
  if (!failed.empty()) {
    tail = "  failed: " + failed;
  } else if (c.outcome != v::case_outcome::passed && !c.outcome_detail.empty()) {
    tail = "  " + c.outcome_detail;
  }
  // Room for a name from a driver's hello ("node-redis 5.10.0"); a long command line is cut.
  constexpr std::size_t longest_name = 24;
  return fmt::format(
      "[{:>{}}/{}] {:<32} {:<17} {:<11} {:>9}{}", done, width, total, case_name(c),
      c.client.name.size() > longest_name ? c.client.name.substr(0, longest_name) : c.client.name,
      outcome_label(c.outcome, use_color), detail::format_duration(detail::case_duration_ns(c)),
      tail);
}

auto format_case_details(const verdict::case_result& c, color use_color) -> std::string {
  std::string out = fmt::format("{} ({}, seed {}): {}{}\n", case_name(c), c.client.name, c.seed,
                                outcome_label(c.outcome, use_color),
                                c.outcome_detail.empty() ? "" : " - " + c.outcome_detail);
  for (const auto& check : c.checks) {
    out += fmt::format("  {:<20} {:<11} {}\n", check.id, status_label(check.outcome, use_color),
                       check.summary);
  }
  return out;
}

auto format_summary(const verdict::run_result& run, color use_color) -> std::string {
  std::map<v::case_outcome, std::size_t> counts;
  std::string out;
  for (const auto& c : run.cases) {
    ++counts[c.outcome];
    if (c.outcome == v::case_outcome::passed) {
      continue;
    }
    out += fmt::format("\n{} {} ({}, seed {})", outcome_label(c.outcome, use_color), case_name(c),
                       c.client.name, c.seed);
    out += c.outcome_detail.empty() ? "\n" : ": " + c.outcome_detail + "\n";
    for (const auto& check : c.checks) {
      if (check.outcome != v::status::fail && check.outcome != v::status::not_judged) {
        continue;
      }
      out += fmt::format("  {} {}: {}\n", status_label(check.outcome, use_color), check.id,
                         check.summary);
      std::size_t shown = 0;
      for (const auto& finding : check.findings) {
        if (++shown > 5) {
          out += fmt::format("      ... {} more\n", check.findings.size() - 5);
          break;
        }
        out += "    - " + finding + "\n";
      }
      for (const auto& t : check.tolerances) {
        out += fmt::format("    band {}: {} ({})\n", t.name, detail::format_band(t), t.rule);
      }
    }
    if ((c.outcome == v::case_outcome::crashed || c.outcome == v::case_outcome::hung) &&
        !c.process.stderr_tail.empty()) {
      out += "  stderr (tail):\n";
      std::string_view tail = c.process.stderr_tail;
      std::size_t start = 0;
      while (start < tail.size()) {
        const auto nl = tail.find('\n', start);
        const auto line = tail.substr(start, nl == std::string_view::npos ? nl : nl - start);
        out += "    | " + std::string(line) + "\n";
        if (nl == std::string_view::npos) {
          break;
        }
        start = nl + 1;
      }
    }
  }
  std::string totals;
  for (const auto& [outcome, n] : counts) {
    totals += fmt::format("{}{} {}", totals.empty() ? "" : ", ", n, v::to_string(outcome));
  }
  out += fmt::format("\n{} case{}: {}\n", run.cases.size(), run.cases.size() == 1 ? "" : "s",
                     totals.empty() ? "none" : totals);
  return out;
}

}  // namespace schsim::reports
