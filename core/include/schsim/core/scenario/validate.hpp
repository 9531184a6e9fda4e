#pragma once
/**
 * @file
 * @brief Checks a scenario for mistakes a schema cannot catch.
 *
 * Cross-references (a step, endpoint or check that does not exist), impossible timing (a step
 * that would run after the scenario ends, a cycle of `after` references), and values out of
 * range. Pure: no I/O, no clock. The scenario is validated as written and again after expand(),
 * so a composite whose generated steps do not fit is reported at the composite.
 */

#include <schsim/core/scenario/model.hpp>

#include <string>
#include <vector>

namespace schsim::scenario {

/**
 * One mistake. `path` names the offending value the way the scenario file spells it, so
 * scenario_io can point at its line and column: `scenario.duration`, `topology.start`,
 * `topology.endpoint[1].name`, `client.timeout`, `workload.mix.set`, `step[3].after.step`,
 * `step[0].to.endpoint`, `expect.checks[2]`. `step[i]` is the i-th [[step]] table (0-based),
 * i.e. step::origin.
 */
struct problem {
  std::string path;
  std::string message;
  /// How to fix it, e.g. "add an endpoint named \"node-c\" under [[topology.endpoint]] or use
  /// one of: node-a, node-b".
  std::string hint;
};

/// Every problem found (section by section, steps in file order); empty when it can run.
auto validate(const scenario& s) -> std::vector<problem>;

}  // namespace schsim::scenario
