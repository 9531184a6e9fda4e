#pragma once
/**
 * @file
 * @brief The scenario model: what a scenario file says, as plain aggregates.
 *
 * A scenario is a topology of simulated endpoints, the settings the client under test is given,
 * a workload, a timeline of steps and the expectations the harness checks. Durations are
 * std::chrono::milliseconds; the `time` fields of notifications stay in whole seconds because
 * that is what goes on the wire. Nothing here knows TOML (scenario_io converts files into these
 * structs) or sockets (the engine performs the steps). scenarios/README.md documents the file
 * format field by field. Every aggregate compares by value, so a scenario written back to TOML
 * (scenario_io/save.hpp) and loaded again can be checked against the original.
 */

#include <schsim/core/cluster/slots.hpp>
#include <schsim/core/maint/codec.hpp>
#include <schsim/core/maint/notification.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace schsim::scenario {

using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Metadata

struct metadata {
  /// Unique id, lower-case letters, digits, `-` and `_`; built-in files are named `<id>.toml`.
  std::string id{};
  /// One line, shown by `schsim list`.
  std::string title{};
  std::string description{};
  std::vector<std::string> tags{};
  /// Version of the suite the scenario belongs to; stamped into every report so results from
  /// different suite versions are never compared by accident.
  std::string suite_version = "1";

  friend auto operator==(const metadata&, const metadata&) -> bool = default;
};

// ---------------------------------------------------------------------------------------------
// Topology

/// What an endpoint does with connection attempts. `down` accepts and resets at once (the client
/// sees ECONNRESET), `not_accepting` leaves attempts in the listen backlog, `blackhole` accepts
/// and never answers.
enum class endpoint_state { up, down, not_accepting, blackhole };

/// An ACL user an endpoint accepts (`AUTH user pass`, `HELLO 3 AUTH user pass`).
struct user {
  std::string name{};
  std::string password{};

  friend auto operator==(const user&, const user&) -> bool = default;
};

/// One simulated Redis endpoint (a database endpoint or, for the OSS Cluster API, a node).
struct endpoint {
  /// Name used everywhere in the scenario, e.g. "node-a". No `:`; not "all", "new" or "none".
  std::string name{};
  /// Address it listens on and announces in MOVING for the `*-ip` endpoint types.
  std::string host = "127.0.0.1";
  /// Name announced in MOVING for the `*-fqdn` endpoint types; empty means `host`.
  std::string fqdn{};
  /// 0: chosen by the OS when the simulator starts (the usual choice; `schsim serve` prints it).
  std::uint16_t port = 0;
  /// Listen on the port of this earlier endpoint, on this endpoint's own host: Redis Enterprise
  /// nodes serve a database on one port across node IPs, which 127.0.0.2, ... reproduce on
  /// loopback while the OS still picks the port. Empty: `port` decides.
  std::string same_port_as{};
  /// Answers CLIENT MAINT_NOTIFICATIONS (Redis Software/Cloud). false: open-source Redis's
  /// `-ERR unknown subcommand` reply.
  bool sch = true;
  /// Accepts HELLO 3. false: a RESP2-only server.
  bool resp3 = true;
  /// Password of the default user; empty: no AUTH required.
  std::string requirepass{};
  std::vector<user> users{};
  std::string server_version = "7.4.0";
  /// How the endpoint starts; a MOVING target usually starts `down` and is brought up.
  endpoint_state initial_state = endpoint_state::up;
  /// Shard ids this endpoint hosts; the default `shards` of notifications sent to it.
  std::vector<std::string> shards = {"1"};
  /// Cluster mode: the hash slots this node owns when the run starts. Empty: a spare node (not
  /// in CLUSTER SLOTS until a migration gives it some). Must be empty on a standalone topology.
  schsim::cluster::slot_set slots{};
  /// Speaks TLS with a certificate made for this run (scenarios/README.md "TLS"). A client
  /// that connects in plaintext is still served unless `tls_only`; the checks flag it.
  bool tls = false;
  /// Refuse plaintext connections (tls only).
  bool tls_only = false;
  /// Mutual TLS: require a client certificate from the run's CA (tls only).
  bool tls_client_auth = false;
  /// The names (host names and IPs) the endpoint's certificate carries instead of its own
  /// `fqdn` and `host`: a certificate for the wrong name, which a client must reject. Empty: its
  /// own names.
  std::vector<std::string> tls_cert_names{};

