#pragma once
/**
 * @file
 * @brief Random maintenance schedules: a grammar over what the scenario format can express.
 *
 * A generated scenario is a client configuration (timeouts near the values real clients use),
 * an open-loop workload, and a timeline of one to four *episodes* anchored on the client's
 * first handshake, placed so that they often overlap:
 *
 * - standalone: maintenance windows (MIGRATING/FAILING_OVER pairs by hand or through the fault
 *   injector's composites, duplicated or out-of-order seqs, any payload dialect) with reply
 *   latency or stalls inside them; a MOVING (to a new endpoint or null, duplicated, late or RST
 *   close) or a Redis Software upgrade (rolling, maintenance mode, in-place); and faults around
 *   them: latency and stalls outside windows, fragmented writes, foreign pushes, server closes;
 * - cluster: slot migrations, node removals and additions and shuffles that follow the current
 *   ownership, SMIGRATED to the source or to every node, redelivered, with the same faults.
 *
 * Every value is chosen so that a correct client passes: latency inside a window stays below
 * the relaxed timeout, latency outside one is either clearly below the normal timeout or
 * clearly above it (the client must then time out in band), and errors are tolerated only
 * where the scenario provokes them (server closes and restarts). Timings are drawn close to the
 * boundaries the checks use (the 10% margin around the timeout, the MOVING grace, the 1 s
 * topology refresh). Sans-I/O: a pure function of (seed, index, profile).
 */

#include <schsim/core/scenario/model.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace schsim::explore {

/// Which kinds of deployment the generator draws.
enum class profile { standalone, cluster, all };

auto to_string(profile p) -> std::string_view;
auto parse_profile(std::string_view s) -> std::optional<profile>;

/**
 * Scenario `index` of the exploration started with `seed`: the same arguments give the same
 * scenario (and, written with scenario_io::to_toml, the same bytes). Its id is
 * `explore-<seed>-<index>`, its own seed case_seed(seed, index), and it passes
 * scenario::validate(). With profile::all each case is standalone or cluster with equal odds,
 * drawn from the case's own seed.
 */
auto generate(std::uint64_t seed, std::uint64_t index, profile which) -> scenario::scenario;

/**
 * When the last step of `s` is scheduled, counting steps triggered by observed client state
 * (`when`) from `assumed_first_handshake` after the start: validate() cannot know that time,
 * so the generator and the shrinker use this to keep every step inside the run.
 */
auto estimated_timeline_end(const scenario::scenario& s,
                            std::chrono::milliseconds assumed_first_handshake)
    -> std::chrono::milliseconds;

/// The shortest duration that leaves `tail` after the estimated end of the timeline (with the
/// first handshake assumed 500 ms in), rounded up to 500 ms.
auto required_duration(const scenario::scenario& s, std::chrono::milliseconds tail)
    -> std::chrono::milliseconds;

}  // namespace schsim::explore
