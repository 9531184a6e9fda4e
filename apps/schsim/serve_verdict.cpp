#include "serve_verdict.hpp"

#include <schsim/harness/checks.hpp>

#include "paths.hpp"

namespace schsim::app {

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
  harness::driver_facts facts;
  facts.absent = true;
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