  friend auto operator==(const endpoint&, const endpoint&) -> bool = default;
};

struct topology {
  std::vector<endpoint> endpoints{};
  /// The endpoint the client under test is configured with (the seed node in cluster mode).
  std::string start{};
  /// OSS Cluster API: the endpoints are the nodes of one cluster, their `slots` together cover
  /// 0-16383 and key commands are routed by slot (-MOVED, -ASK). docs/cluster.md.
  bool cluster = false;

  /// The endpoint named `name`, or nullptr.
  [[nodiscard]] auto find(std::string_view name) const -> const endpoint*;

  friend auto operator==(const topology&, const topology&) -> bool = default;
};

// ---------------------------------------------------------------------------------------------
// Client settings: handed to the client under test, never used by the simulator itself.

/// The client's SCH mode, with the clients' own names (go-redis ModeAuto, redis-py "auto", ...).
enum class sch_mode { automatic, enabled, disabled };

/// moving-endpoint-type the client requests; `automatic` lets the client detect it.
enum class endpoint_type {
  automatic,
  internal_ip,
  internal_fqdn,
  external_ip,
  external_fqdn,
  none
};

struct client_settings {
  sch_mode mode = sch_mode::automatic;
  endpoint_type moving_endpoint_type = endpoint_type::automatic;
  /// RESP version the client asks for (2 or 3).
  int protocol = 3;
  /// Normal command (read/write) timeout.
  milliseconds timeout{1000};
  /// Timeout while a maintenance window is open; nullopt disables relaxation (redis-py's -1).
  std::optional<milliseconds> relaxed_timeout = milliseconds{10000};
  /// How long a handed-off connection keeps relaxed timeouts (go-redis
  /// PostHandoffRelaxedDuration, default 2 x relaxed_timeout).
  milliseconds post_handoff_relaxed{20000};
  /// Credentials for endpoints that require AUTH; empty user means the default user.
  std::string user{};
  std::string password{};
  /// Connections the client may keep open (pool size).
  std::uint32_t pool_size = 1;

  friend auto operator==(const client_settings&, const client_settings&) -> bool = default;
};

// ---------------------------------------------------------------------------------------------
// Workload: traffic the harness drives through the client during the run.

struct command_weight {
  /// One of known_commands().
  std::string command{};
  std::uint32_t weight = 1;

  friend auto operator==(const command_weight&, const command_weight&) -> bool = default;
};

/// A separate low-rate command whose latency is tracked on its own (e.g. PING every 100 ms), so
/// a stall shows up even when the main workload is idle.
struct latency_probe {
  milliseconds interval{100};
  std::string command = "ping";

  friend auto operator==(const latency_probe&, const latency_probe&) -> bool = default;
};

/// How the client subscribes to the workload's channels.
enum class subscribe_kind {
  channel,  ///< SUBSCRIBE to every channel
  pattern,  ///< PSUBSCRIBE `<key_prefix>chan:*`
  shard,    ///< SSUBSCRIBE to every channel (cluster topologies; SPUBLISH on the slot's owner)
};

/// Pub/Sub traffic: once connected the client subscribes to `channels` channels named
/// `<key_prefix>chan:<i>`, and the server itself publishes `rate` messages per second,
/// round-robin over them, each payload `seq:<N>` with N counting from 1 over the run.
struct pubsub_workload {
  std::uint32_t channels = 4;
  double rate = 50;
  subscribe_kind kind = subscribe_kind::channel;

