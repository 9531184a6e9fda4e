#pragma once

#include <schsim/core/scenario/model.hpp>
#include <schsim/core/verdict.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::harness {

/// How a case's outcome_detail starts when the driver broke docs/driver-protocol.md (the case
/// is then an error: a driver bug, not a client's conformance failure).
inline constexpr std::string_view driver_protocol_error_prefix = "driver protocol error";

/// The client under test: how to start its driver (docs/driver-protocol.md).
struct client_spec {
  /// Shown in reports: "reference", "reference --broken=no-relax", or the command line.
  std::string name;
  std::vector<std::string> argv;
  /// Extra "NAME=value" environment entries for the driver.
  std::vector<std::string> env;
};

/// Per-case knobs.
struct case_options {
  client_spec client;
  /// Overrides the scenario's seed; nullopt: the scenario's, else one drawn and reported.
  std::optional<std::uint64_t> seed;
  int repetition = 0;
  std::string scenario_file;
  /// Longest wait for each of `hello`, `configured` and `bye`.
  std::chrono::milliseconds reply_timeout{10'000};
  /// Extra time granted after the last command for its result, beyond twice the longest
  /// timeout the client was given.
  std::chrono::milliseconds watchdog_slack{5'000};
  /// Debug lines (driver protocol traffic, phases); may be empty.
  std::function<void(std::string_view)> log;
};

/**
 * @brief Runs one scenario against one client and judges it. Never throws for anything the
 * client does: a driver that cannot start, says unsupported, crashes, hangs or talks nonsense
 * ends up in the returned case_result with its evidence.
 *
 * Starts the simulator in-process on OS-chosen loopback ports, starts the driver, runs the
 * handshake (`hello`, `configure`, `connect`), then the scenario's timeline and the open-loop
 * workload together, waits for every result (watchdog), shuts the driver down, and evaluates
 * the checks over the recorded timeline. Blocks; runs its own io_context, so several cases may
 * run in parallel on different threads.
 */
auto run_case(const scenario::scenario& scn, const case_options& options) -> verdict::case_result;

}  // namespace schsim::harness
