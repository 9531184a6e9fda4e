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
  /// Shown in reports: "reference", "reference --broken=no-relax", the NAME of NAME=COMMAND,
  /// or the command line (replaced by the driver's hello when name_from_hello).
  std::string name;
  /// The user gave only a command line: once the driver says hello, the client is named by its
  /// `client` and `version` ("go-redis 9.23.0"), not by the path of the command.
  bool name_from_hello = false;
  std::vector<std::string> argv;
  /// Extra "NAME=value" environment entries for the driver.
  std::vector<std::string> env;
};

/// The name a driver's hello gives its client: "go-redis 9.23.0", or "go-redis" without a
/// version.
auto client_name_from_hello(std::string_view client, std::string_view version) -> std::string;

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
