#include "serve_verdict.hpp"

#include <schsim/harness/checks.hpp>

#include <chrono>
#include <ctime>
#include <iomanip>
#include <sstream>

namespace schsim::app {
namespace {

auto utc_now() -> std::string {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

}  // namespace

auto serve_verdict(const served_record& r) -> verdict::run_result {
  verdict::case_result c;
  c.scenario_id = r.scn.meta.id;
  c.title = r.scn.meta.title;
  c.description = r.scn.meta.description;
  c.tags = r.scn.meta.tags;
  c.seed = r.seed;
  c.client.name = "external client (schsim serve)";
  c.start_ns = r.start_ns;
  c.end_ns = r.end_ns;
  for (const auto& e : r.endpoints) {
    c.endpoints.push_back(verdict::endpoint_ref{e.name, e.address()});
  }
  c.timeline = r.events;
  // No driver: the checks judge from the server's record alone; driver_facts stays empty, so
  // checks that need the client's own results say what they could not judge
  // (docs/control-api.md lists which).
  const harness::driver_facts facts;
  const harness::check_input input{r.scn, c.timeline, facts, c.endpoints, c.start_ns};
  c.windows = harness::derive_windows(input);
  c.checks = harness::run_checks(input);
  c.outcome = verdict::outcome_from_checks(c.checks);
  verdict::run_result run;
  run.schsim_version = SCHSIM_VERSION;
  run.suite_version = r.scn.meta.suite_version;
  run.started_at = utc_now();
  run.command_line = r.command_line;
  run.cases.push_back(std::move(c));
  return run;
}

}  // namespace schsim::app