  friend auto operator==(const pubsub_workload&, const pubsub_workload&) -> bool = default;
};

/// The blocking command each consumer call issues.
enum class blocking_command {
  blpop,  ///< BLPOP <keys...> <timeout>
  brpop,  ///< BRPOP <keys...> <timeout>
};

/// Blocking consumers fed by a server-side producer: once connected the client keeps one
/// blocking call pending at a time over the `keys` lists `<key_prefix>blk:<i>` (re-issued as
/// soon as one returns), and the server itself pushes `rate` elements per second, round-robin
/// over them (RPUSH from no connection), each element `seq:<N>` with N counting from 1.
struct blocking_workload {
  std::uint32_t keys = 1;
  double rate = 20;
  /// Each call's timeout in seconds, as BLPOP takes it (0 blocks forever).
  double timeout = 1;
  blocking_command command = blocking_command::blpop;

  friend auto operator==(const blocking_workload&, const blocking_workload&) -> bool = default;
};

/// Transactions: `rate` MULTI blocks per second, each `size` INCRs on keys of the block's own
/// (`<key_prefix>tx:{N}:k1` .. `k<size>`, N counting from 1 over the run; the hash tag keeps a
/// block on one cluster slot), so the server's record shows whether a block ran once, whole, on
/// one connection. `watch`: WATCH the block's keys before MULTI.
struct transactions_workload {
  double rate = 10;
  std::uint32_t size = 3;
  bool watch = false;

  friend auto operator==(const transactions_workload&, const transactions_workload&)
      -> bool = default;
};

struct workload {
  /// Commands per second, issued open-loop (on schedule, not after the previous reply), so a
  /// stall does not hide latency (coordinated omission). 0: no traffic (idle connections).
  double rate = 100;
  /// nullopt: until the scenario ends.
  std::optional<milliseconds> duration{};
  /// Which commands, by weight.
  std::vector<command_weight> mix = {{"set", 1}, {"get", 1}, {"incr", 1}};
  /// Number of distinct keys, drawn uniformly with the run's seed.
  std::uint64_t keys = 1000;
  std::string key_prefix = "schsim:";
  /// Bytes per SET value.
  std::size_t value_size = 16;
  std::optional<latency_probe> probe{};
  /// Subscriptions the client holds and messages the server publishes; nullopt: none.
  std::optional<pubsub_workload> pubsub{};
  /// A blocking consumer the client runs and the elements the server pushes; nullopt: none.
  std::optional<blocking_workload> blocking{};
  /// MULTI/EXEC blocks the client runs beside the commands; nullopt: none.
  std::optional<transactions_workload> transactions{};

  friend auto operator==(const workload&, const workload&) -> bool = default;
};

/// Commands a workload mix may name.
auto known_commands() -> const std::vector<std::string_view>&;

// ---------------------------------------------------------------------------------------------
// Expectations: consumed by the harness, which decides pass/fail; the engine ignores them.

/// What must happen to the client's CLIENT MAINT_NOTIFICATIONS handshake.
enum class handshake_outcome {
  any,
  accepted,  ///< sent and answered +OK
  rejected,  ///< sent and answered with an error (server without SCH)
  not_sent,  ///< never sent (RESP2, disabled mode)
};

/// Whether the client's connection attempt as a whole must succeed.
enum class connect_outcome { any, succeeds, fails };

/// An inclusive count range; max nullopt means unbounded.
struct count_band {
  std::uint64_t min = 0;
  std::optional<std::uint64_t> max;

  friend auto operator==(const count_band&, const count_band&) -> bool = default;
};

