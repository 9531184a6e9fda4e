#pragma once

#include <schsim/refclient/address.hpp>
#include <schsim/refclient/client.hpp>
#include <schsim/refclient/cluster.hpp>
#include <schsim/refclient/config.hpp>
#include <schsim/refclient/errors.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace schsim::refclient {

struct cluster_stats {
  client_stats nodes;  ///< summed over every node client, closed ones included
  std::uint64_t moved = 0;
  std::uint64_t asked = 0;
  std::uint64_t smigrated_received = 0;
  std::uint64_t smigrated_duplicates = 0;
  std::uint64_t topology_reloads = 0;
  std::uint64_t topology_reload_failures = 0;
  std::uint64_t nodes_closed = 0;
  std::uint64_t redirect_limit_hit = 0;
  std::uint64_t shard_resubscribes = 0;  ///< shard channels taken to a new owner
};

/// A node client the cluster client holds (tests and diagnostics).
struct node_snapshot {
  address endpoint;
  bool in_topology = false;  ///< owns slots in the client's map
  std::size_t outstanding = 0;
  std::vector<connection_snapshot> connections;
};

/**
 * @brief The reference client in OSS Cluster mode: one pooled `client` per node, commands
 * routed by slot.
 *
 * - connect() asks the seed for CLUSTER SLOTS and opens a pool to every node in the map (each
 *   connection with the usual HELLO 3 + CLIENT MAINT_NOTIFICATIONS handshake).
 * - A command goes to the owner of its key's slot (keyless ones to any node). -MOVED repairs
 *   that slot in the map, asks for a lazy topology reload, and resends to the new owner; -ASK
 *   sends `ASKING` + the command to the target, once, without touching the map. At most
 *   `max_redirects` hops; then the command fails with the last redirection error. A -MOVED or
 *   -ASK reply means the command did not run, so following it never executes anything twice.
 * - SMIGRATING/SMIGRATED relax and restore the receiving connection (the node client does it).
 *   A SMIGRATED with a new seq also applies its triplets to the map at once (node-redis) and
 *   reloads CLUSTER SLOTS (go-redis, redis-py), one coalesced reload per seq
 *   (topology_refresher); copies from other nodes and redeliveries are dropped.
 * - After a reload, node clients of nodes that own no slot any more stop getting commands and
 *   are closed as soon as nothing is outstanding on them (their queued commands answer -MOVED
 *   and follow the slot).
 *
 * Same threading and lifetime rules as `client`.
 */
class cluster_client {
 public:
  static constexpr int default_max_redirects = 5;

  /// `seed` is a resolved standalone configuration whose host:port is the seed node; every node
  /// client gets a copy with its own address.
  cluster_client(boost::asio::any_io_executor executor, resolved_config seed, event_sink sink = {},
                 topology_params topology = {}, int max_redirects = default_max_redirects);
  ~cluster_client();
  cluster_client(const cluster_client&) = delete;
  auto operator=(const cluster_client&) -> cluster_client& = delete;

  /// Loads the slot map from the seed and opens the node pools; completes with nullopt when
  /// the map is loaded, or with the reason (the seed's connection error, or CLUSTER SLOTS's).
  void connect(std::function<void(std::optional<command_error>)> done);
  /// Runs one command on the node that owns its slot; `done` runs exactly once.
  void execute(std::vector<std::string> args, std::function<void(command_result)> done);
  void shutdown();

  /**
   * Sharded Pub/Sub: SSUBSCRIBE each of `channels` on the node that owns its slot (the node
   * client's subscriber connection there), and keep it held there through slot migrations.
   * When a slot leaves a node, the node pushes `sunsubscribe` (Redis 7) before the SMIGRATED:
   * the channel is subscribed again on the new owner as soon as the map knows it (the
   * SMIGRATED's delta, the reload that the drop asks for, or a -MOVED answering an SSUBSCRIBE
   * sent on a stale map). Messages go to `on_message` (posted); `done` gets nullopt once every
   * channel is confirmed, or why none could be (shut down, nothing to subscribe to, already
   * subscribed, no map yet). One shard subscription per client.
   */
  void ssubscribe(std::vector<std::string> channels, std::function<void(pubsub_message)> on_message,
                  std::function<void(std::optional<command_error>)> done);

  [[nodiscard]] auto stats() const -> cluster_stats;
  /// The owner of `slot` in the client's current map.
  [[nodiscard]] auto owner(std::uint16_t slot) const -> std::optional<address>;
  /// Nodes owning slots in the client's current map.
  [[nodiscard]] auto topology() const -> std::vector<address>;
  /// Every node client still open, ascending by address.
  [[nodiscard]] auto nodes() const -> std::vector<node_snapshot>;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace schsim::refclient
