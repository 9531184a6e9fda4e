#pragma once

#include <schsim/core/scenario/model.hpp>
#include <schsim/core/verdict.hpp>
#include <schsim/harness/runner.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::harness {

/// A loaded scenario and the file it came from.
struct suite_case {
  scenario::scenario scn;
  std::string file;
};

struct suite_options {
  client_spec client;
  std::optional<std::uint64_t> seed;
  int repeat = 1;
  /// Cases run at once, each with its own simulator on its own ports. Timing checks need CPU:
  /// more jobs than half the cores makes tolerance bands flaky.
  int jobs = 1;
  /// Called after each case (from the thread that ran it, serialised by the suite).
  std::function<void(const verdict::case_result&, std::size_t done, std::size_t total)> on_case;
  std::function<void(std::string_view)> log;
};

/// Runs every case `repeat` times; results in input order, repetitions together.
auto run_cases(const std::vector<suite_case>& cases, const suite_options& options)
    -> std::vector<verdict::case_result>;

/// True when `filters` is empty or one of them is a prefix of the scenario's id (a trailing '*'
/// is allowed: "moving-*") or equals one of its tags.
auto matches_filter(const scenario::scenario& scn, const std::vector<std::string>& filters) -> bool;

/**
 * @brief Where the reference client's driver is: $SCHSIM_REFCLIENT_DRIVER, next to `self_exe`,
 * or in the build tree relative to it (build/apps/schsim/schsim ->
 * build/client-under-test/...), else in PATH. nullopt when none exists.
 */
auto find_reference_driver(const std::filesystem::path& self_exe)
    -> std::optional<std::filesystem::path>;

/**
 * @brief The client_spec for `--client` (and `--broken`): "reference" is the reference driver,
 * anything else a command line run as the driver. Throws std::invalid_argument with a message
 * for the user when it cannot be resolved (`--broken` without "reference", no reference
 * driver, an empty or unparsable command line).
 */
auto resolve_client(const std::string& client, const std::vector<std::string>& broken,
                    const std::filesystem::path& self_exe) -> client_spec;

}  // namespace schsim::harness