struct expectations {
  /// Harness checks that apply, from known_checks(); empty: the harness's defaults.
  std::vector<std::string> checks{};
  handshake_outcome handshake = handshake_outcome::any;
  connect_outcome connect = connect_outcome::any;
  /// After a MOVING, the client's traffic must reach the new endpoint within this time.
  std::optional<milliseconds> handoff_within{};
  /// Cluster: after a SMIGRATED, commands for the moved slots may still reach the source node
  /// (answered -MOVED) for this long; nullopt: the harness's default (1 s).
  std::optional<milliseconds> topology_refresh_within{};
  /// A measured timeout passes if within +-this fraction of the value it should be (the relaxed
  /// one inside a window, the normal one outside); node-redis's own tests use 0.2.
  double timeout_tolerance = 0.2;
  /// After a maintenance event ends a subscription (MOVING, SMIGRATED, a connection the server
  /// closed), the client must hold it again within this time; messages published in between
  /// may be lost. nullopt: the harness's default (1 s).
  std::optional<milliseconds> resubscribe_within{};
  /// Highest acceptable command latency.
  std::optional<milliseconds> max_latency{};
  /// Fraction of workload commands allowed to fail (0: none).
  double max_error_rate = 0.0;
  /// How many times the client may (re)connect after its first connection.
  std::optional<count_band> reconnects{};
  /// Endpoint the client's traffic must end on; empty: not checked.
  std::string final_endpoint{};
  /// The client process may exit during the run and that is an accepted outcome (node-redis
  /// dies on a null MOVING unless its endpoint type is `none`, sch-protocol.md §10).
  bool client_may_exit = false;

  friend auto operator==(const expectations&, const expectations&) -> bool = default;
};

/// Check names expectations.checks may use: "handshake", "silent_fallback", "no_errors",
/// "no_lost_commands", "relaxed_timeouts", "handoff", "final_endpoint", "reconnects", "latency",
/// "error_rate", "idle_connections", "seq_handling", and for cluster scenarios "topology_refresh",
/// "removed_node" (the harness's removed_node_traffic check, also accepted under that name).
auto known_checks() -> const std::vector<std::string_view>&;

// ---------------------------------------------------------------------------------------------
// Timeline: triggers

/// At a fixed offset from the start of the timeline.
struct at_time {
  milliseconds at{0};

  friend auto operator==(const at_time&, const at_time&) -> bool = default;
};

/// `delay` after another step was *scheduled* (not when it happened to run, so delays along a
/// chain never accumulate the driver's lateness).
struct after_step {
  std::string step{};
  milliseconds delay{0};

  friend auto operator==(const after_step&, const after_step&) -> bool = default;
};

/// What the engine can count in the recorder's events.
enum class observed_counter {
  handshakes,   ///< CLIENT MAINT_NOTIFICATIONS ON answered +OK (connections already opted in
                ///< when the timeline starts count too)
  connections,  ///< connections accepted
  commands,     ///< commands received, not counting connection setup (HELLO, AUTH, CLIENT, ...)
};

/// Once a counter reaches `count` (optionally only on one endpoint), wait `delay`, then run.
/// The step is scheduled at the time of the event that met the condition plus `delay`.
struct when_observed {
  observed_counter counter = observed_counter::handshakes;
  std::uint64_t count = 1;
  /// Count only events on this endpoint; empty: every endpoint.
  std::string endpoint{};
  milliseconds delay{0};

  friend auto operator==(const when_observed&, const when_observed&) -> bool = default;
};

using trigger = std::variant<at_time, after_step, when_observed>;

// ---------------------------------------------------------------------------------------------
// Timeline: who a step applies to

enum class target_scope {
  all,              ///< every open connection
  endpoint,         ///< connections of `target::endpoint`
  connection,       ///< one connection, chosen by `target::pick`
  new_connections,  ///< none now; connections opened later while the notification is active
};

/// How scope `connection` chooses among the matching connections.
enum class connection_pick {
  ordinal,  ///< the Nth connection opened (1-based), counting closed ones too
  last,     ///< the most recently opened one still open
  random,   ///< a uniformly random open one, drawn with the run's seed
};

/// Whether only connections that opted in to maintenance notifications are selected.
enum class opt_in_filter { opted_in, any };

