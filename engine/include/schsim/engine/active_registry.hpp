#pragma once

#include <schsim/core/clock.hpp>
#include <schsim/core/maint/codec.hpp>
#include <schsim/core/maint/notification.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace schsim::engine {

/// A notification that is replayed to connections opting in while it is active.
struct active_notification {
  /// Step that sent it; replays are recorded as `<origin_step>#replay`.
  std::string origin_step;
  /// As sent, with its seq fixed; a MOVING endpoint may still be an endpoint name (resolved per
  /// connection when replayed).
  maint::notification notification;
  maint::dialect dialect;
  /// Only connections to this endpoint get it; empty: every endpoint.
  std::string endpoint;
  time_point sent_at{};
  /// nullopt: until cleared, or until its closing kind is sent.
  std::optional<time_point> expires_at;
};

/// A replay for one new connection: the notification with its `time` reduced by the time
/// already elapsed.
struct replay {
  std::string origin_step;
  maint::notification notification;
  maint::dialect dialect;
  /// How long ago the original was sent.
  std::chrono::nanoseconds elapsed{};
  /// The `time` of the original, for the kinds that carry one.
  std::optional<std::int64_t> original_time_s;
};

/**
 * @brief The notifications currently active, as Redis Enterprise keeps them for connections
 * that join during a maintenance (sch-protocol.md §1.3: a new connection receives the active
 * MIGRATING or MOVING "as part of the client connection setup flow", with the remaining time).
 *
 * Sans-I/O: every call that depends on time takes `now`.
 */
class active_registry {
 public:
  /// Makes `n` active. An active notification of the same kind for the same endpoint scope is
  /// replaced: Redis announces one MOVING per endpoint at a time.
  void activate(active_notification n);
  /// A notification of kind `sent` went to `endpoint` (empty: all): a closing kind ends the
  /// windows its opening kind opened there (MIGRATED ends MIGRATING, ...).
  void on_sent(maint::kind sent, const std::string& endpoint);
  /// Drops active notifications of `kind` (nullopt: any) for `endpoint` (empty: any).
  void clear(std::optional<maint::kind> kind, const std::string& endpoint);
  /// What a connection to `endpoint` that opted in at `now` must receive, oldest first.
  /// Expired entries are dropped. Remaining time is rounded down to whole seconds (never
  /// below 0), so a client never hears of more grace than is left.
  auto for_new_connection(const std::string& endpoint, time_point now) -> std::vector<replay>;
  /// Entries not yet expired at `now`.
  [[nodiscard]] auto active(time_point now) const -> std::vector<active_notification>;

 private:
  void expire(time_point now);

  std::vector<active_notification> entries_;
};

}  // namespace schsim::engine
