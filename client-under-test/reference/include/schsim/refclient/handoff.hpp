#pragma once

#include <schsim/core/clock.hpp>
#include <schsim/core/maint/notification.hpp>
#include <schsim/refclient/address.hpp>
#include <schsim/refclient/broken.hpp>
#include <schsim/refclient/handshake.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace schsim::refclient {

using conn_id = std::uint64_t;

// ---------------------------------------------------------------------------------------------
// Pool level: which connections move, where to, and when.
// ---------------------------------------------------------------------------------------------

/// What the planner needs to know about one pooled connection.
struct conn_view {
  conn_id id = 0;
  /// The endpoint its current socket is connected to; nullopt while it has none.
  std::optional<address> endpoint;
  /// When its current socket was opened.
  time_point opened_at{};
  /// True while a handoff of this connection is under way.
  bool handing_off = false;
};

/// Hand off connection `conn` to `target` now. The client must close the old socket by
/// `close_deadline`, which falls before the announced grace period ends.
struct start_handoff {
  conn_id conn = 0;
  address target;
  std::int64_t seq = 0;
  time_point close_deadline{};
  friend auto operator==(const start_handoff&, const start_handoff&) -> bool = default;
};
/// Call on_timer(token, ...) at `at` (the null-endpoint time/2 delay, or a late start).
struct schedule_timer {
  std::uint64_t token = 0;
  time_point at{};
  friend auto operator==(const schedule_timer&, const schedule_timer&) -> bool = default;
};
/// New connections dial `to` from now on instead of `from`.
struct remap_target {
  address from;
  address to;
  friend auto operator==(const remap_target&, const remap_target&) -> bool = default;
};
/// The MOVING changed nothing for this connection; `why` is for the event log.
struct moving_ignored {
  conn_id conn = 0;
  std::string why;
  friend auto operator==(const moving_ignored&, const moving_ignored&) -> bool = default;
};
using planner_action = std::variant<start_handoff, schedule_timer, remap_target, moving_ignored>;

auto operator<<(std::ostream& os, const planner_action& a) -> std::ostream&;

struct planner_params {
  address configured;  ///< the address in the client configuration
  broken_set broken;
};

/**
 * @brief MOVING → handoff decisions for the whole pool, sans-I/O.
 *
 * Choices (reasons in client-under-test/README.md):
 * - Scope: a MOVING received on one connection moves every pooled connection to the same
 *   endpoint, idle ones included (as redis-py and Jedis do), not just the receiver (go-redis).
 *   Each connection's own copy of the push then arrives as a duplicate and is ignored.
 * - Dedup key is (seq, endpoint), remembered per connection: the same event delivered on every
 *   connection, or replayed to a connection already at the target, is acted on once. Seqs are
 *   never compared for order: a later event may carry a lower seq (redis/jedis PR #4572).
 * - New dials go to the announced endpoint from the MOVING on (remap), because the old one is
 *   being retired and DNS lags behind it (sch-protocol.md §4).
 * - A null endpoint reconnects to the current dial target after time/2, in milliseconds.
 * - The old socket is closed by the client before the grace ends: close_deadline = receipt +
 *   grace − min(1 s, grace/4).
 */
class handoff_planner {
 public:
  explicit handoff_planner(planner_params params);

  /// `receiver` got `m` at `now`; `pool` lists every pooled connection (receiver included).
  [[nodiscard]] auto on_moving(conn_id receiver, const maint::moving& m,
                               const std::vector<conn_view>& pool, time_point now)
      -> std::vector<planner_action>;
  /// A timer asked for by schedule_timer fired.
  [[nodiscard]] auto on_timer(std::uint64_t token, const std::vector<conn_view>& pool,
                              time_point now) -> std::vector<planner_action>;
  /// A connection left the pool: forget it.
  void forget(conn_id conn);

  /// Where new connections dial.
  [[nodiscard]] auto dial_target() const -> const address& { return target_; }

 private:
  struct op_key {
    std::int64_t seq;
    std::string endpoint;  ///< empty for a null endpoint
    friend auto operator<=>(const op_key&, const op_key&) = default;
  };
  struct operation {
    std::optional<address> target;  ///< nullopt: the dial target when the timer fires
    std::optional<address> source;  ///< endpoint of the connections it moves
    time_point received_at{};
    time_point grace_end{};
    time_point close_deadline{};
    std::optional<std::uint64_t> timer;  ///< pending delayed start
    std::optional<time_point> fired_at;  ///< when the delayed start happened
    std::set<conn_id> covered;           ///< connections this event already moved or will move
    std::vector<conn_id> waiting;        ///< covered, start delayed until the timer
  };

  void prune(time_point now);
  auto close_deadline_for(time_point now, std::int64_t time_s) const -> time_point;

