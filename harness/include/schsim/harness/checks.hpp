#pragma once

#include <schsim/core/scenario/model.hpp>
#include <schsim/core/timeline/event.hpp>
#include <schsim/core/verdict.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/**
 * @file
 * @brief The checks: pure functions over (scenario, server timeline, driver results).
 *
 * No check reads a clock, a socket or a client's account of its own state: each is judged from
 * what the simulator recorded and from the outcome of every command as the driver reported it,
 * so the same functions judge the reference client and any third-party client, and are tested
 * on hand-made timelines. docs/reports.md lists every check with its evidence.
 */
namespace schsim::harness {

/// How the driver's `connect` ended.
enum class connect_result { not_attempted, connected, failed };

/// A Pub/Sub message the client handed to the application (driver `message` line).
struct delivered_message {
  std::string channel;
  std::string pattern;  ///< the pattern it matched (PSUBSCRIBE); empty otherwise
  std::string payload;
  std::optional<std::int64_t> seq;  ///< N of the workload's `seq:N`
  std::int64_t t_ns = 0;
};

/// The workload's subscription, as the driver answered `subscribe`.
struct subscription_facts {
  bool asked = false;       ///< the scenario has [workload.pubsub] and the client connected
  bool subscribed = false;  ///< `subscribed` came back
  std::int64_t at_ns = 0;   ///< when the driver said so
  std::string error_class;  ///< `subscribe_failed`'s class, or "timeout" for no answer
  std::string message;
  std::vector<delivered_message> messages;  ///< in the order the driver reported them
};

/// One answer of the driver's blocking consumer: an element popped (`popped`), a call that
/// timed out with no element (`block_timeout`) or failed (`block_error`).
struct block_report {
  enum class kind { popped, timed_out, failed };
  kind what = kind::popped;
  std::string key;                  ///< popped: the list it came from
  std::string element;              ///< popped: the element
  std::optional<std::int64_t> seq;  ///< N of the producer's `seq:N`
  std::string error_class;          ///< failed: the driver's error class
  std::string message;
  std::int64_t sent_ns = 0;  ///< when the driver handed the call to the client
  std::int64_t t_ns = 0;     ///< when the client answered it
};

/// The workload's blocking consumer, as the driver answered `block` and what it reported.
struct blocking_consumer_facts {
  bool asked = false;       ///< the scenario has [workload.blocking] and the client connected
  bool started = false;     ///< `block_started` came back
  std::int64_t at_ns = 0;   ///< when the driver said so
  std::string error_class;  ///< `block_failed`'s class, or "timeout" for no answer
  std::string message;
  std::vector<block_report> reports;  ///< in the order the driver reported them
};

/// A MULTI/EXEC block the harness asked the driver to run (driver `transaction`), and what the
/// driver said became of it (`transaction_result`).
struct transaction_outcome {
  std::uint64_t id = 0;            ///< the block's N in `<key_prefix>tx:{N}:k<i>`; its own id space
  std::vector<std::string> watch;  ///< keys to WATCH before MULTI (maybe none)
  std::vector<std::vector<std::string>> commands;  ///< queued between MULTI and EXEC, in order
  std::int64_t intended_ns = 0;
  std::int64_t issued_ns = 0;
  bool completed = false;  ///< a result came
  bool ok = false;         ///< EXEC ran it and the client returned the replies
  std::int64_t sent_ns = 0;
  std::int64_t done_ns = 0;
  std::vector<std::string> replies;  ///< ok: each queued command's reply, rendered as text
  std::string error_class;           ///< not ok: timeout, connection, server, aborted, ...
  std::string message;
};

/// What the harness learned from the driver over the protocol.
struct driver_facts {
  /// No driver ran the client (schsim serve's verdict): every field below is empty, and checks
  /// that can judge from the server's record alone do so.
  bool absent = false;
  verdict::client_info client;
  connect_result connect = connect_result::not_attempted;
  std::int64_t connect_ns = 0;
  std::string connect_error_class;
  std::string connect_message;
  /// Every command issued, with its result (completed false when none came).
  std::vector<verdict::command_outcome> commands;
  /// When the harness sent `shutdown` (0: never): the end of the judged period.
  std::int64_t shutdown_ns = 0;
  subscription_facts pubsub;
  blocking_consumer_facts blocking;
  /// Every transaction issued ([workload.transactions]), in the order issued.
  std::vector<transaction_outcome> transactions;
};

/// Everything a check may look at.
struct check_input {
  /// The scenario as the engine ran it (after scenario::expand()).
  const scenario::scenario& scn;
  /// The server-side record, in recording order.
  const std::vector<timeline::event>& events;
  const driver_facts& driver;
  /// Endpoint names and their host:port, to resolve literal MOVING targets.
  std::vector<verdict::endpoint_ref> endpoints;
  /// The timeline's t = 0 (when the engine started), for relative times in evidence.
  std::int64_t start_ns = 0;
};

/// Check ids, in report order.
inline constexpr std::string_view zero_dropped_id = "zero_dropped";
inline constexpr std::string_view handshake_id = "handshake";
inline constexpr std::string_view timeout_relaxation_id = "timeout_relaxation";
inline constexpr std::string_view handoff_timing_id = "handoff_timing";
inline constexpr std::string_view no_leaks_id = "no_leaks";
inline constexpr std::string_view latency_id = "latency";
inline constexpr std::string_view topology_refresh_id = "topology_refresh";
inline constexpr std::string_view removed_node_traffic_id = "removed_node_traffic";
inline constexpr std::string_view pubsub_continuity_id = "pubsub_continuity";
inline constexpr std::string_view blocking_commands_id = "blocking_commands";
inline constexpr std::string_view transactions_id = "transactions";

/// How long a maintenance event may leave the client without its subscription when the scenario
/// gives no `expect.resubscribe_within`: a handoff that unsubscribes on the old connection and
/// subscribes on the new one needs two round trips; a reconnect after the server closed the
/// connection needs a dial and a handshake too.
inline constexpr std::chrono::milliseconds default_resubscribe_within{1000};
/// Messages published this close to the end of the judged period are not judged: they may still
/// be on their way to the client when the harness stops listening.
inline constexpr std::chrono::milliseconds pubsub_unjudged_tail{250};
/// Elements pushed this close to the end of the judged period are not judged: the consumer may
/// still be between two calls, or its call on the way, when the harness stops listening.
inline constexpr std::chrono::milliseconds blocking_unjudged_tail{500};
/// Added to a blocking call's own timeout plus the client's (relaxed) timeout before it counts
/// as hung: scheduling on a loaded machine.
inline constexpr std::chrono::milliseconds blocking_hang_slack{250};

/// How long after a SMIGRATED a cluster client may still send commands for the moved slots to
/// the source node, when the scenario gives no `expect.topology_refresh_within`: go-redis
/// reloads lazily with a 200 ms cooldown, redis-py re-reads CLUSTER SLOTS at once, node-redis
/// applies the delta itself, so one second leaves room for a loaded machine and no more.
inline constexpr std::chrono::milliseconds default_topology_refresh_within{1000};
auto all_check_ids() -> const std::vector<std::string_view>&;

/**
 * The harness check a scenario's `expect.checks` name selects (scenario::known_checks()):
 * no_errors, no_lost_commands, error_rate → zero_dropped; handshake, silent_fallback →
 * handshake; relaxed_timeouts → timeout_relaxation; handoff, final_endpoint, seq_handling →
 * handoff_timing; reconnects, idle_connections → no_leaks; latency → latency;
 * topology_refresh → topology_refresh; removed_node, removed_node_traffic →
 * removed_node_traffic. A check id is accepted as itself. Empty for an unknown name.
 */
auto check_for_expectation(std::string_view name) -> std::string_view;

/// The checks that apply: those the scenario names (plus no_leaks when expect.reconnects is
/// set, handoff_timing when expect.final_endpoint is, and latency, which is always reported), or
/// by default zero_dropped, handshake, no_leaks and latency, plus timeout_relaxation when a step
/// delays or stalls replies, handoff_timing when a step sends MOVING, and on a cluster topology
/// topology_refresh and removed_node_traffic when a step sends SMIGRATED.
auto applicable_checks(const scenario::scenario& scn) -> std::vector<std::string_view>;

/// Capabilities (driver-protocol.md) without which the scenario cannot run at all: the case
/// is then reported unsupported.
auto required_capabilities(const scenario::scenario& scn) -> std::vector<std::string>;
/// Capability a check needs beyond those (relaxed_timeouts for timeout_relaxation); empty if
/// none.
auto check_capability(std::string_view check_id) -> std::string_view;

auto check_zero_dropped(const check_input& in) -> verdict::check_result;
auto check_handshake(const check_input& in) -> verdict::check_result;
auto check_timeout_relaxation(const check_input& in) -> verdict::check_result;
auto check_handoff_timing(const check_input& in) -> verdict::check_result;
auto check_no_leaks(const check_input& in) -> verdict::check_result;
auto check_latency(const check_input& in) -> verdict::check_result;
/// After each SMIGRATED (first written at T), commands for its slots that still reach a
/// triplet's source node and are answered -MOVED later than T + expect.topology_refresh_within
/// (default_topology_refresh_within): the client did not refresh its slot map.
auto check_topology_refresh(const check_input& in) -> verdict::check_result;
/// After the SMIGRATED that leaves a node owning no slot, no workload command may reach that
/// node (until a migration gives it slots again), except commands the driver handed to the
/// client before the push was written.
auto check_removed_node_traffic(const check_input& in) -> verdict::check_result;
/// Every message the server published while the client held its subscription was handed to the
/// application exactly once and in order per channel; after a maintenance event ended the
/// subscription (MOVING, SMIGRATED, a close) the client held it again within
/// expect.resubscribe_within (default_resubscribe_within); only messages published in that gap
/// may be lost.
auto check_pubsub_continuity(const check_input& in) -> verdict::check_result;
/// Every element the server's producer pushed was popped and handed to the application exactly
/// once (none lost with a connection the client closed, none popped but discarded, none twice),
/// nothing was reported that the server never wrote to the client, and no blocking call stayed
/// pending past its own timeout plus the client's relaxed timeout.
auto check_blocking_commands(const check_input& in) -> verdict::check_result;

/// Every MULTI/EXEC block of [workload.transactions] ran whole on one connection or not at all
/// (never some of its INCRs alone, nor split between two connections), at most once, and every
/// block the driver reported executed was executed by the server with the replies it sent; none
/// was left without a result.
auto check_transactions(const check_input& in) -> verdict::check_result;

/// Every check, in all_check_ids() order: applicable ones evaluated, the others skipped, and
/// those needing a capability the client lacks marked unsupported.
auto run_checks(const check_input& in) -> std::vector<verdict::check_result>;

/// The shaded intervals of the report: maintenance windows (opening to closing notification,
/// per endpoint), MOVING grace periods and reply latency or stall windows.
auto derive_windows(const check_input& in) -> std::vector<verdict::window>;

}  // namespace schsim::harness
