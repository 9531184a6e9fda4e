#pragma once
// The simulator's control API (implemented in simulator/src/server.cpp and session.cpp); the
// scenario engine drives it. Keep changes additive where the engine uses it.

#include <schsim/core/clock.hpp>
#include <schsim/core/cluster/slots.hpp>
#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/timeline/recorder.hpp>
#include <schsim/simulator/cluster_state.hpp>
#include <schsim/simulator/keyspace.hpp>
#include <schsim/simulator/profile.hpp>
#include <schsim/simulator/pubsub.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::simulator {

/// What an endpoint does with new connections.
enum class accept_mode {
  serve,         ///< accept and serve
  refuse,        ///< accept, then reset at once (the client sees ECONNRESET)
  blackhole,     ///< accept, read and discard, never answer
  not_accepting  ///< stop calling accept(); connections wait in the listen backlog
};

/// TLS on an endpoint: its certificate and key (PEM, in memory; see certificates.hpp).
struct endpoint_tls_config {
  std::string cert_pem;  ///< the leaf, optionally followed by intermediates
  std::string key_pem;
  /// Refuse plaintext connections (recorded as a tls_handshake with tls = false, then closed).
  /// false: a connection whose first byte is not a TLS record is served in plaintext (and
  /// recorded so), as a port that takes both would.
  bool only = false;
  /// Non-empty: mutual TLS; a client must present a certificate that chains to this CA (PEM).
  std::string client_ca_pem;
};

struct endpoint_config {
  std::string name;  ///< node name used in scenarios, e.g. "node-a"
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: chosen by the OS at start()
  /// Bind the port an earlier endpoint of this server got (on this endpoint's host); empty: `port`.
  std::string same_port_as;
  endpoint_profile profile;
  accept_mode initial_mode = accept_mode::serve;
  /// Cluster mode: the slots this node owns at start (empty: a spare).
  schsim::cluster::slot_set slots{};
  /// TLS on this endpoint; absent: plaintext (a TLS ClientHello is refused and recorded).
  std::optional<endpoint_tls_config> tls;
};

/// Proxy mode's upstream: a real Redis that answers the data commands (upstream.hpp).
struct upstream_config {
  std::string host;
  std::uint16_t port = 0;
};

struct server_config {
  std::vector<endpoint_config> endpoints;
  /// Proxy mode: every client connection gets its own connection to this Redis; data commands
  /// go there and its replies come back in order, while schsim answers the handshake and
  /// injects pushes and faults. Not with `cluster`.
  std::optional<upstream_config> upstream;
  /// OSS Cluster API: the endpoints are the nodes of one cluster (cluster_state.hpp); key
  /// commands are routed by slot and every -MOVED / -ASK is recorded as a cluster_redirect.
  bool cluster = false;
  resp3::parser_limits limits;
  /// Per-connection cap on bytes queued for writing (Redis client-output-buffer-limit); a
  /// client that stops reading past it is disconnected and the event recorded.
  std::size_t max_output_buffer = 64 * 1024 * 1024;
  /// Connections with a subscription (Redis's pubsub client class, `client-output-buffer-limit
  /// pubsub 32mb 8mb 60`): closed, and the close recorded with its reason, when their pending
  /// output reaches the hard limit, or stays over the soft one for longer than its time.
  output_limit pubsub_output_limit;
  /// Record command_received and reply_written for every command (connection, handshake, push
  /// and error events are always recorded). Off only for raw-throughput benchmarks.
  bool record_commands = true;
  /// A flush of more sessions than this (a fan-out) hands the writes of already-queued bytes to
  /// a small pool of worker threads (fork-join); 0 switches that off.
  std::size_t parallel_flush_min_sessions = 512;
  /// After a server-side FIN close, how long the session keeps reading (and discarding) so the
  /// client's unread bytes do not turn the FIN into a RST; the socket is closed at the client's
  /// own FIN or after this.
  std::chrono::milliseconds fin_linger{2000};
  /// A TLS endpoint closes a connection whose handshake has not completed by then (recorded as
  /// a failed tls_handshake), so a stuck or garbage-sending client holds nothing for long.
  std::chrono::milliseconds tls_handshake_timeout{5000};
};