  // The steps of on_moving(), in order.
  /// Why `m` cannot apply to `receiver` at all (a broken mode, no socket, an unparsable
  /// endpoint); otherwise sets `rv` to the receiver's view and `target` to the parsed endpoint.
  auto screen(conn_id receiver, const maint::moving& m, const std::vector<conn_view>& pool,
              const conn_view*& rv, std::optional<address>& target) const
      -> std::optional<moving_ignored>;
  /// Why `m` is a replay with nothing to do for the receiver: its operation `op` (null for a
  /// new one) covers it already, it is at the target already (now covered), or it is moving.
  static auto replay_ignored(conn_id receiver, const maint::moving& m, const conn_view& rv,
                             const std::optional<address>& target, operation* op)
      -> std::optional<moving_ignored>;
  auto new_operation(const maint::moving& m, const std::optional<address>& target,
                     const conn_view& rv, time_point now) const -> operation;
  /// The receiver plus every other connection on its endpoint that `op` does not cover yet
  /// and that is not moving already; `op` covers them all from now on.
  static auto cover_affected(conn_id receiver, const conn_view& rv,
                             const std::vector<conn_view>& pool, operation& op)
      -> std::vector<conn_id>;
  /// When the handoffs start if not at once: after the grace (broken late_reconnect), or, for a
  /// null endpoint, after half the time the MOVING gives.
  auto delayed_start(const maint::moving& m, bool null_endpoint, const operation& op) const
      -> std::optional<time_point>;
  /// The `affected` connections wait for `op`'s timer, asked for (in `out`) if not yet.
  void defer_start(const op_key& key, operation& op, const std::vector<conn_id>& affected,
                   time_point at, std::vector<planner_action>& out);

  planner_params params_;
  address target_;
  std::map<op_key, operation> ops_;
  std::map<std::uint64_t, op_key> timers_;
  std::uint64_t next_token_ = 1;
};

// ---------------------------------------------------------------------------------------------
// Connection level: one handoff from start to swap.
// ---------------------------------------------------------------------------------------------

/// What happens to commands that were buffered while the connection was paused.
enum class buffered_disposition { resume, drop };
/// What happens to commands written on the old socket and not answered at the swap.
enum class inflight_disposition {
  none,   ///< the old socket drained: nothing is in flight
  fail,   ///< the grace is ending: close anyway, report them failed
  resend  ///< broken mode resend_written: write them again on the new socket
};

/// Open and handshake a connection to `target` (attempt n of max).
struct handoff_dial {
  address target;
  int attempt = 1;
  handshake_scope scope = handshake_scope::full;
  friend auto operator==(const handoff_dial&, const handoff_dial&) -> bool = default;
};
/// Close the old socket and make the new one current; writes resume.
struct handoff_swap {
  buffered_disposition buffered = buffered_disposition::resume;
  inflight_disposition inflight = inflight_disposition::none;
  friend auto operator==(const handoff_swap&, const handoff_swap&) -> bool = default;
};
/// The grace period is ending and the new socket is not ready: close the old socket now (its
/// unanswered commands fail); buffered commands keep waiting for the new one.
struct handoff_close_old {
  friend auto operator==(const handoff_close_old&, const handoff_close_old&) -> bool = default;
};
/// Every attempt failed: give up. The old socket, if still open, becomes current again and the
/// buffered commands are written there; when it closes the normal reconnect takes over.
struct handoff_abandon {
  std::string reason;
  friend auto operator==(const handoff_abandon&, const handoff_abandon&) -> bool = default;
};
using handoff_action = std::variant<handoff_dial, handoff_swap, handoff_close_old, handoff_abandon>;

auto operator<<(std::ostream& os, const handoff_action& a) -> std::ostream&;

struct handoff_params {
  std::chrono::milliseconds handoff_timeout{15'000};
  int max_retries = 3;
  /// Pause between dial attempts (go-redis: never below 500 ms).
  std::chrono::milliseconds retry_delay{500};
  broken_set broken;
};

/**
 * @brief One connection's handoff, sans-I/O.
 *
 * ```
 *  start ─► dial ─ok─► new ready ─┐
 *            │fail                ├─(both)─► swap (close old, resume buffered in order)
 *            ▼                    │
 *       wait retry_delay ─► dial  │
 *  old socket drained ────────────┘   close_deadline passes first ─► close_old
 *  attempts or handoff_timeout used up ─► abandon
 * ```
 * After every call the caller arms one timer at next_deadline() and calls on_timer() when it
 * fires; spurious calls are harmless.
 */
class handoff_fsm {
 public:
  explicit handoff_fsm(handoff_params params);

  [[nodiscard]] auto start(const address& target, time_point close_deadline, time_point now)
      -> std::vector<handoff_action>;
  /// The dial (connect + handshake) of the current attempt finished.
  [[nodiscard]] auto on_dial_result(bool ok, time_point now) -> std::vector<handoff_action>;
  /// The new socket died after it was ready and before the swap.
  [[nodiscard]] auto on_new_lost(time_point now) -> std::vector<handoff_action>;
  /// The old socket has nothing left in flight, or it was closed (by either side).
  [[nodiscard]] auto on_old_drained(time_point now) -> std::vector<handoff_action>;
  [[nodiscard]] auto on_timer(time_point now) -> std::vector<handoff_action>;

  [[nodiscard]] auto next_deadline() const -> std::optional<time_point>;
  [[nodiscard]] auto finished() const -> bool { return phase_ == phase::finished; }
  [[nodiscard]] auto attempts() const -> int { return attempt_; }

 private:
  enum class phase { idle, dialing, waiting_retry, new_ready, finished };

  auto dial_or_abandon(time_point now, std::string why) -> std::vector<handoff_action>;
  auto try_swap() -> std::vector<handoff_action>;

  handoff_params params_;
  phase phase_ = phase::idle;
  address target_;
  time_point started_at_{};
  time_point close_deadline_{};
  time_point retry_at_{};
  int attempt_ = 0;
  bool old_drained_ = false;
  bool old_closed_ = false;
};

}  // namespace schsim::refclient
