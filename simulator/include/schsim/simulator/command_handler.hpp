#pragma once

#include <schsim/core/clock.hpp>
#include <schsim/core/resp3/serializer.hpp>
#include <schsim/core/resp3/value.hpp>
#include <schsim/core/timeline/event.hpp>
#include <schsim/simulator/blocking.hpp>
#include <schsim/simulator/cluster_state.hpp>
#include <schsim/simulator/keyspace.hpp>
#include <schsim/simulator/profile.hpp>
#include <schsim/simulator/pubsub.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::simulator {

/// MULTI ... EXEC: the commands queued so far (owned copies: the parser's buffer moves on).
struct transaction_state {
  bool active = false;
  /// A command was refused while queuing (unknown, wrong arity, NOAUTH, a redirect): EXEC
  /// answers -EXECABORT (Redis's CLIENT_DIRTY_EXEC).
  bool refused = false;
  std::uint64_t multi_index = 0;  ///< command index of the MULTI
  std::vector<std::vector<std::string>> queued;
  std::vector<std::uint64_t> queued_index;  ///< command index of each queued command
};

/// Everything the handler knows about one connection; the session owns it.
struct session_state {
  std::uint64_t id = 0;
  std::string peer;   ///< "127.0.0.1:54321"
  std::string local;  ///< "127.0.0.1:6379"
  resp3::protocol protocol = resp3::protocol::resp2;
  bool authenticated = false;
  std::string user = "default";
  int db = 0;
  std::string name;
  std::string lib_name;
  std::string lib_ver;
  bool maint_enabled = false;
  std::optional<std::string> endpoint_type;  ///< as sent in the last accepted handshake
  time_point opened_at{};
  transaction_state multi;
  /// Index of the command being executed on this connection (set by the session), for the
  /// timeline's transaction_ended.
  std::uint64_t command_index = 0;
};

/// An element a command pushed onto or popped from a list, for the timeline's list_pushed and
/// list_popped.
struct list_element_event {
  std::string key;
  std::string element;
  std::uint64_t index = 0;  ///< the command's index on its connection (inside EXEC: queued one)
};

/// What the connection does once the reply is written.
enum class after_reply { keep_open, close };

/// The result of one command besides its reply bytes.
struct command_outcome {
  after_reply then = after_reply::keep_open;
  bool error = false;  ///< the reply is an error reply
  /// Set for HELLO and CLIENT MAINT_NOTIFICATIONS, for the timeline.
  std::optional<timeline::hello> hello;
  std::optional<timeline::maint_handshake> maint;
  /// Cluster mode: the command was answered -MOVED or -ASK instead of being executed.
  std::optional<timeline::cluster_redirect> redirect;
  /// EXEC, DISCARD and RESET inside MULTI: what became of the transaction.
  std::optional<timeline::transaction_ended> transaction;
  /// PUBLISH / SPUBLISH (also inside EXEC): the messages to write once this reply is queued.
  std::vector<publication> publications;
  /// BLPOP, BRPOP, BLMOVE or XREAD BLOCK found nothing and parked the command in the
  /// blocking registry: no reply was written; serve_blocked() or expire_blocked() brings it,
  /// and the connection's later commands wait until then.
  bool blocked = false;
  /// List elements this command pushed and popped (also inside EXEC), in order.
  std::vector<list_element_event> pushed;
  std::vector<list_element_event> popped;
};

/// The reply of a blocked command, once served or timed out.
struct unblocked_reply {
  std::uint64_t conn = 0;
  std::uint64_t index = 0;  ///< the blocked command's index on its connection
  std::string reply;        ///< wire bytes, in the connection's protocol
  bool error = false;       ///< e.g. WRONGTYPE: the key changed type while it waited
  bool timed_out = false;
  std::vector<list_element_event> pushed;  ///< BLMOVE: onto its destination
  std::vector<list_element_event> popped;
};

/// Serves the connections blocked on keys signalled ready since the last call, first blocked
/// first per key, until no key is ready (a served BLMOVE readies its destination). Each served
/// command is unblocked and its reply returned; waiters that still find nothing stay blocked.
auto serve_blocked(keyspace& data, blocking_registry& blocking, time_point now)
    -> std::vector<unblocked_reply>;
/// Times out the blocked commands due at `now`: BLPOP, BRPOP and XREAD answer a null array
/// (RESP2 `*-1`), BLMOVE a null (`$-1`); RESP3 `_` for both.
auto expire_blocked(blocking_registry& blocking, time_point now) -> std::vector<unblocked_reply>;

