#pragma once
/**
 * @file
 * @brief Pub/Sub as Redis 7.4 does it, sans-I/O: who is subscribed to what, who receives a
 * PUBLISH, and the wire frames (confirmations and messages) in either protocol.
 *
 * One registry serves every endpoint of a server (the keyspace is shared the same way). Plain
 * PUBLISH reaches subscribers on every endpoint: in a standalone topology that is what Redis
 * Enterprise's proxy does for the endpoints of one database, in cluster mode what Redis
 * Cluster's broadcast of PUBLISH does; the reply counts the receivers on the publishing node
 * only in cluster mode (Redis counts local receivers), all of them otherwise. Shard channels
 * (SSUBSCRIBE, SPUBLISH) are kept per node: SPUBLISH reaches only the subscribers connected to
 * the node it ran on.
 *
 * Time-dependent logic (the pubsub client class's soft output limit) takes the time as an
 * argument.
 */

#include <schsim/core/clock.hpp>
#include <schsim/core/resp3/serializer.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace schsim::simulator {

/// Redis's stringmatchlen: `*`, `?`, `[...]` (with `^` and ranges) and `\` escapes.
auto glob_match(std::string_view pattern, std::string_view text, bool nocase) -> bool;

enum class subscription_kind : std::uint8_t {
  channel,  ///< SUBSCRIBE
  pattern,  ///< PSUBSCRIBE
  shard,    ///< SSUBSCRIBE
};

/// One receiver of a published message.
struct pubsub_receiver {
  std::uint64_t conn = 0;
  /// Set when the receiver matched through PSUBSCRIBE (a `pmessage`).
  std::optional<std::string> pattern;
};

/// A PUBLISH or SPUBLISH and who is to receive it; the session writes the messages after the
/// publisher's own reply (Redis 7.2+: a publisher subscribed to its channel reads the reply
/// first, and inside MULTI the EXEC reply first).
struct publication {
  bool sharded = false;
  std::string channel;
  std::string payload;
  std::vector<pubsub_receiver> receivers;
};

/// A shard subscription dropped because its slot left the node: Redis pushes `sunsubscribe`.
struct dropped_shard_subscription {
  std::uint64_t conn = 0;
  std::string channel;
  std::size_t remaining = 0;  ///< the connection's shard subscriptions left (the frame's count)
};

/// N when `payload` is the workload's sequence-numbered form `seq:N` (N decimal), for the
/// timeline's Pub/Sub accounting.
auto payload_seq(std::string_view payload) -> std::optional<std::int64_t>;

/// `[kind, channel, count]` (`>3` in RESP3, `*3` in RESP2); no channel: a null (UNSUBSCRIBE
/// without subscriptions).
void append_subscription_reply(std::string& out, resp3::protocol proto, std::string_view kind,
                               std::optional<std::string_view> channel, std::size_t count);
/// `[message|smessage, channel, payload]`, or with a pattern `[pmessage, pattern, channel,
/// payload]`.
void append_pubsub_message(std::string& out, resp3::protocol proto, bool sharded,
                           const std::optional<std::string>& pattern, std::string_view channel,
                           std::string_view payload);

class pubsub_registry {
 public:
  /// Subscribes `conn` (connected to `node`) and appends one confirmation per name.
  void subscribe(std::uint64_t conn, std::string_view node, subscription_kind kind,
                 std::span<const std::string_view> names, resp3::protocol proto, std::string& out);
  /// Unsubscribes `conn` from `names` (empty: from every name of that kind) and appends one
  /// confirmation per name, or one with a null channel when there was none to drop.
  void unsubscribe(std::uint64_t conn, subscription_kind kind,
                   std::span<const std::string_view> names, resp3::protocol proto,
                   std::string& out);
  /// Forgets every subscription of `conn` without a word (RESET, a closed connection).
  void drop(std::uint64_t conn);

  /// Whether `conn` has any subscription (Redis's CLIENT_PUBSUB: RESP2 subscribed mode).
  [[nodiscard]] auto subscribed(std::uint64_t conn) const -> bool;
  /// The count a confirmation of `kind` carries: channels + patterns, or shard channels.
  [[nodiscard]] auto count(std::uint64_t conn, subscription_kind kind) const -> std::size_t;

