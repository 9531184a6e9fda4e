#pragma once
// PROPOSED CONTROL API (owned by the simulator; the scenario engine drives it). The simulator
// helper implements this and may refine it; keep changes additive where the engine uses it.

#include <schsim/core/clock.hpp>
#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/timeline/recorder.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace schsim::simulator {

/// An ACL user (`AUTH user pass`, `HELLO 3 AUTH user pass`).
struct acl_user {
  std::string name;
  std::string password;
};

/// What kind of server an endpoint pretends to be.
struct endpoint_profile {
  /// Answers CLIENT MAINT_NOTIFICATIONS; when false, the exact open-source error
  /// `-ERR unknown subcommand '<as sent>'. Try CLIENT HELP.`
  bool sch_supported = true;
  /// Accepts HELLO 3; when false, HELLO 3 gets `-NOPROTO unsupported protocol version` (RESP2-only).
  bool resp3_supported = true;
  /// `requirepass` for the default user; empty means no password.
  std::string requirepass;
  std::vector<acl_user> users;
  std::string server_version = "7.4.0";
};

/// What an endpoint does with new connections.
enum class accept_mode {
  serve,        ///< accept and serve
  refuse,       ///< accept, then reset at once (the client sees ECONNRESET)
  blackhole,    ///< accept, read and discard, never answer
  not_accepting ///< stop calling accept(); connections wait in the listen backlog
};

struct endpoint_config {
  std::string name;              ///< node name used in scenarios, e.g. "node-a"
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;        ///< 0: chosen by the OS at start()
  endpoint_profile profile;
  accept_mode initial_mode = accept_mode::serve;
};

struct server_config {
  std::vector<endpoint_config> endpoints;
  resp3::parser_limits limits;
  /// Per-connection cap on bytes queued for writing (Redis client-output-buffer-limit); a
  /// client that stops reading past it is disconnected and the event recorded.
  std::size_t max_output_buffer = 64 * 1024 * 1024;
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
  bool maint_enabled = false;                  ///< opted in with CLIENT MAINT_NOTIFICATIONS ON
  std::optional<std::string> endpoint_type;    ///< as requested in the handshake
  time_point opened_at{};
};

/// Which connections a control call applies to.
struct selector {
  enum class scope { all, endpoint, connection } which = scope::all;
  std::string endpoint;        ///< for scope::endpoint
  std::uint64_t connection = 0;  ///< for scope::connection
  bool opted_in_only = false;  ///< only connections that enabled maintenance notifications
};

enum class close_mode { fin, rst };
enum class close_point { between_frames, mid_frame };

/// Metadata recorded with a push (timeline::push_written).
struct push_meta {
  std::string name;
  std::int64_t seq = 0;
  std::optional<std::int64_t> time_s;
  std::string dialect = "canonical";
  std::string step;
};

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

  /// Queues `bytes` as a push on every selected connection; returns how many got it.
  auto send_push(const selector& which, const std::string& bytes, const push_meta& meta)
      -> std::size_t;
  /// Writes raw bytes (anything) to the selected connections; returns how many got them.
  auto send_raw(const selector& which, const std::string& bytes, const std::string& step)
      -> std::size_t;
  /// Delays every reply of the endpoint by `delay` (0 clears).
  void set_reply_latency(const std::string& endpoint, std::chrono::milliseconds delay);
  /// Holds replies of the endpoint until release_replies().
  void stall_replies(const std::string& endpoint);
  void release_replies(const std::string& endpoint);
  /// Splits everything written on the endpoint into chunks of `chunk_bytes` with `pause` between
  /// them (chunk_bytes 0 turns it off).
  void set_fragmentation(const std::string& endpoint, std::size_t chunk_bytes,
                         std::chrono::milliseconds pause);
  /// Closes the selected connections; returns how many.
  auto close_connections(const selector& which, close_mode mode, close_point point,
                         const std::string& reason) -> std::size_t;
  void set_accept_mode(const std::string& endpoint, accept_mode mode);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace schsim::simulator
