#pragma once

#include <schsim/refclient/broken.hpp>
#include <schsim/refclient/config.hpp>

#include <chrono>
#include <span>
#include <string>
#include <string_view>

namespace schsim::refclient {

/**
 * @brief Exponential backoff for reconnects after an unannounced disconnect.
 *
 * The first attempt is immediate (a process restart often has the port back at once); then
 * min, 2×min, ... capped at max, as go-redis MinRetryBackoff/MaxRetryBackoff.
 */
class backoff {
 public:
  backoff(std::chrono::milliseconds min, std::chrono::milliseconds max);
  [[nodiscard]] auto next() -> std::chrono::milliseconds;
  void reset() { failures_ = 0; }
  [[nodiscard]] auto failures() const -> int { return failures_; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  int failures_ = 0;
};

/// True for commands that have no effect when run twice (reads, PING, ...). Unknown commands
/// are not idempotent: a wrong "no" costs one reported failure, a wrong "yes" a double write.
auto is_idempotent(std::span<const std::string> args) -> bool;

/// What happens to a command written but not answered when its connection is lost.
enum class lost_reply { fail, retry };

/**
 * The one rule that keeps commands from running twice or vanishing: a command whose bytes may
 * have reached the server is retried only if running it twice is harmless and the user asked
 * for retries; otherwise it is reported failed with the reason. (Broken mode resend_written
 * retries everything.)
 */
auto on_lost_reply(std::span<const std::string> args, retry_policy policy, const broken_set& broken)
    -> lost_reply;

}  // namespace schsim::refclient
