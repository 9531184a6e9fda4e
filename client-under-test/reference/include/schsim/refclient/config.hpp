#pragma once

#include <schsim/refclient/broken.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace schsim::refclient {

using std::chrono::milliseconds;

/// Whether the client opts in to maintenance notifications (go-redis `Mode`).
enum class maint_mode {
  disabled,  ///< never sends CLIENT MAINT_NOTIFICATIONS
  enabled,   ///< sends it and fails the connection when the server refuses
  automatic  ///< sends it and carries on silently when the server refuses (the default)
};

/// The `moving-endpoint-type` the client asks for. `automatic` is client-side only: it is
/// resolved from the configured address and TLS before anything is sent (sch-protocol.md §1.2).
enum class endpoint_type {
  automatic,
  internal_ip,
  internal_fqdn,
  external_ip,
  external_fqdn,
  none
};

/// Whether the connection is wrapped in TLS; only used to resolve endpoint_type::automatic.
enum class transport_security { plain, tls };

/// Whether a command written but not answered when the connection drops may be sent again.
enum class retry_policy {
  never,           ///< report it failed (the server may or may not have run it)
  idempotent_only  ///< resend it if the command is read-only (GET, PING, ...), else report it
                   ///< failed
};

auto to_string(maint_mode m) -> std::string_view;
auto to_string(endpoint_type t) -> std::string_view;
/// Accepts "disabled", "enabled", "auto".
auto parse_maint_mode(std::string_view s) -> std::optional<maint_mode>;
/// Accepts "auto" and the five wire spellings ("internal-ip", ...).
auto parse_endpoint_type(std::string_view s) -> std::optional<endpoint_type>;

/**
 * @brief SCH settings, named and defaulted as go-redis `maintnotifications.Config`.
 *
 * A zero count or duration means "auto": resolve() computes it from the pool settings with the
 * go-redis formulas (sch-protocol.md §5).
 */
struct maint_config {
  maint_mode mode = maint_mode::automatic;
  endpoint_type moving_endpoint_type = endpoint_type::automatic;
  /// Read and write timeout while a maintenance window is open. Never lowers the configured
  /// timeout: the effective value is max(relaxed, normal) (redis/jedis #4602).
  milliseconds relaxed_timeout{10'000};
  /// Bound on one handoff (dial + handshake of the new connection, with retries); go-redis
  /// picked 15 s to match the server-side eviction timeout.
  milliseconds handoff_timeout{15'000};
  /// Dial attempts per handoff (go-redis range 1–10).
  int max_handoff_retries = 3;
  /// 0 = auto: min(pool/2, max(10, pool/3)).
  int max_workers = 0;
  /// 0 = auto: max(20×workers, pool) capped by max_active_conns+1, else 5×pool.
  int handoff_queue_size = 0;
  /// 0 = auto: 2 × relaxed_timeout. How long a handed-off connection keeps relaxed timeouts.
  milliseconds post_handoff_relaxed_duration{0};
  /// Longest a relaxation window stays open without its end notification (Jedis
  /// relaxedWindowMaxDuration): a lost MIGRATED must not relax forever.
  milliseconds relaxed_window_max_duration{60'000};
};

/// TLS on every connection (driver protocol configure.tls). The server's certificate must chain
/// to `ca_file` and name the host connected to: `server_name` for the configured endpoint, the
/// announced host for a MOVING target (an IP literal is checked against the IP entries).
struct tls_config {
  std::string ca_file;
  std::string server_name;
  std::string cert_file;  ///< client certificate for mutual TLS (PEM); empty: none
  std::string key_file;   ///< its private key (PEM)
};

/// Everything the client needs; plain data, validated and resolved by resolve().
struct client_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  transport_security security = transport_security::plain;
  /// Set: every connection speaks TLS (and `security` must be tls).
  std::optional<tls_config> tls;
  /// 3 sends HELLO 3 and falls back to RESP2 if the server refuses; 2 never sends HELLO.
  int protocol = 3;
  std::optional<std::string> username;
  std::optional<std::string> password;

  /// Reply timeout of one command, counted from when its bytes were handed to the socket.
  milliseconds read_timeout{3'000};
  /// Bound on one socket write.
  milliseconds write_timeout{3'000};
  /// Bound on TCP connect (and, separately, on each handshake reply).
  milliseconds dial_timeout{5'000};
  /// Connections in the pool (go-redis PoolSize; its default is 10 × GOMAXPROCS).
  int pool_size = 10;
  /// Connections opened by connect() (go-redis MinIdleConns); at least one is always opened.
  /// The pool then grows on demand up to pool_size.
  int min_idle_conns = 0;
  /// The pool grows only when every usable connection already has this many commands
  /// outstanding: with pipelining one connection carries light load, and a connection opened
  /// for nothing is one more to hand off (and one more "reconnect" for the harness to count).
  int grow_at_outstanding = 4;
  /// 0 = unlimited. Only used by the handoff queue formula (go-redis MaxActiveConns).
  int max_active_conns = 0;
  /// How long a command may wait unwritten (no usable connection, or held during a handoff).
  /// 0 = auto: handoff_timeout + dial_timeout, so buffered commands outlive a full handoff.
  milliseconds queue_timeout{0};

  retry_policy retry = retry_policy::never;
  /// Reconnect backoff after an unannounced disconnect: min doubles up to max (go-redis
  /// MinRetryBackoff/MaxRetryBackoff are 8 ms / 512 ms).
  milliseconds min_reconnect_backoff{8};
  milliseconds max_reconnect_backoff{512};

  maint_config maint;
  broken_set broken;
};

/// go-redis `applyWorkerDefaults`: min(pool/2, max(10, pool/3)) when auto; an explicit value
/// is raised to at least pool/2; never below 1.
auto resolve_max_workers(int pool_size, int configured) -> int;
/// go-redis `ApplyDefaultsWithPoolConfig`: auto = max(20×workers, pool) capped by
/// max_active_conns+1 when that is set, else by 5×pool; an explicit value is at least 200;
/// never below 2.
auto resolve_handoff_queue_size(int pool_size, int max_active_conns, int workers, int configured)
    -> int;

/// Decides `automatic` as go-redis `DetectEndpointType` does for an IP literal: TLS → FQDN,
/// plain → IP; internal when the address is RFC1918, RFC4193, loopback, link-local or
/// RFC6598 (100.64/10). A hostname that is not an IP literal is not resolved (no DNS in the
/// decision; go-redis #3789 was a slow-DNS hang): "localhost" and dot-less names count as
/// internal, anything else external.
auto detect_endpoint_type(std::string_view host, transport_security security) -> endpoint_type;

/// The settings after every "auto" has been decided.
struct resolved_config {
  client_config config;
  endpoint_type moving_endpoint_type = endpoint_type::none;  ///< never automatic
  int max_workers = 1;
  int handoff_queue_size = 2;
  milliseconds post_handoff_relaxed_duration{0};
  milliseconds queue_timeout{0};
};

struct config_error {
  std::string message;
};

/// Validates and resolves; on failure returns a message that names the offending setting.
auto resolve(const client_config& config) -> std::variant<resolved_config, config_error>;

}  // namespace schsim::refclient
