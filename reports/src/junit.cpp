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

/// The <testsuite> (and <testsuites>) counters.
struct junit_counts {
  std::size_t tests = 0;
  std::size_t failures = 0;
  std::size_t errors = 0;
  std::size_t skipped = 0;

  auto operator+=(const junit_counts& o) -> junit_counts& {
    tests += o.tests;
    failures += o.failures;
    errors += o.errors;
    skipped += o.skipped;
    return *this;
  }
};

/// The "session" test case of a case whose session broke: an <error> saying why.
auto session_error_case(const v::case_result& c, const std::string& classname, junit_counts& counts)
    -> std::string {
  ++counts.tests;
  ++counts.errors;
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
  return fmt::format(
      "    <testcase classname=\"{}\" name=\"session\" time=\"0\">\n"
      "      <error type=\"{}\" message=\"{}\">{}</error>\n"
      "    </testcase>\n",
      escape_xml(classname), v::to_string(c.outcome), escape_xml(c.outcome_detail),
      escape_xml(body));
}

/// What a check's <testcase> holds: nothing for a pass, else its failure, error or skip.
auto check_case_body(const v::check_result& check, junit_counts& counts) -> std::string {
  switch (check.outcome) {
    case v::status::pass:
      return {};
    case v::status::fail:
      if (!check.critical) {
        return fmt::format("      <system-out>{}</system-out>\n", escape_xml(evidence_text(check)));
      }
      ++counts.failures;
      return fmt::format("      <failure type=\"check\" message=\"{}\">{}</failure>\n",
                         escape_xml(check.summary), escape_xml(evidence_text(check)));
    case v::status::not_judged:
      if (check.critical) {
        ++counts.errors;
        return fmt::format("      <error type=\"not_judged\" message=\"{}\"/>\n",
                           escape_xml(check.summary));
      }
      [[fallthrough]];
    case v::status::unsupported:
    case v::status::skipped:
      ++counts.skipped;
      return fmt::format("      <skipped message=\"{}: {}\"/>\n", v::to_string(check.outcome),
                         escape_xml(check.summary));
  }
  return {};
}

auto check_case(const v::check_result& check, const std::string& classname, junit_counts& counts)
    -> std::string {
  ++counts.tests;
  const bool non_critical_failure = check.outcome == v::status::fail && !check.critical;
  const std::string name = non_critical_failure ? check.id + " (non-critical)" : check.id;
  const std::string inner = check_case_body(check, counts);
  if (inner.empty()) {
    return fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"0\"/>\n",
                       escape_xml(classname), escape_xml(name));
  }
  return fmt::format(
      "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">\n{}"
      "    </testcase>\n",
      escape_xml(classname), escape_xml(name), inner);
}

/// One case as a <testsuite>: its session (when broken) and each check as a test case.
auto case_suite(const verdict::run_result& run, const v::case_result& c, junit_counts& totals)
    -> std::string {
  junit_counts counts;
  std::string cases;
  const std::string classname = "schsim." + c.scenario_id;
  if (session_broken(c)) {
    cases += session_error_case(c, classname, counts);
  }
  for (const auto& check : c.checks) {
    cases += check_case(check, classname, counts);
  }
  totals += counts;
  return fmt::format(
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
      escape_xml(suite_name(c)), counts.tests, counts.failures, counts.errors, counts.skipped,
      seconds(detail::case_duration_ns(c)), escape_xml(c.client.name), escape_xml(c.client.version),
      c.seed, v::to_string(c.outcome), escape_xml(run.suite_version), cases);
}

}  // namespace

auto to_junit_xml(const verdict::run_result& run) -> std::string {
  std::string suites;
  junit_counts totals;
  double total_time = 0;
  for (const auto& c : run.cases) {
    suites += case_suite(run, c, totals);
    total_time += static_cast<double>(detail::case_duration_ns(c)) / 1e9;
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"schsim {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\">\n{}</testsuites>\n",
      escape_xml(run.schsim_version), totals.tests, totals.failures, totals.errors, totals.skipped,
      total_time, suites);
}

}  // namespace schsim::reports
