#pragma once
/**
 * @file
 * @brief The range of every numeric value a scenario may hold (scenarios/README.md, "Ranges").
 *
 * Wide enough for any real scenario, narrow enough that one run's memory stays bounded whatever
 * a file says: the loader rejects a value outside its range at its file:line:column, the
 * validator rejects combinations (a rate times a duration) that would schedule more commands
 * than one run keeps, and the harness's own schedule never exceeds max_commands_per_run even
 * for a scenario built in code and never validated.
 */

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace schsim::scenario::limits {

/// Any duration in a scenario (the scenario's own, timeouts, step delays, windows): [0, 1 h].
inline constexpr std::chrono::milliseconds max_duration{std::chrono::hours{1}};
/// workload.rate, commands per second: [0, 10000].
inline constexpr double max_rate = 10'000;
/// Load plus probe commands one run may schedule (rate x workload duration + probes).
inline constexpr std::uint64_t max_commands_per_run = 100'000;
/// workload.value_size, bytes per SET value: [0, 64 KiB] (a GET's reply comes back through a
/// driver line, which is at most 1 MiB).
inline constexpr std::int64_t max_value_size = 64 * 1024;
/// workload.keys: [1, 2^40] (only drawn from, never allocated).
inline constexpr std::int64_t max_keys = std::int64_t{1} << 40;
/// client.pool_size: [1, 1024].
inline constexpr std::int64_t max_pool_size = 1024;
/// `time` of a notification and the composites' *_time, whole seconds on the wire: [0, 3600].
inline constexpr std::int64_t max_notification_time_s = 3600;
/// expect.reconnects min and max, a step's `connection` number: [0, 1000000].
inline constexpr std::int64_t max_count = 1'000'000;
/// fragment's `chunk`, bytes per write: [0, 1 MiB].
inline constexpr std::int64_t max_chunk_bytes = 1 << 20;
/// workload.pubsub.channels: [1, 1000] (every channel is one subscription of the client).
inline constexpr std::int64_t max_pubsub_channels = 1000;
/// workload.blocking.keys: [1, 1000] (every key is one argument of each blocking call).
inline constexpr std::int64_t max_blocking_keys = 1000;
/// workload.blocking.timeout, seconds: [0, 3600] (0 blocks forever, as in Redis).
inline constexpr double max_blocking_timeout_s = 3600;
/// workload.transactions.size, INCRs per MULTI block: [1, 100].
inline constexpr std::int64_t max_transaction_size = 100;
/// workload.mix weights: [0, 1000000].
inline constexpr std::int64_t max_weight = 1'000'000;

}  // namespace schsim::scenario::limits