struct endpoint_info {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  accept_mode mode = accept_mode::serve;
  [[nodiscard]] auto address() const -> std::string { return host + ":" + std::to_string(port); }
};

struct connection_info {
  std::uint64_t id = 0;
  std::string endpoint;
  std::string peer;
  int protocol = 2;
  bool maint_enabled = false;                ///< opted in with CLIENT MAINT_NOTIFICATIONS ON
  std::optional<std::string> endpoint_type;  ///< as requested in the handshake
  time_point opened_at{};
  bool tls = false;  ///< the connection completed a TLS handshake
};

/// Which connections a control call applies to.
struct selector {
  enum class scope { all, endpoint, connection } which = scope::all;
  std::string endpoint;          ///< for scope::endpoint
  std::uint64_t connection = 0;  ///< for scope::connection
  bool opted_in_only = false;    ///< only connections that enabled maintenance notifications
};

enum class close_mode { fin, rst };
/**
 * Where in the output stream a control close takes effect.
 *
 * Output already queued when the close is requested (replies produced so far, pushes and raw
 * bytes sent before the call) is written first; replies still held by reply latency or a stall
 * are dropped, as a dying server never sends them. between_frames: then the connection closes.
 * mid_frame: the last queued frame is cut after half its bytes (at least one); if it is already
 * partly on the wire (fragmentation) it is cut where it is; with no queued frame the first held
 * reply is the one cut; with nothing at all it degenerates to between_frames and the recorded
 * reason says "(no frame to cut)". So send_raw(bytes) then close(mid_frame) cuts exactly `bytes`.
 */
enum class close_point { between_frames, mid_frame };

/**
 * Where a push goes relative to replies held by reply latency or a stall.
 *
 * immediate: straight into the output stream (between two frames), overtaking held replies, so a
 * MOVING still reaches a client whose replies are stalled. in_reply_order: behind every reply
 * already produced, e.g. a push sent from a maint_handshake observer must follow the +OK even
 * when replies are delayed.
 */
enum class push_order { immediate, in_reply_order };

/// Metadata recorded with a push (timeline::push_written).
struct push_meta {
  std::string name;
  std::int64_t seq = 0;
  std::optional<std::int64_t> time_s;
  std::string dialect = "canonical";
  std::string step;
  push_order order = push_order::immediate;
};

/// A canned reply for a command, instead of executing it (the control API's cae-resp-proxy
/// interceptors): given the command's arguments, returns the interceptor's name and the reply
/// bytes, or nullopt to execute the command as usual.
struct intercepted_reply {
  std::string interceptor;
  std::string bytes;
};
using command_interceptor =
    std::function<std::optional<intercepted_reply>(std::span<const std::string_view> args)>;

/**
 * @brief The simulated Redis deployment: several endpoints sharing one keyspace.
 *
 * Not thread-safe: construct it, start() it and call every control function on `executor`
 * (from coroutines or handlers running there). Every connection, handshake, command, reply and
 * push is recorded in the recorder.
 */
class server {
 public:
  server(boost::asio::any_io_executor executor, server_config config, timeline::recorder& record);
  ~server();
  server(const server&) = delete;
  auto operator=(const server&) -> server& = delete;

  /// Binds every endpoint (ports chosen by the OS where 0) and starts accepting.
  void start();
  /// Closes listeners and every connection; pending operations finish with errors.
  void stop();

  [[nodiscard]] auto endpoints() const -> std::vector<endpoint_info>;
  [[nodiscard]] auto endpoint(const std::string& name) const -> std::optional<endpoint_info>;
  [[nodiscard]] auto connections(const selector& which = {}) const -> std::vector<connection_info>;