struct target {
  target_scope scope = target_scope::all;
  /// The endpoint for scope `endpoint`; a filter for `connection` and `new_connections`.
  std::string endpoint{};
  connection_pick pick = connection_pick::ordinal;
  /// For connection_pick::ordinal: 1 is the first connection opened (on `endpoint` if set).
  std::uint32_t ordinal = 1;
  opt_in_filter filter = opt_in_filter::opted_in;
  /// Step id; only connections opened before that step ran. Empty: no such filter.
  std::string opened_before{};

  friend auto operator==(const target&, const target&) -> bool = default;
};

/// Every open connection, whether it opted in or not (the default of raw writes and closes).
inline auto any_connection() -> target {
  target t;
  t.filter = opt_in_filter::any;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Timeline: primitive actions

/// When a sent notification is replayed to connections that opt in later.
enum class replay_policy {
  by_kind,  ///< MOVING, MIGRATING, FAILING_OVER and SMIGRATING are; the closing kinds are not
  always,
  never,
};

/**
 * Send one of the seven notifications. `notification` holds the fields; its seq is ignored
 * unless `seq` is set. A MOVING endpoint, and SMIGRATED sources and destinations, may name a
 * topology endpoint (replaced by its address at run time, in the form each connection asked
 * for with moving-endpoint-type; `none` connections get null) or be a literal `host:port`; a
 * MOVING without endpoint is sent with a null endpoint.
 */
struct send_action {
  maint::notification notification{};
  /// nullopt: the run's next automatic seq (the same seq goes to every connection).
  std::optional<std::int64_t> seq{};
  target to{};
  replay_policy replay = replay_policy::by_kind;
  /// How long the notification stays active for replay. nullopt: a MOVING for its `time`; the
  /// opening kinds until their closing kind is sent to the same endpoint.
  std::optional<milliseconds> active_for{};
  /// nullopt: the scenario's dialect.
  std::optional<maint::dialect> dialect{};
  /// Non-empty: send with the seq the send step of this id used (a redelivery of the same
  /// notification); overrides `seq`. The named step must run first.
  std::string same_seq_as{};

  friend auto operator==(const send_action&, const send_action&) -> bool = default;
};

/// Write raw bytes (any frame, valid or not).
struct raw_action {
  std::string bytes{};
  target to = any_connection();

  friend auto operator==(const raw_action&, const raw_action&) -> bool = default;
};

/// Delay every reply of an endpoint; `window` set: restore 0 after it.
struct latency_action {
  std::string endpoint{};
  milliseconds delay{0};
  std::optional<milliseconds> window{};

  friend auto operator==(const latency_action&, const latency_action&) -> bool = default;
};

/// Hold every reply of an endpoint; `window` set: release after it.
struct stall_action {
  std::string endpoint{};
  std::optional<milliseconds> window{};

  friend auto operator==(const stall_action&, const stall_action&) -> bool = default;
};

struct release_action {
  std::string endpoint{};

  friend auto operator==(const release_action&, const release_action&) -> bool = default;
};

/// Split everything an endpoint writes into `chunk_bytes`-byte writes with `pause` between
/// them (chunk_bytes 0: off); `window` set: turn it off after it.
struct fragment_action {
  std::string endpoint{};
  std::size_t chunk_bytes = 1;
  milliseconds pause{1};
  std::optional<milliseconds> window{};

  friend auto operator==(const fragment_action&, const fragment_action&) -> bool = default;
};

enum class close_mode { fin, rst };
enum class close_point { between_frames, mid_frame };

/// Close connections from the server side.
struct close_action {
  target to = any_connection();
  close_mode how = close_mode::fin;
  close_point point = close_point::between_frames;
  std::string reason{};

  friend auto operator==(const close_action&, const close_action&) -> bool = default;
};

/// Change what an endpoint does with new connections (bring_up, refuse, stop_accepting,
/// blackhole in scenario files).
struct accept_action {
  std::string endpoint{};
  endpoint_state state = endpoint_state::up;

  friend auto operator==(const accept_action&, const accept_action&) -> bool = default;
};

/// Stop replaying active notifications (of one kind and/or one endpoint; empty: all).
struct clear_active_action {
  std::optional<maint::kind> kind{};
  std::string endpoint{};

  friend auto operator==(const clear_active_action&, const clear_active_action&) -> bool = default;
};

/// Cluster mode: slots start migrating from `from` to `to`. From now on `from` answers keys it
/// no longer holds with -ASK and `to` serves them after ASKING (docs/cluster.md). Ownership does
/// not change yet. `migrate_for` is the expected length, used only for the progress of the
/// migration (which keys have moved so far).
struct begin_slot_migration_action {
  std::string from{};
  std::string to{};
  schsim::cluster::slot_set slots{};
  milliseconds migrate_for{1000};

  friend auto operator==(const begin_slot_migration_action&, const begin_slot_migration_action&)
      -> bool = default;
};

/// Cluster mode: the migration of `slots` from `from` to `to` ends; `to` owns them (CLUSTER
/// SLOTS shows it) and `from` answers -MOVED for them.
struct complete_slot_migration_action {
  std::string from{};
  std::string to{};
  schsim::cluster::slot_set slots{};

  friend auto operator==(const complete_slot_migration_action&,
                         const complete_slot_migration_action&) -> bool = default;
};

/// Which connections get a SMIGRATED.
enum class smigrated_scope {
  source,  ///< the opted-in connections of the source node(s), as Redis does
  all,     ///< every opted-in connection of every node (the same seq arrives several times)
};

// ---------------------------------------------------------------------------------------------
// Timeline: composite actions, expanded into primitive steps by expand() (expand.hpp documents
// each expansion).

/**
 * The MOVING lifecycle: the target comes up, MOVING goes to the old endpoint's connections (and
 * is replayed to new ones there while it lasts), and the old endpoint force-closes the
 * connections still on it `time_s` seconds plus `late_close` later. Redis Enterprise has been
 * measured closing 1.6-3.4 s after the declared grace (sch-protocol.md §4).
 * Also the fault injector's `bind` (whose default time is 5 s).
 */
struct moving_lifecycle_action {
  std::string from{};
  /// Endpoint to move to; nullopt: MOVING with a null endpoint (clients reconnect to the same
  /// address after time/2, so only connections opened before the MOVING are closed).
  std::optional<std::string> to{};
  std::int64_t time_s = 4;
  milliseconds late_close{0};
  close_mode close_how = close_mode::fin;
  /// After the close, the old endpoint stops serving (down) instead of staying up.
  bool retire_old = false;
  std::optional<std::int64_t> seq{};
  std::optional<maint::dialect> dialect{};

  friend auto operator==(const moving_lifecycle_action&, const moving_lifecycle_action&)
      -> bool = default;
};

/// Redis Software rolling upgrade (full SCH support): shards migrate off the old node with
/// relaxed timeouts (MIGRATING, optional reply latency, MIGRATED), then the endpoint moves to the
/// new node (the MOVING lifecycle).
struct rolling_upgrade_action {
  std::string from{};
  std::string to{};
  /// Empty: the old endpoint's shards.
  std::vector<std::string> shards{};
  std::int64_t migrating_time_s = 1;
  milliseconds migrate_for{1000};
  milliseconds latency{0};
  std::int64_t moving_time_s = 3;
  milliseconds late_close{0};
  close_mode close_how = close_mode::fin;
  std::optional<maint::dialect> dialect{};

  friend auto operator==(const rolling_upgrade_action&, const rolling_upgrade_action&)
      -> bool = default;
};

/// Redis Software in-place upgrade (partial support): relaxed timeouts but no pre-handoff. The
/// opening notification (MIGRATING or FAILING_OVER) is sent and replayed, the process is
/// replaced `restart_after` later (every connection closed, the endpoint down for `downtime`),
/// clients must reconnect on their own, and the closing notification ends the window.
struct in_place_upgrade_action {
  std::string endpoint{};
  std::vector<std::string> shards{};
  maint::kind opener = maint::kind::migrating;
  std::int64_t time_s = 1;
  milliseconds restart_after{1000};
  milliseconds downtime{500};
  /// From the opening notification to the closing one; must cover restart + downtime.
  milliseconds window{3000};
  milliseconds latency{0};
  close_mode close_how = close_mode::fin;
  std::optional<maint::dialect> dialect{};

  friend auto operator==(const in_place_upgrade_action&, const in_place_upgrade_action&)
      -> bool = default;
};

/// Redis Software maintenance mode (full support, node patching): master shards fail over
/// (FAILING_OVER / FAILED_OVER), the rest migrate (MIGRATING / MIGRATED), then the endpoint moves
/// to the other node (the MOVING lifecycle).
struct maintenance_mode_action {
  std::string from{};
  std::string to{};
  std::vector<std::string> shards{};
  std::int64_t time_s = 1;
  milliseconds failover_for{1000};
  milliseconds migrate_for{1000};
  milliseconds latency{0};
  std::int64_t moving_time_s = 3;
  milliseconds late_close{0};
  close_mode close_how = close_mode::fin;
  std::optional<maint::dialect> dialect{};

  friend auto operator==(const maintenance_mode_action&, const maintenance_mode_action&)
      -> bool = default;
};

/// The fault injector's `migrate`: MIGRATING, `duration`, MIGRATED (go-redis's proxy FI: 500 ms).
struct migrate_action {
  std::string endpoint{};
  std::vector<std::string> shards{};
  std::int64_t time_s = 5;
  milliseconds duration{500};
  milliseconds latency{0};
  std::optional<maint::dialect> dialect{};

  friend auto operator==(const migrate_action&, const migrate_action&) -> bool = default;
};

/// The fault injector's `failover`: FAILING_OVER, `duration`, FAILED_OVER (proxy FI: 1 s).
struct failover_action {
  std::string endpoint{};
  std::vector<std::string> shards{};
  std::int64_t time_s = 5;
  milliseconds duration{1000};
  milliseconds latency{0};
  std::optional<maint::dialect> dialect{};

  friend auto operator==(const failover_action&, const failover_action&) -> bool = default;
};

/// Cluster mode: `slots` move from `from` to `to`. SMIGRATING (one seq) to `from`'s opted-in
/// connections and the migration begins; `migrate_for` later the migration completes and, in the
/// same instant but after it, SMIGRATED (a new seq) with the triplet [from, to, slots] goes to
/// `smigrated_to`, so CLUSTER SLOTS already agrees with the push when a client reads it.
struct slot_migration_action {
  std::string from{};
  std::string to{};
  schsim::cluster::slot_set slots{};
  milliseconds migrate_for{1000};
  /// Reply latency on `from` during the migration (0: none).
  milliseconds latency{0};
  smigrated_scope smigrated_to = smigrated_scope::source;
  /// Set: the same SMIGRATED (same seq, same connections) is sent again this long after.
  std::optional<milliseconds> redeliver_after{};
  std::optional<maint::dialect> dialect{};

  friend auto operator==(const slot_migration_action&, const slot_migration_action&)
      -> bool = default;
};

/// Cluster mode: `node` gives all its slots away, split evenly (in slot order) among `to`, and
/// goes down `retire_after` after its SMIGRATED. One SMIGRATING, one SMIGRATED with one triplet
/// per destination.
struct remove_node_action {
  std::string node{};
  std::vector<std::string> to{};
  milliseconds migrate_for{1000};
  milliseconds retire_after{1000};
  milliseconds latency{0};
  smigrated_scope smigrated_to = smigrated_scope::source;
  std::optional<maint::dialect> dialect{};

  friend auto operator==(const remove_node_action&, const remove_node_action&) -> bool = default;
};

/// Cluster mode: a spare `node` is brought up, then takes `slots` from the donors in `from` that
/// own them (each donor gets its own SMIGRATING; one SMIGRATED carries a triplet per donor).
struct add_node_action {
  std::string node{};
  std::vector<std::string> from{};
  schsim::cluster::slot_set slots{};
  milliseconds migrate_for{1000};
  milliseconds latency{0};
  smigrated_scope smigrated_to = smigrated_scope::source;
  std::optional<maint::dialect> dialect{};

  friend auto operator==(const add_node_action&, const add_node_action&) -> bool = default;
};

/// One move of a slot_shuffle.
struct slot_move {
  std::string from{};
  std::string to{};
  schsim::cluster::slot_set slots{};

  friend auto operator==(const slot_move&, const slot_move&) -> bool = default;
};

/// Cluster mode: several moves at once; each source gets a SMIGRATING and one SMIGRATED carries
/// every move as its own triplet (a source or destination may repeat; nothing is merged).
struct slot_shuffle_action {
  std::vector<slot_move> moves{};
  milliseconds migrate_for{1000};
  smigrated_scope smigrated_to = smigrated_scope::source;
  std::optional<maint::dialect> dialect{};

  friend auto operator==(const slot_shuffle_action&, const slot_shuffle_action&) -> bool = default;
};

using action =
    std::variant<send_action, raw_action, latency_action, stall_action, release_action,
                 fragment_action, close_action, accept_action, clear_active_action,
                 begin_slot_migration_action, complete_slot_migration_action,
                 moving_lifecycle_action, rolling_upgrade_action, in_place_upgrade_action,
                 maintenance_mode_action, migrate_action, failover_action, slot_migration_action,
                 remove_node_action, add_node_action, slot_shuffle_action>;

/// The action's name in step_executed events and messages: "send", "raw", "latency", "stall",
/// "release", "fragment", "close", "accept", "clear_active", "moving_lifecycle", ...
auto action_name(const action& a) -> std::string_view;
/// True for the composite actions, which expand() replaces.
auto is_composite(const action& a) -> bool;

struct step {
  /// Unique in the scenario; scenario_io names unnamed steps `step-<n>` (1-based file order).
  std::string id{};
  trigger start = at_time{};
  action what = send_action{};
  /// Index of the [[step]] table this step came from; steps that expand() generates keep their
  /// composite's index, so problems found after expansion point at the right place in the file.
  std::size_t origin = 0;

  friend auto operator==(const step&, const step&) -> bool = default;
};

// ---------------------------------------------------------------------------------------------

struct scenario {
  metadata meta{};
  /// Seed for every random choice (automatic seq base, random connection picks, the workload's
  /// keys); nullopt: the runner draws one, prints it and writes it into every output.
  std::optional<std::uint64_t> seed;
  /// Length of the run: the timeline must fit in it.
  milliseconds duration{10000};
  /// First automatic seq; nullopt: drawn from the seed.
  std::optional<std::int64_t> seq_start;
  /// Default payload dialect of every send (canonical unless set).
  maint::dialect dialect{};
  topology topo{};
  client_settings client{};
  workload load{};
  std::vector<step> steps{};
  expectations expect{};

  [[nodiscard]] auto find_step(std::string_view id) const -> const step*;

  friend auto operator==(const scenario&, const scenario&) -> bool = default;
};

// Names of enumerators as written in scenario files (and used in messages).
auto to_string(endpoint_state s) -> std::string_view;
auto to_string(sch_mode m) -> std::string_view;
auto to_string(endpoint_type t) -> std::string_view;
auto to_string(handshake_outcome o) -> std::string_view;
auto to_string(connect_outcome o) -> std::string_view;
auto to_string(subscribe_kind k) -> std::string_view;
auto to_string(blocking_command c) -> std::string_view;
auto to_string(observed_counter c) -> std::string_view;
auto to_string(close_mode m) -> std::string_view;
auto to_string(close_point p) -> std::string_view;
auto to_string(smigrated_scope s) -> std::string_view;

}  // namespace schsim::scenario
