#pragma once
/**
 * @file
 * @brief schsim::scenario::scenario → scenario file text (TOML), the inverse of load.hpp.
 *
 * Written with toml++ (no hand-made quoting or escaping), section by section in the order a
 * person reads a scenario: [scenario], [topology], [client], [workload], [expect], then the
 * steps in file order. Keys whose value is the model's default are left out (a composite's
 * `latency` and `late_close` of 0 too), so the file says only what matters; durations are spelled "2s" or "250ms". load_string() of the text
 * gives back a scenario equal to the one written (tested for every generated scenario), with
 * two normalisations the file format imposes: workload.mix is read back in key order, and an
 * unnamed step gets the id the loader would give it.
 */

#include <schsim/core/scenario/model.hpp>

#include <string>

namespace schsim::scenario_io {

/// The scenario as the text of a scenario file that `schsim check` accepts when the scenario
/// itself is valid (scenario::validate() finds nothing).
auto to_toml(const scenario::scenario& s) -> std::string;

}  // namespace schsim::scenario_io