  /// Queues `bytes` as a push on every selected connection; returns how many got it
  /// (connections that are closing or in blackhole mode are skipped).
  auto send_push(const selector& which, const std::string& bytes, const push_meta& meta)
      -> std::size_t;
  /// Writes out now what the control calls so far queued (pushes, raw bytes, closes); without
  /// it they go out from a handler posted by the first such call. The scenario engine calls it
  /// once it has recorded the step, so the step comes before its effects in the timeline.
  void flush_output();
  /// Writes raw bytes (anything) to the selected connections; returns how many got them.
  auto send_raw(const selector& which, const std::string& bytes, const std::string& step)
      -> std::size_t;
  /// Delays every reply of the endpoint by `delay` (0 clears).
  void set_reply_latency(const std::string& endpoint, std::chrono::milliseconds delay);
  /// Holds replies of the endpoint until release_replies() (pushes in push_order::immediate
  /// still go out).
  void stall_replies(const std::string& endpoint);
  void release_replies(const std::string& endpoint);
  /// Splits everything written on the endpoint into chunks of `chunk_bytes` with `pause` between
  /// them (chunk_bytes 0 turns it off).
  void set_fragmentation(const std::string& endpoint, std::size_t chunk_bytes,
                         std::chrono::milliseconds pause);
  /// Closes the selected connections; returns how many.
  auto close_connections(const selector& which, close_mode mode, close_point point,
                         const std::string& reason) -> std::size_t;
  /// Off: send_push() sends nothing and records a note instead (Redis Enterprise's
  /// client_maint_notifications cluster setting, switched by the control API). On at start.
  void set_maint_pushes_enabled(bool enabled);
  /// Set: every command is offered to `fn` first; a reply it returns is written instead of
  /// executing the command (recorded as the command's reply, plus a note naming the
  /// interceptor). Empty: off.
  void set_command_interceptor(command_interceptor fn);

  /// Applies to connections accepted from now on; existing ones keep being served.
  void set_accept_mode(const std::string& endpoint, accept_mode mode);

  /// The workload's server-side publisher: PUBLISH `payload` to `channel` as a client on
  /// `endpoint` would (every subscriber of every endpoint receives it), or with `sharded`
  /// SPUBLISH on the node that owns the channel's slot (cluster mode; nobody receives it when
  /// no node owns the slot). Recorded as pubsub_published with connection 0 on that endpoint;
  /// the messages go out like a publishing client's. Returns how many subscriptions got it.
  auto publish(const std::string& endpoint, const std::string& channel, const std::string& payload,
               bool sharded) -> std::size_t;

  /// The keyspace shared by all endpoints (e.g. to check applied INCRs after a run).
  [[nodiscard]] auto data() -> keyspace&;

  /**
   * The workload's server-side producer: RPUSH of `element` onto the list `key` of database
   * `db`, from no connection. Recorded as list_pushed with `producer` set (connection 0, no
   * endpoint) when commands are recorded; the clients blocked on the key (BLPOP, BRPOP, BLMOVE)
   * are served at once, first blocked first, and their replies queued like a control call's
   * output. Returns the list's length after the push, or nullopt when the key holds another
   * type (nothing pushed). Any node's data: the keyspace is shared, slots are not checked.
   */
  auto produce_list_element(std::string_view key, std::string_view element, int db = 0)
      -> std::optional<std::size_t>;

  /// Cluster mode: slots start moving from `from` to `to` (-ASK / ASKING from now on; see
  /// cluster_state.hpp); `migrate_for` paces which keys have moved. Recorded as
  /// slot_migration_started. Throws std::logic_error when not in cluster mode and
  /// std::invalid_argument for an unknown node.
  void begin_slot_migration(const std::string& from, const std::string& to,
                            const schsim::cluster::slot_set& slots,
                            std::chrono::milliseconds migrate_for);
  /// Cluster mode: `to` owns `slots` from now on (CLUSTER SLOTS shows it at once). Recorded as
  /// slot_migration_completed. Same exceptions.
  void complete_slot_migration(const std::string& from, const std::string& to,
                               const schsim::cluster::slot_set& slots);
  /// The cluster's state after start(); nullptr when not in cluster mode.
  [[nodiscard]] auto cluster() const -> const cluster_state*;

 private:
  struct impl;
  // Shared with the accept loops and sessions, which may outlive stop() until the executor has
  // run their cancellations; after stop() they touch neither the recorder nor the server.
  std::shared_ptr<impl> impl_;
};

}  // namespace schsim::simulator