/// How a parsed request is to be treated (Redis accepts only arrays of bulk strings).
enum class request_kind { command, ignore, protocol_error };
struct request_check {
  request_kind kind = request_kind::command;
  std::string
      error;  ///< for protocol_error: the reply text without '-', e.g. "ERR Protocol error: ..."
};

/**
 * Turns a parsed request into argument views. Arrays of bulk strings (and what the parser makes
 * of inline commands) become commands; empty arrays and nulls are ignored, as Redis ignores
 * `*0` and empty lines; anything else is `ERR Protocol error: expected '$', got 'X'`.
 *
 * @par Object lifetimes
 * `args` points into `request`.
 */
auto request_args(const resp3::value& request, std::vector<std::string_view>& args)
    -> request_check;

/**
 * @brief Sans-I/O Redis command execution: (session, args, now) → reply bytes + outcome.
 *
 * Covers the handshake (HELLO, AUTH, CLIENT ..., CLIENT MAINT_NOTIFICATIONS), housekeeping
 * (PING, ECHO, SELECT, QUIT, RESET, COMMAND, INFO, CONFIG) and the string subset of the keyspace.
 * Error texts are Redis 7's, byte for byte.
 *
 * CLIENT MAINT_NOTIFICATIONS on a RESP2 connection: OFF is accepted; ON is refused with
 * `-ERR CLIENT MAINT_NOTIFICATIONS ON requires RESP3 (send HELLO 3 first)`, because pushes
 * cannot be delivered on RESP2 and go-redis PR #3788 treats sending it there as a client bug.
 */
class command_handler {
 public:
  /// `pubsub` and `blocking` are shared by every endpoint of a server, like `data`.
  command_handler(keyspace& data, const endpoint_profile& profile, pubsub_registry& pubsub,
                  blocking_registry& blocking);
  /// With a blocking registry of its own.
  command_handler(keyspace& data, const endpoint_profile& profile, pubsub_registry& pubsub);
  /// With Pub/Sub and blocking registries of its own (a handler tested alone).
  command_handler(keyspace& data, const endpoint_profile& profile);
  [[nodiscard]] auto blocking() -> blocking_registry& { return *blocking_; }

  /// Runs one command and appends its reply, in the session's protocol, to `out`.
  auto execute(session_state& s, std::span<const std::string_view> args, time_point now,
               std::string& out) -> command_outcome;

  /// Whether the default user starts authenticated (no requirepass).
  [[nodiscard]] auto auth_required() const -> bool { return !profile_->requirepass.empty(); }
  /// Puts a fresh connection's session into its initial state.
  void init_session(session_state& s) const;
  /// The connection is gone: its transaction is discarded (returned, for the timeline), its
  /// watches, subscriptions and blocked command forgotten (nothing is popped for it).
  auto end_session(session_state& s) -> std::optional<timeline::transaction_ended>;

  /// Counters INFO reports, maintained by the server.
  struct stats {
    std::size_t connected_clients = 0;
    std::uint64_t total_connections = 0;
    std::uint64_t total_commands = 0;
    time_point started_at{};
  };
  void set_stats(const stats* st) { stats_ = st; }

  /**
   * OSS Cluster API mode: this handler answers as node `node` of `cluster` (which must outlive
   * it): key commands are routed by slot (-MOVED, -ASK, -CROSSSLOT, -TRYAGAIN), SELECT of a
   * database other than 0 is refused, and CLUSTER SLOTS|SHARDS|NODES|INFO|KEYSLOT|MYID,
   * READONLY, READWRITE and ASKING are served. Without it they answer Redis's
   * `-ERR This instance has cluster support disabled`.
   */
  void set_cluster(cluster_state* cluster, std::string node);
  /// Told about every -MOVED / -ASK as it is produced (the server records it in the timeline).
  using redirect_observer =
      std::function<void(const session_state&, const timeline::cluster_redirect&)>;
  void set_redirect_observer(redirect_observer observer) { on_redirect_ = std::move(observer); }

 private:
  keyspace* data_;
  const endpoint_profile* profile_;
  std::shared_ptr<pubsub_registry> own_pubsub_;
  pubsub_registry* pubsub_;
  std::shared_ptr<blocking_registry> own_blocking_;
  blocking_registry* blocking_;
  const stats* stats_ = nullptr;
  cluster_state* cluster_ = nullptr;
  std::string node_;
  redirect_observer on_redirect_;
};

}  // namespace schsim::simulator
