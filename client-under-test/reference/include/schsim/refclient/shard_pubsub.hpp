#pragma once

#include <schsim/core/resp3/value.hpp>
#include <schsim/refclient/address.hpp>
#include <schsim/refclient/cluster.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Sharded Pub/Sub (SSUBSCRIBE) in OSS Cluster mode, sans-I/O: what a shard subscriber
// connection reads, and on which node each shard channel is to be held. A shard channel lives
// on the node that owns its slot; when the slot moves (a SMIGRATING/SMIGRATED migration) the
// source drops the subscription and pushes `sunsubscribe` (Redis 7), and the client must
// subscribe again on the new owner. cluster_client.cpp performs what shard_router decides.

namespace schsim::refclient {

/// One frame of a shard subscriber connection, as the cluster client acts on it.
struct shard_frame {
  enum class kind {
    confirmed,  ///< `ssubscribe` confirmation: the node holds the channel
    ended,      ///< `sunsubscribe` (ours, or the server's when the slot left), or a refusal
    message     ///< `smessage`
  };
  kind what = kind::message;
  std::string channel;
  std::string payload;  ///< a message's payload
  std::string error;    ///< an SSUBSCRIBE the node refused (`MOVED 2135 host:port`, ...)
  friend auto operator==(const shard_frame&, const shard_frame&) -> bool = default;
};

/// Decodes a `ssubscribe`/`sunsubscribe`/`smessage` frame (a RESP3 push or a RESP2 array);
/// nullopt for anything else (other Pub/Sub kinds, maintenance pushes, malformed frames).
auto decode_shard_frame(const resp3::value& v) -> std::optional<shard_frame>;

/**
 * @brief Where each of the cluster client's shard channels is held, sans-I/O.
 *
 * ```
 *  waiting ──place(map)──► asked at owner ──confirmed──► held at owner
 *     ▲                          │                            │
 *     └────── dropped (refused: -MOVED, CROSSSLOT; the server's sunsubscribe: slot moved) ─┘
 * ```
 * A channel dropped by a node is not asked there again while the map still names that node
 * as its owner (the map is older than the move): it waits for a newer map (an SMIGRATED delta,
 * a reload, a -MOVED) rather than bouncing off the old owner.
 */
class shard_router {
 public:
  explicit shard_router(std::vector<std::string> channels);

  struct placement {
    address node;
    std::vector<std::string> channels;
    friend auto operator==(const placement&, const placement&) -> bool = default;
  };
  /// Every waiting channel whose owner in `map` is known (and is not the node that just
  /// dropped it), grouped by owner in ascending order; they count as asked there from now on.
  auto place(const slot_map& map) -> std::vector<placement>;
  /// `node` confirmed `channel`. True the first time every channel is held (the subscribe
  /// call completes then).
  auto on_confirmed(const address& node, std::string_view channel) -> bool;
  /// `node` no longer holds `channel` (or refused it). False for a report about a node the
  /// channel is not asked or held at (a stale frame), which changes nothing.
  auto on_dropped(const address& node, std::string_view channel) -> bool;

  /// The node holding or asked to hold `channel`, if any.
  [[nodiscard]] auto where(std::string_view channel) const -> std::optional<address>;
  [[nodiscard]] auto held(std::string_view channel) const -> bool;
  /// Channels neither held nor asked anywhere.
  [[nodiscard]] auto waiting() const -> std::size_t;

 private:
  struct entry {
    std::string name;
    std::uint16_t slot = 0;
    std::optional<address> at;    ///< asked or held there
    bool held = false;            ///< confirmed by `at`
    std::optional<address> left;  ///< the node that dropped it last (not asked again there)
  };
  auto find(std::string_view channel) -> entry*;
  [[nodiscard]] auto find(std::string_view channel) const -> const entry*;
  std::vector<entry> entries_;
  bool all_held_once_ = false;
};

}  // namespace schsim::refclient
