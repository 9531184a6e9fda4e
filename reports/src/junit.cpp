#include <schsim/reports/junit.hpp>

#include <fmt/format.h>

#include "text_util.hpp"

namespace schsim::reports {

namespace {

namespace v = schsim::verdict;
using detail::escape_xml;

auto seconds(std::int64_t ns) -> std::string {
  return fmt::format("{:.3f}", static_cast<double>(ns) / 1e9);
}

auto suite_name(const v::case_result& c) -> std::string {
  std::string name = c.scenario_id;
  if (c.repetition > 0) {
    name += fmt::format(" #{}", c.repetition + 1);
  }
  return name;
}

auto evidence_text(const v::check_result& check) -> std::string {
  std::string out = check.summary + "\n";
  for (const auto& f : check.findings) {
    out += "- " + f + "\n";
  }
  for (const auto& f : check.figures) {
    out += fmt::format("{} = {} {}\n", f.name, detail::format_number(f.value), f.unit);
  }
  for (const auto& t : check.tolerances) {
    out += fmt::format("{} must be in {} ({})\n", t.name, detail::format_band(t), t.rule);
  }
  return out;
}

/// True when the driver session did not end normally, or the scenario did not run as written
/// (inconclusive); the case then gets an <error> naming why.
auto session_broken(const v::case_result& c) -> bool {
  return c.outcome == v::case_outcome::crashed || c.outcome == v::case_outcome::hung ||
         c.outcome == v::case_outcome::error || c.outcome == v::case_outcome::inconclusive;
}

}  // namespace

auto to_junit_xml(const verdict::run_result& run) -> std::string {
  std::string suites;
  std::size_t tests = 0;
  std::size_t failures = 0;
  std::size_t errors = 0;
  std::size_t skipped = 0;
  double total_time = 0;
  for (const auto& c : run.cases) {
    std::string cases;
    std::size_t s_tests = 0;
    std::size_t s_failures = 0;
    std::size_t s_errors = 0;
    std::size_t s_skipped = 0;
    const std::string classname = "schsim." + c.scenario_id;
    if (session_broken(c)) {
      ++s_tests;
      ++s_errors;
      std::string body = c.outcome_detail + "\n";
      if (!c.steps_not_run.empty()) {
        body += fmt::format("steps that never ran: {}\n", fmt::join(c.steps_not_run, ", "));
      }
      if (c.process.exit_code) {
        body += fmt::format("exit status {}\n", *c.process.exit_code);
      }
      if (c.process.signal) {
        body += fmt::format("killed by signal {}\n", *c.process.signal);
      }
      if (!c.process.stderr_tail.empty()) {
        body += "stderr (tail):\n" + c.process.stderr_tail;
      }
      cases += fmt::format(
          "    <testcase classname=\"{}\" name=\"session\" time=\"0\">\n"
          "      <error type=\"{}\" message=\"{}\">{}</error>\n"
          "    </testcase>\n",
          escape_xml(classname), v::to_string(c.outcome), escape_xml(c.outcome_detail),
          escape_xml(body));
    }
    for (const auto& check : c.checks) {
      ++s_tests;
      const bool non_critical_failure = check.outcome == v::status::fail && !check.critical;
      const std::string name = non_critical_failure ? check.id + " (non-critical)" : check.id;
      std::string inner;
      switch (check.outcome) {
        case v::status::pass:
          break;
        case v::status::fail:
          if (check.critical) {
            ++s_failures;
            inner = fmt::format("      <failure type=\"check\" message=\"{}\">{}</failure>\n",
                                escape_xml(check.summary), escape_xml(evidence_text(check)));
          } else {
            inner = fmt::format("      <system-out>{}</system-out>\n",
                                escape_xml(evidence_text(check)));
          }
          break;
        case v::status::not_judged:
          if (check.critical) {
            ++s_errors;
            inner = fmt::format("      <error type=\"not_judged\" message=\"{}\"/>\n",
                                escape_xml(check.summary));
            break;
          }
          [[fallthrough]];
        case v::status::unsupported:
        case v::status::skipped:
          ++s_skipped;
          inner = fmt::format("      <skipped message=\"{}: {}\"/>\n", v::to_string(check.outcome),
                              escape_xml(check.summary));
          break;
      }
      if (inner.empty()) {
        cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"0\"/>\n",
                             escape_xml(classname), escape_xml(name));
      } else {
        cases += fmt::format(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">\n{}"
            "    </testcase>\n",
            escape_xml(classname), escape_xml(name), inner);
      }
    }
    const double time = static_cast<double>(detail::case_duration_ns(c)) / 1e9;
    total_time += time;
    suites += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
        "time=\"{}\">\n"
        "    <properties>\n"
        "      <property name=\"client\" value=\"{}\"/>\n"
        "      <property name=\"client_version\" value=\"{}\"/>\n"
        "      <property name=\"seed\" value=\"{}\"/>\n"
        "      <property name=\"outcome\" value=\"{}\"/>\n"
        "      <property name=\"suite_version\" value=\"{}\"/>\n"
        "    </properties>\n"
        "{}  </testsuite>\n",
        escape_xml(suite_name(c)), s_tests, s_failures, s_errors, s_skipped,
        seconds(detail::case_duration_ns(c)), escape_xml(c.client.name),
        escape_xml(c.client.version), c.seed, v::to_string(c.outcome),
        escape_xml(run.suite_version), cases);
    tests += s_tests;
    failures += s_failures;
    errors += s_errors;
    skipped += s_skipped;
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"schsim {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\">\n{}</testsuites>\n",
      escape_xml(run.schsim_version), tests, failures, errors, skipped, total_time, suites);
}

}  // namespace schsim::reports
