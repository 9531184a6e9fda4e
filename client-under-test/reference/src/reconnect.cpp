#include <schsim/refclient/reconnect.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace schsim::refclient {

backoff::backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : min_{min}, max_{std::max(min, max)} {}

auto backoff::next() -> std::chrono::milliseconds {
  const int n = failures_++;
  if (n == 0) return std::chrono::milliseconds{0};
  auto d = min_;
  for (int i = 1; i < n && d < max_; ++i) d *= 2;
  return std::min(d, max_);
}

auto is_idempotent(std::span<const std::string> args) -> bool {
  if (args.empty()) return false;
  std::string name = args[0];
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  static constexpr std::array<std::string_view, 24> read_only{
      "GET",   "MGET",     "EXISTS",    "TTL",     "PTTL",   "TYPE",  "STRLEN", "GETRANGE",
      "HGET",  "HMGET",    "HGETALL",   "HEXISTS", "HLEN",   "LLEN",  "LRANGE", "LINDEX",
      "SCARD", "SMEMBERS", "SISMEMBER", "ZSCORE",  "ZRANGE", "ZCARD", "PING",   "ECHO"};
  if (std::find(read_only.begin(), read_only.end(), name) != read_only.end()) return true;
  return false;
}

auto on_lost_reply(std::span<const std::string> args, retry_policy policy, const broken_set& broken)
    -> lost_reply {
  if (broken.has(broken_mode::resend_written)) return lost_reply::retry;
  if (policy == retry_policy::idempotent_only && is_idempotent(args)) return lost_reply::retry;
  return lost_reply::fail;
}

}  // namespace schsim::refclient
