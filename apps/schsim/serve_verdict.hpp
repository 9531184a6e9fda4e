#pragma once
// The server-side verdict of `schsim serve` (GET /schsim/verdict, --report): the harness's checks
// over what the simulator recorded, with no driver.

#include <schsim/core/scenario/model.hpp>
#include <schsim/core/timeline/event.hpp>
#include <schsim/core/verdict.hpp>
#include <schsim/simulator/server.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace schsim::app {

struct served_record {
  /// The served scenario with every step that ran or was scheduled: the scenario's own
  /// timeline (expanded) and the fault injector's steps.
  scenario::scenario scn;
  std::vector<timeline::event> events;
  std::vector<simulator::endpoint_info> endpoints;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::uint64_t seed = 0;
  std::string command_line;
};

/// One case: the checks judged over the record (run_checks with empty driver facts).
auto serve_verdict(const served_record& r) -> verdict::run_result;

}  // namespace schsim::app
