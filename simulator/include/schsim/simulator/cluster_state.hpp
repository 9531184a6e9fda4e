#pragma once
/**
 * @file
 * @brief The simulated OSS Cluster: which node owns which slot, the migrations in progress and
 * the routing rule that turns a key command into "serve it", -MOVED, -ASK, -CROSSSLOT or
 * -TRYAGAIN.
 *
 * Sans-I/O: time is an argument, key existence is asked through a callback, so tests drive it
 * by hand. The keyspace stays shared by every node (one dict); ownership only decides who
 * answers. docs/cluster.md describes the model; the rule in short:
 *
 *   slot S owned by A, no migration        A serves; every other node: -MOVED S A
 *   S migrating A -> B, on A               key still on A: serve; else -ASK S B
 *   S migrating A -> B, on B               after ASKING: serve (the key is now on B);
 *                                          else -MOVED S A
 *   a key is "still on A" while it exists, has not been touched through B with ASKING, and its
 *   deterministic position (a hash of the key, in [0, 1)) is at or above the migration's
 *   progress (elapsed / migrate_for, capped at 1). Missing keys are always asked.
 */

#include <schsim/core/clock.hpp>
#include <schsim/core/cluster/slots.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace schsim::simulator {

struct cluster_node {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  /// 40 hex characters derived from the name (cluster_state::node_id).
  std::string id;
  schsim::cluster::slot_set slots;
  [[nodiscard]] auto address() const -> std::string { return host + ":" + std::to_string(port); }
};

/// Slots on their way from one node to another; ownership changes only when it completes.
struct slot_migration {
  std::string from;
  std::string to;
  schsim::cluster::slot_set slots;
  time_point started_at{};
  std::chrono::milliseconds migrate_for{0};
  /// Keys served by `to` after ASKING: they live on `to` from then on.
  std::unordered_set<std::string> moved_keys;

  /// elapsed / migrate_for in [0, 1]; 1 when migrate_for is 0.
  [[nodiscard]] auto progress(time_point now) const -> double;
};

/// What a node does with a command, given the slots of its keys.
struct route_decision {
  enum class kind {
    serve,
    moved,      ///< -MOVED <slot> <target address>
    ask,        ///< -ASK <slot> <target address>
    crossslot,  ///< -CROSSSLOT Keys in request don't hash to the same slot
    tryagain,   ///< -TRYAGAIN: a multi-key command with keys on both sides of a migration
    unowned,    ///< -CLUSTERDOWN Hash slot not served
  };
  kind what = kind::serve;
  std::uint16_t slot = 0;
  /// The node named in -MOVED / -ASK.
  const cluster_node* target = nullptr;
};

class cluster_state {
 public:
  /// Adds a node (call before routing; names are unique).
  void add_node(std::string name, std::string host, std::uint16_t port,
                schsim::cluster::slot_set slots);

  [[nodiscard]] auto nodes() const -> const std::vector<cluster_node>& { return nodes_; }
  [[nodiscard]] auto find(std::string_view name) const -> const cluster_node*;
  /// The node owning `slot`, or nullptr.
  [[nodiscard]] auto owner(std::uint16_t slot) const -> const cluster_node*;
  /// The migration moving `slot`, or nullptr.
  [[nodiscard]] auto migration_of(std::uint16_t slot) const -> const slot_migration*;
  [[nodiscard]] auto migrations() const -> const std::vector<slot_migration>& {
    return migrations_;
  }
  /// Nodes that own slots or take part in a migration: the cluster's members as CLUSTER NODES,
  /// CLUSTER SHARDS and cluster_known_nodes show them (a spare node joins when it gets slots).
  [[nodiscard]] auto members() const -> std::vector<const cluster_node*>;

  /// Slots start moving. Throws std::invalid_argument for an unknown node.
  void begin_migration(const std::string& from, const std::string& to,
                       const schsim::cluster::slot_set& slots, time_point now,
                       std::chrono::milliseconds migrate_for);
  /// `to` owns `slots` from now on (whoever owned them before); migrations of those slots end.
  /// Throws std::invalid_argument for an unknown node.
  void complete_migration(const std::string& from, const std::string& to,
                          const schsim::cluster::slot_set& slots);

  /// ASKING: the next command of connection `conn` may be served for an importing slot.
  void set_asking(std::uint64_t conn);
  /// Reads and clears the one-shot ASKING flag.
  auto take_asking(std::uint64_t conn) -> bool;

  /**
   * Decides what `node` does with a command whose keys are `keys` (empty: a keyless command,
   * served anywhere). `exists` tells whether a key is in the keyspace. A command served by the
   * importing node after ASKING moves its keys there.
   */
  auto route(std::string_view node, bool asking, std::span<const std::string_view> keys,
             time_point now, const std::function<bool(std::string_view)>& exists) -> route_decision;

  /// 40 lower-case hex characters, the same for the same name in every run.
  static auto node_id(std::string_view name) -> std::string;
  /// Where a key sits in a migration's order, in [0, 1): a hash independent of its slot.
  static auto key_position(std::string_view key) -> double;

 private:
  auto find_mutable(std::string_view name) -> cluster_node*;
  auto migration_of_mutable(std::uint16_t slot) -> slot_migration*;

  std::vector<cluster_node> nodes_;
  std::vector<slot_migration> migrations_;
  std::set<std::uint64_t> asking_;
};

}  // namespace schsim::simulator
