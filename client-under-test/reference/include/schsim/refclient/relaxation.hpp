#pragma once

#include <schsim/core/clock.hpp>
#include <schsim/core/maint/notification.hpp>
#include <schsim/refclient/broken.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace schsim::refclient {

/// What the tracker does with a notification, for the caller's event log.
enum class relax_change { none, opened, closed, ignored };

/**
 * @brief Per-connection timeout relaxation, sans-I/O: notifications and `now` in, the
 * effective timeout out.
 *
 * Windows nest: every MIGRATING, FAILING_OVER or SMIGRATING opens one, and the matching end
 * notification (MIGRATED, FAILED_OVER, SMIGRATED) closes the oldest open window of its kind.
 * A repeated start with the same kind and seq is one window, not two; an end with no open
 * window is ignored (go-redis resets its counter to 0 for the same reason). A window whose end
 * never comes closes by itself after `backstop` (Jedis relaxedWindowMaxDuration), so a lost end
 * notification cannot relax a connection forever. relax_until() adds a plain deadline for the
 * MOVING and post-handoff periods.
 *
 * The effective timeout is max(relaxed, normal) while relaxed, so relaxing never tightens
 * (redis/jedis #4602), and exactly `normal` otherwise, never a stale value (redis-py PR #4082).
 */
class relaxation_tracker {
 public:
  relaxation_tracker(std::chrono::milliseconds normal, std::chrono::milliseconds relaxed,
                     std::chrono::milliseconds backstop, broken_set broken = {});

  /// Feeds a maintenance notification; MOVING is not handled here (see relax_until).
  auto on_notification(const maint::notification& n, time_point now) -> relax_change;
  /// Keeps the connection relaxed at least until `until`.
  void relax_until(time_point until);

  [[nodiscard]] auto relaxed(time_point now) const -> bool;
  [[nodiscard]] auto timeout(time_point now) const -> std::chrono::milliseconds;
  /// The next instant after `now` at which timeout() may change by itself (a backstop or a
  /// deadline passing); nullopt when nothing is pending.
  [[nodiscard]] auto next_change(time_point now) const -> std::optional<time_point>;
  /// Windows open at `now` (expired ones not counted).
  [[nodiscard]] auto open_windows(time_point now) const -> std::size_t;

  [[nodiscard]] auto normal_timeout() const -> std::chrono::milliseconds { return normal_; }
  [[nodiscard]] auto relaxed_timeout() const -> std::chrono::milliseconds;

 private:
  struct window {
    maint::kind opener;
    std::int64_t seq;
    time_point opened_at;
  };
  void prune(time_point now);
  [[nodiscard]] auto expired(const window& w, time_point now) const -> bool;

  std::chrono::milliseconds normal_;
  std::chrono::milliseconds relaxed_;
  std::chrono::milliseconds backstop_;
  broken_set broken_;
  std::vector<window> windows_;
  std::optional<time_point> until_;
};

}  // namespace schsim::refclient
