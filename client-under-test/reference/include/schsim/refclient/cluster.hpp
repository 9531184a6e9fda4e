#pragma once

#include <schsim/core/clock.hpp>
#include <schsim/core/cluster/slots.hpp>
#include <schsim/core/maint/notification.hpp>
#include <schsim/core/resp3/value.hpp>
#include <schsim/refclient/address.hpp>
#include <schsim/refclient/errors.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// OSS Cluster API pieces of the reference client, sans-I/O: the slot map and its CLUSTER SLOTS
// parser, -MOVED/-ASK parsing, which slot a command goes to, and the SMIGRATED policy (dedup by
// seq, one coalesced topology reload per new seq). cluster_client.cpp performs what they decide.

namespace schsim::refclient {

/**
 * @brief Which node owns each of the 16384 slots, as the client believes.
 *
 * Nodes are known by the address the client dials. A slot nobody claims is unknown: a command
 * for it goes to any node, whose -MOVED then teaches the owner.
 */
class slot_map {
 public:
  /// The owner of `slot`, or nullopt when no node is known for it.
  [[nodiscard]] auto owner(std::uint16_t slot) const -> std::optional<address>;
  /// Gives `slots` to `node` (a -MOVED, one SMIGRATED triplet, one CLUSTER SLOTS row).
  void assign(const cluster::slot_set& slots, const address& node);
  void assign(std::uint16_t slot, const address& node);
  /// Every node that owns at least one slot, ascending.
  [[nodiscard]] auto nodes() const -> std::vector<address>;
  /// The slots `node` owns.
  [[nodiscard]] auto slots_of(const address& node) const -> cluster::slot_set;
  /// Slots with a known owner.
  [[nodiscard]] auto covered() const -> std::size_t;

 private:
  static constexpr std::uint16_t unknown = 0xFFFF;
  /// Index into nodes_ per slot (`unknown` when nobody is known); nodes_ only grows, nodes()
  /// filters out the ones that own nothing any more.
  std::vector<std::uint16_t> owner_ = std::vector<std::uint16_t>(cluster::slot_count, unknown);
  std::vector<address> nodes_;

