#pragma once

#include <schsim/core/maint/notification.hpp>
#include <schsim/core/resp3/serializer.hpp>
#include <schsim/refclient/address.hpp>
#include <schsim/refclient/config.hpp>
#include <schsim/refclient/errors.hpp>
#include <schsim/refclient/handoff.hpp>
#include <schsim/refclient/handshake.hpp>
#include <schsim/refclient/shard_pubsub.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace schsim::refclient {

/// Something the client did that is worth telling the harness (driver `event` lines). Purely
/// informative: checks judge the client from what the server saw, never from these.
struct client_event {
  using field = std::variant<std::int64_t, std::string, bool>;
  std::string name;
  std::vector<std::pair<std::string, field>> detail;
};
using event_sink = std::function<void(const client_event&)>;

struct client_stats {
  std::uint64_t connections_opened = 0;
  std::uint64_t moving_received = 0;
  std::uint64_t handoffs_started = 0;
  std::uint64_t handoffs_completed = 0;
  std::uint64_t handoffs_failed = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t commands_retried = 0;
};

/// A Pub/Sub message as the application gets it.
struct pubsub_message {
  std::string channel;
  std::optional<std::string> pattern;  ///< the pattern it matched (PSUBSCRIBE)
  std::string payload;
};

/// What subscribe() subscribes to: channels, patterns or shard channels.
enum class subscription_kind { channel, pattern, shard };

/// A MULTI/EXEC block: keys to WATCH first (none: no WATCH) and the commands to queue.
struct transaction_block {
  std::vector<std::string> watch;
  std::vector<std::vector<std::string>> commands;
};

/// One pooled connection as seen from outside (tests and diagnostics).
struct connection_snapshot {
  conn_id id = 0;
  std::optional<address> endpoint;  ///< of the current socket
  resp3::protocol protocol = resp3::protocol::resp2;
  maint_state maint = maint_state::off;
  bool handing_off = false;
  bool relaxed = false;
  std::chrono::milliseconds timeout{0};  ///< effective reply timeout now
  std::size_t pending = 0;               ///< commands not written yet
  std::size_t in_flight = 0;             ///< written, reply not read yet
};

/**
 * @brief The reference SCH client: a pool of pipelined RESP3 connections that rides through
 * maintenance events.
 *
 * Behaviour lives in the sans-I/O machines (handshake_fsm, relaxation_tracker,
 * handoff_planner, handoff_fsm); this class only performs their actions on sockets and timers.
 *
 * @par Threading
 * Not thread-safe. Construct it and call every member on `executor`, which must be a single
 * thread (or a strand); callbacks run there too, never inline inside the call that started them.
 *
 * @par Object lifetimes
 * Destroying the client shuts it down (pending commands complete with `cancelled`); the
 * executor must keep running until those completions have run.
 */
class client {
 public:
  client(boost::asio::any_io_executor executor, resolved_config config, event_sink sink = {});
  ~client();
  client(const client&) = delete;
  auto operator=(const client&) -> client& = delete;

  /// Opens the first connection (max(1, min_idle_conns) of them) and runs the handshake.
  /// Completes with nullopt when ready, or with the reason (kind handshake or connection).
  void connect(std::function<void(std::optional<command_error>)> done);

  /// Runs one command; `done` gets the reply or the reason there is none, exactly once.
  void execute(std::vector<std::string> args, std::function<void(command_result)> done);

  /// Cluster redirection (-ASK): `ASKING` and then the command, back to back on the same
  /// connection, so the one-shot ASKING flag applies to it. `done` gets the command's reply;
  /// ASKING's own reply is not reported (if it failed, the command is answered -MOVED).
  void execute_asking(std::vector<std::string> args, std::function<void(command_result)> done);

  /**
   * Runs a blocking command (BLPOP, BRPOP, BLMOVE, ...) whose server-side wait is `block_for`
   * (zero: forever) on a connection of its own, never picked for other commands (they would
   * queue behind the wait). Its reply deadline is `block_for` plus the read timeout (relaxed
   * when a maintenance window opens). A MOVING never cuts a pending call: the handoff swaps
   * only once the old socket has drained, so the call completes there (an element, or nil when
   * its timeout runs out) and the next one is written on the new socket; a call still pending
   * when the grace ends fails with the old socket, explicitly, and is not re-issued (it may
   * have popped). One blocking call at a time is the intended use.
   */
  void execute_blocking(std::vector<std::string> args, std::chrono::milliseconds block_for,
                        std::function<void(command_result)> done);