  /// PUBLISH: the channel's subscribers, then the pattern subscribers, each in connection order.
  [[nodiscard]] auto publish(std::string_view channel, std::string_view payload) const
      -> publication;
  /// SPUBLISH on `node`: the shard channel's subscribers connected to that node.
  [[nodiscard]] auto spublish(std::string_view node, std::string_view channel,
                              std::string_view payload) const -> publication;
  /// The node a connection subscribed from (empty if it has no subscription).
  [[nodiscard]] auto node_of(std::uint64_t conn) const -> std::string_view;

  /// PUBSUB CHANNELS / SHARDCHANNELS: active channels (shard: on `node`), matching `pattern`
  /// if given, sorted.
  [[nodiscard]] auto channels(bool sharded, std::string_view node,
                              std::optional<std::string_view> pattern) const
      -> std::vector<std::string>;
  /// PUBSUB NUMSUB / SHARDNUMSUB.
  [[nodiscard]] auto numsub(bool sharded, std::string_view node, std::string_view channel) const
      -> std::size_t;
  /// PUBSUB NUMPAT: distinct patterns with at least one subscriber.
  [[nodiscard]] auto numpat() const -> std::size_t { return patterns_.size(); }

  /// Drops the shard subscriptions whose slot `node` no longer serves (`serves(node, slot)`
  /// false), in connection then channel order.
  template <class Serves>
  auto drop_unserved_shard_channels(Serves serves) -> std::vector<dropped_shard_subscription>;

 private:
  struct connection_subscriptions {
    std::string node;
    std::set<std::string, std::less<>> channels;
    std::set<std::string, std::less<>> patterns;
    std::set<std::string, std::less<>> shard_channels;
  };
  using subscriber_map = std::map<std::string, std::set<std::uint64_t>, std::less<>>;

  auto names_of(connection_subscriptions& subs, subscription_kind kind)
      -> std::set<std::string, std::less<>>&;
  auto index_of(subscription_kind kind) -> subscriber_map&;
  auto remove(std::uint64_t conn, subscription_kind kind, std::string_view name) -> bool;
  void forget_if_empty(std::uint64_t conn);

  std::unordered_map<std::uint64_t, connection_subscriptions> connections_;
  subscriber_map channels_;
  subscriber_map patterns_;
  subscriber_map shard_channels_;
};

template <class Serves>
auto pubsub_registry::drop_unserved_shard_channels(Serves serves)
    -> std::vector<dropped_shard_subscription> {
  std::vector<std::pair<std::uint64_t, std::string>> unserved;
  for (const auto& [conn, subs] : connections_) {
    for (const auto& channel : subs.shard_channels) {
      if (!serves(std::string_view(subs.node), std::string_view(channel))) {
        unserved.emplace_back(conn, channel);
      }
    }
  }
  std::sort(unserved.begin(), unserved.end());
  std::vector<dropped_shard_subscription> dropped;
  for (auto& [conn, channel] : unserved) {
    remove(conn, subscription_kind::shard, channel);
    dropped.push_back({conn, std::move(channel), count(conn, subscription_kind::shard)});
    forget_if_empty(conn);
  }
  return dropped;
}

/// The pubsub client class's output buffer limit (Redis's `client-output-buffer-limit pubsub
/// 32mb 8mb 60`): over `hard` the connection is closed at once; over `soft` for `soft_for`
/// continuously, too.
struct output_limit {
  std::size_t hard = 32 * 1024 * 1024;
  std::size_t soft = 8 * 1024 * 1024;
  std::chrono::milliseconds soft_for{60'000};
};

/// Tracks one connection against an output_limit; `check` is called with the pending output
/// and the time whenever output is pumped, and returns the reason to close, if any.
class output_limit_tracker {
 public:
  explicit output_limit_tracker(output_limit limit) : limit_(limit) {}
  auto check(std::size_t pending, time_point now) -> std::optional<std::string>;

 private:
  output_limit limit_;
  std::optional<time_point> over_soft_since_;
};

}  // namespace schsim::simulator
