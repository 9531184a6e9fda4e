#pragma once

#include <schsim/core/scenario/model.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::harness {

/// One command of the open-loop schedule.
struct scheduled_command {
  std::uint64_t id = 0;                ///< unique in the run, from 1
  std::vector<std::string> args;       ///< e.g. {"INCR", "schsim:ctr:17"}
  std::chrono::nanoseconds offset{0};  ///< intended send time, from the workload's start
  std::string purpose;                 ///< "load" or "probe"
};

/**
 * @brief The run's commands at their intended times, drawn from `seed` (same seed, same
 * schedule).
 *
 * Load commands are evenly spaced at `w.rate` per second from 1/rate until `w.duration` (or
 * `run_length`), open-loop: nothing waits for a reply. Probe commands (`w.probe`) form a second
 * stream every `probe.interval`. Every command that changes or reads something carries its id,
 * so the server-side record shows each execution (command_identity): INCR works on a key of its
 * own (a duplicate execution shows up as a counter of 2), SET writes a value that starts with
 * its id, PING carries a message. GET, DEL and EXISTS use keys drawn from `w.keys`.
 *
 * Never more than scenario::limits::max_commands_per_run commands, whatever `w` says (the
 * validator rejects a scenario that asks for more; this bound holds for one built in code).
 */
auto make_schedule(const scenario::workload& w, std::chrono::milliseconds run_length,
                   std::uint64_t seed) -> std::vector<scheduled_command>;

/**
 * @brief The token that ties a command seen by the server to the workload command that sent
 * it, or nullopt when the command carries none (GET, DEL, EXISTS, handshake commands).
 *
 * Works on the server's record of the arguments (cut to 128 bytes), case-insensitively on the
 * command name.
 */
auto command_identity(const std::vector<std::string>& args) -> std::optional<std::string>;

/// The Pub/Sub workload's channel names: `<key_prefix>chan:<i>` (empty without one).
auto workload_channels(const scenario::workload& w) -> std::vector<std::string>;
/// What the client is asked to subscribe to: the channels, or for kind pattern the one pattern
/// `<key_prefix>chan:*`.
auto workload_subscription(const scenario::workload& w) -> std::vector<std::string>;
/// The blocking workload's lists: `<key_prefix>{blk}:<i>` (one hash slot, so that one call may
/// name them all on a cluster too; empty without [workload.blocking]).
auto workload_blocking_keys(const scenario::workload& w) -> std::vector<std::string>;

/// One MULTI/EXEC block of the transactions workload.
struct scheduled_transaction {
  std::uint64_t id = 0;                            ///< N, from 1
  std::vector<std::string> watch;                  ///< keys to WATCH first (watch = true)
  std::vector<std::vector<std::string>> commands;  ///< {"INCR", "<prefix>tx:{N}:k<i>"}, i from 1
  std::chrono::nanoseconds offset{0};              ///< intended send time
};

/// The transactions workload's blocks at `rate` per second from 1/rate until the workload's
/// duration (or `run_length`); empty without [workload.transactions].
auto make_transaction_schedule(const scenario::workload& w, std::chrono::milliseconds run_length)
    -> std::vector<scheduled_transaction>;

/// The key of INCR number `i` (from 1) of transaction `id`: `<prefix>tx:{<id>}:k<i>`. The hash
/// tag keeps a block on one cluster slot.
auto transaction_key(const scenario::workload& w, std::uint64_t id, std::uint32_t i) -> std::string;

/// A transaction key's (id, i), from the server's record of it; nullopt for any other key.
struct transaction_key_parts {
  std::uint64_t id = 0;
  std::uint32_t index = 0;
};
auto parse_transaction_key(std::string_view key) -> std::optional<transaction_key_parts>;

}  // namespace schsim::harness