  /**
   * Runs WATCH (when `block.watch` names keys), MULTI, the commands and EXEC as one unit: one
   * request whose bytes are written in one piece to one socket and which completes with EXEC's
   * reply, so nothing can come between them on the wire and a handoff cannot split them (the
   * swap waits until the old socket has answered every request written to it, EXEC's reply
   * included). A block that was never written goes whole to the new socket; one that was
   * written is never sent again (it may have run): a lost connection fails it. `done` gets
   * EXEC's reply: an array of the commands' replies, or null when a watched key changed; an
   * error (-EXECABORT, a lost connection, a timeout) is a command_error.
   */
  void transaction(transaction_block block, std::function<void(command_result)> done);

  /**
   * Subscribes to `names` on a connection of its own (never used for commands), over RESP3, and
   * keeps the subscription across maintenance: in a MOVING handoff the old connection
   * unsubscribes, and once its confirmations are read (so every message sent before them has
   * been handed over) it closes and the new connection subscribes; the gap is two round trips
   * and nothing arrives twice. After a reconnect the new connection subscribes again.
   * `on_message` gets every message (posted, never inline); `done` gets nullopt once the first
   * subscription is confirmed, or why it could not be taken. One subscription per client.
   */
  void subscribe(subscription_kind kind, std::vector<std::string> names,
                 std::function<void(pubsub_message)> on_message,
                 std::function<void(std::optional<command_error>)> done);

  /**
   * Sharded Pub/Sub, this node's share of the cluster client's (cluster_client::ssubscribe):
   * SSUBSCRIBE each of `channels` on this node's subscriber connection (made on the first call),
   * one command per channel, since channels of different slots may not share one (-CROSSSLOT).
   * The connection holds them across reconnects and handoffs as subscribe() does, except a
   * channel the node drops: the server's `sunsubscribe` (its slot left the node) or a refused
   * SSUBSCRIBE (-MOVED); the cluster client decides where it goes next. Confirmations, drops and
   * refusals go to `on_frame`, messages to `on_message` (both posted; the first call's kept).
   */
  void ssubscribe(std::vector<std::string> channels, std::function<void(pubsub_message)> on_message,
                  std::function<void(shard_frame)> on_frame);

  /// Called (posted, never inline) with every SMIGRATED any connection of this client reads,
  /// after that connection's relaxation was updated. The cluster client reloads its topology
  /// from here; a standalone client has no handler and only relaxes.
  void set_smigrated_handler(std::function<void(const maint::smigrated&)> handler);

  /// True when at least one connection is up and handshaken (commands are written at once).
  [[nodiscard]] auto ready() const -> bool;

  /// Commands accepted by execute() that have not completed yet.
  [[nodiscard]] auto outstanding() const -> std::size_t;

  /// A command handed back by take_unwritten(): its arguments and its completion, not run.
  struct unwritten_command {
    std::vector<std::string> args;
    std::function<void(command_result)> done;
  };
  /// Removes every command whose bytes were never handed to a socket (waiting for a
  /// connection, a reconnect or a handoff) and returns them uncompleted: nothing of them reached
  /// a server, so the cluster client can send them to another node without risking a double
  /// execution. Written commands stay and complete here as usual.
  [[nodiscard]] auto take_unwritten() -> std::vector<unwritten_command>;

  /// Fails every pending command with `cancelled` and closes every connection.
  void shutdown();

  [[nodiscard]] auto stats() const -> client_stats;
  [[nodiscard]] auto connections() const -> std::vector<connection_snapshot>;
  /// Where new connections dial (the configured address, or a MOVING target).
  [[nodiscard]] auto dial_target() const -> address;
  [[nodiscard]] auto config() const -> const resolved_config&;

  /// Completion-token front door to connect(), e.g. `co_await c.async_connect(use_awaitable)`.
  template <class CompletionToken>
  auto async_connect(CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(std::optional<command_error>)>(
        [this](auto handler) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          connect([shared](std::optional<command_error> e) { (*shared)(std::move(e)); });
        },
        token);
  }

  /// Completion-token front door to execute().
  template <class CompletionToken>
  auto async_execute(std::vector<std::string> args, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(command_result)>(
        [this](auto handler, std::vector<std::string> a) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          execute(std::move(a), [shared](command_result r) { (*shared)(std::move(r)); });
        },
        token, std::move(args));
  }

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace schsim::refclient