  auto index_of(const address& node) -> std::uint16_t;
};

struct cluster_slots_error {
  std::string message;
  friend auto operator==(const cluster_slots_error&, const cluster_slots_error&) -> bool = default;
};

/**
 * Parses a CLUSTER SLOTS reply: an array of `[start, end, [host, port, id?, ...], replicas...]`
 * in RESP2 or RESP3 (the 4th element of a node is a map in RESP3 and an array in RESP2, and is
 * ignored). Only the master (first node of a row) is kept. An empty host, or `?`, means "the
 * node you asked" (Redis docs, cluster-preferred-endpoint-type unknown-endpoint), so `queried`
 * supplies it. Anything malformed is an error rather than a partial map.
 */
auto parse_cluster_slots(const resp3::value& reply, const address& queried)
    -> std::variant<slot_map, cluster_slots_error>;

/// A redirection error reply.
struct redirect {
  enum class kind { moved, ask };
  kind type = kind::moved;
  std::uint16_t slot = 0;
  address target;
  friend auto operator==(const redirect&, const redirect&) -> bool = default;
};

/// Parses the text of an error reply: `MOVED 3999 127.0.0.1:6381` or `ASK 3999 host:port`. An
/// empty host (`MOVED 3999 :6380`, sent when the node does not know its own address) means
/// the host of the node that answered (`answered_by`). Any other error gives nullopt.
auto parse_redirect(std::string_view error_text, const address& answered_by)
    -> std::optional<redirect>;

/// Follow this redirection (the command did not run where it was sent).
struct follow_redirect {
  redirect to;
  friend auto operator==(const follow_redirect&, const follow_redirect&) -> bool = default;
};
/// The command has been redirected `max` times already: it completes with this error.
struct redirects_exhausted {
  command_error error;
  friend auto operator==(const redirects_exhausted&, const redirects_exhausted&) -> bool = default;
};
/// Not a redirection: the reply goes to the caller as it is.
struct not_a_redirect {
  friend auto operator==(const not_a_redirect&, const not_a_redirect&) -> bool = default;
};
using redirect_step = std::variant<not_a_redirect, follow_redirect, redirects_exhausted>;

/// What a command whose reply was the error `error_text` from `answered_by` does next, after
/// `hops` redirections so far. Bounded so a redirection loop can never hold a command forever,
/// and never silent: the last -MOVED/-ASK is in the error.
auto next_redirect_step(std::string_view error_text, const address& answered_by, int hops,
                        int max_redirects) -> redirect_step;

/**
 * The key that decides where a command goes, or nullopt for a keyless command (PING, HELLO,
 * CLIENT, CLUSTER, INFO, ...), which any node serves. The first key is `args[1]` for ordinary
 * commands, the first key after `numkeys` for EVAL/EVALSHA/FCALL and friends, and the first
 * stream after STREAMS for XREAD/XREADGROUP. Multi-key commands route on their first key; the
 * server answers -CROSSSLOT when the keys disagree, as it should.
 */
auto command_key(std::span<const std::string> args) -> std::optional<std::string_view>;
/// The slot of command_key(), or nullopt for a keyless command.
auto command_slot(std::span<const std::string> args) -> std::optional<std::uint16_t>;

/// What the client does with a SMIGRATED (seq) it has just read.
enum class smigrated_verdict {
  reload,      ///< a new seq: reload the topology
  duplicate,   ///< this seq was already handled (another node's copy, or a redelivery)
  in_progress  ///< this seq's reload has not finished yet: it will cover this copy too
};

auto to_string(smigrated_verdict v) -> std::string_view;

struct topology_params {
  /// How long a handled SMIGRATED seq is remembered (redis-py: 120 s). Not forever (go-redis,
  /// node-redis): a restarted server numbers from scratch, and a seq reused after that long is
  /// a new event. Redelivery of the same event comes within seconds.
  std::chrono::milliseconds seq_memory{120'000};
  /// Minimum gap between the end of one reload and the start of the next (go-redis LazyReload
  /// waits 200 ms): a storm of -MOVED replies costs one CLUSTER SLOTS, not hundreds.
  std::chrono::milliseconds cooldown{200};
  /// A failed reload is tried again this much later, at most `max_attempts` times per request.
  std::chrono::milliseconds retry_delay{100};
  int max_attempts = 5;
};

/// Send CLUSTER SLOTS now (to any known node; `attempt` counts from 1).
struct start_reload {
  int attempt = 1;
  friend auto operator==(const start_reload&, const start_reload&) -> bool = default;
};
/// Every attempt failed: the client keeps its current map (-MOVED still repairs it slot by
/// slot), and the seqs this reload was for are forgotten so that a redelivery retries.
struct reload_gave_up {
  std::vector<std::int64_t> seqs;
  friend auto operator==(const reload_gave_up&, const reload_gave_up&) -> bool = default;
};
using topology_action = std::variant<start_reload, reload_gave_up>;

/**
 * @brief When to reload the cluster topology, sans-I/O.
 *
 * ```
 *  SMIGRATED seq (new) ─┐                 ┌─ ok ─► idle (seqs marked handled; if another
 *  -MOVED ──────────────┼─► start_reload ─┤        request came meanwhile: reload again)
 *                       │  (at most one   └─ fail ─► retry after retry_delay ... gave_up
 *                       │   in flight; cooldown after the previous one)
 * ```
 * A request that arrives while a reload is in flight marks it dirty: the reply in flight may
 * predate the change, so one more reload follows (coalesced: any number of requests → one).
 * SMIGRATED requests skip the cooldown: the push says CLUSTER SLOTS is already up to date,
 * and the harness expects traffic to follow within a second. -MOVED requests respect it.
 * After every call the caller arms one timer at next_deadline() and calls on_timer() when it
 * fires; spurious calls are harmless.
 */
class topology_refresher {
 public:
  explicit topology_refresher(topology_params params = {});

  /// A SMIGRATED push was read. `actions` gets what to do (empty when nothing).
  auto on_smigrated(std::int64_t seq, time_point now, std::vector<topology_action>& actions)
      -> smigrated_verdict;
  /// A -MOVED reply was read (the slot is already repaired in the map): reload lazily.
  [[nodiscard]] auto on_moved(time_point now) -> std::vector<topology_action>;
  /// The reload started by the last start_reload finished.
  [[nodiscard]] auto on_reload_done(bool ok, time_point now) -> std::vector<topology_action>;
  [[nodiscard]] auto on_timer(time_point now) -> std::vector<topology_action>;

  [[nodiscard]] auto reloading() const -> bool { return phase_ == phase::running; }
  [[nodiscard]] auto next_deadline() const -> std::optional<time_point>;
  /// Successful reloads so far.
  [[nodiscard]] auto reloads() const -> std::uint64_t { return reloads_; }

 private:
  enum class phase { idle, waiting, running, retry_wait };

  void prune(time_point now);
  auto request(time_point now, bool urgent) -> std::vector<topology_action>;
  auto launch() -> std::vector<topology_action>;

  topology_params params_;
  phase phase_ = phase::idle;
  /// seq → when it was handled; absent while in progress.
  std::map<std::int64_t, time_point> handled_;
  /// Seqs whose reload has been requested but not completed (in flight or queued).
  std::vector<std::int64_t> in_flight_seqs_;
  std::vector<std::int64_t> queued_seqs_;
  bool dirty_ = false;
  bool dirty_urgent_ = false;
  int attempt_ = 0;
  time_point last_done_{};
  bool ever_done_ = false;
  time_point wake_at_{};
  std::uint64_t reloads_ = 0;
};

}  // namespace schsim::refclient
