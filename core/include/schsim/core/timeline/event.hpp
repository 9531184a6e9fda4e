#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace schsim::timeline {

/// Who ended a connection, as the server saw it.
enum class close_initiator { client, server };
/// How it ended: an orderly FIN, a reset, or a socket error.
enum class close_how { fin, rst, error };

struct connection_opened {
  std::string peer;  ///< client address "127.0.0.1:54321"
};
struct connection_closed {
  close_initiator by = close_initiator::client;
  close_how how = close_how::fin;
  std::string reason;  ///< e.g. "scenario step s3", "protocol error", "output buffer limit"
};
/// A HELLO command and the server's answer.
struct hello {
  int protover = 2;  ///< requested version (2 when HELLO had no argument)
  bool accepted = false;
  std::string user;   ///< AUTH user given in HELLO, if any
  std::string error;  ///< error reply when not accepted
};
/// CLIENT MAINT_NOTIFICATIONS ON|OFF and the server's answer.
struct maint_handshake {
  bool enable = false;
  std::optional<std::string> endpoint_type;  ///< absent for the bare form
  bool accepted = false;
  std::string reply;  ///< "OK" or the error text
  int protocol = 2;   ///< the connection's protocol when it was sent (must be 3)
};
/// One command received; `index` counts commands on this connection from 0.
struct command_received {
  std::uint64_t index = 0;
  std::vector<std::string> args;  ///< arguments, each cut to 128 bytes
};
/// The reply to command `index` was written (fully) to the socket.
struct reply_written {
  std::uint64_t index = 0;
  bool error = false;
  std::string summary;  ///< short rendering of the reply, e.g. "+OK", ":5", "-ERR ..."
};
/// A push frame was written (fully) to the socket.
struct push_written {
  std::string name;  ///< "MOVING", ... or the first element of a non-maintenance push
  std::int64_t seq = 0;
  std::optional<std::int64_t> time_s;
  std::size_t bytes = 0;
  std::string dialect;  ///< "canonical" or the dialect flags used
  std::string step;     ///< scenario step that sent it, if any
};
/// Malformed input on a connection; the server answered -ERR Protocol error and closed it.
struct protocol_error {
  std::string message;
  std::uint64_t offset = 0;  ///< byte offset in the connection's input stream
};
/// A scenario step ran. `scheduled_ns` is when it was due; the event's own stamp is when it ran.
struct step_executed {
  std::string step;    ///< step id
  std::string action;  ///< action name, e.g. "send", "close", "latency"
  std::int64_t scheduled_ns = 0;
  std::string detail;  ///< e.g. "to 3 connections"
};
/// Cluster mode: a key command was answered -MOVED or -ASK instead of being executed. Recorded
/// right after the command's command_received on the same connection.
struct cluster_redirect {
  enum class kind { moved, ask };
  kind what = kind::moved;
  std::uint16_t slot = 0;
  std::string target;   ///< node name the reply points to
  std::string address;  ///< host:port in the reply
  std::string command;  ///< the command's name as sent, e.g. "SET"
};
/// Cluster mode: `slots` (text form "0-99,200") start moving from node `from` to node `to`;
/// `from` answers -ASK for keys already moved, `to` serves them after ASKING.
struct slot_migration_started {
  std::string from;
  std::string to;
  std::string slots;
};
/// Cluster mode: `to` now owns `slots` (CLUSTER SLOTS shows it); `from` answers -MOVED for them.
struct slot_migration_completed {
  std::string from;
  std::string to;
  std::string slots;
};
/// Free text worth keeping in the record (endpoint up/down, accept mode changes, ...).
/**
 * The transport of a connection to an endpoint that speaks TLS, or a TLS ClientHello sent to a
 * plaintext endpoint: recorded once per such connection, when the handshake ends (or is refused
 * before it starts). A plaintext connection to a plaintext endpoint records none.
 */
struct tls_handshake {
  bool tls = false;        ///< the client started a TLS handshake (its first byte was 0x16)
  bool completed = false;  ///< the handshake finished; commands may follow
  std::string version;     ///< negotiated protocol, e.g. "TLSv1.3" (when completed)
  std::string sni;         ///< server name the client sent in its ClientHello; empty: none
  bool client_certificate = false;  ///< the client presented a certificate that verified
  std::string error;  ///< why it did not complete / was refused (OpenSSL's reason, or ours)
};
struct note {
  std::string text;
};
/**
 * A MULTI block ended on a connection: EXEC ran it, or EXEC refused it, or DISCARD, RESET or
 * the connection's close dropped it. Indices are command indices on that connection
 * (command_received::index), so its queued commands can be found in the timeline.
 */
struct transaction_ended {
  enum class outcome {
    executed,      ///< EXEC ran every queued command (each reply in the EXEC array)
    aborted,       ///< -EXECABORT: a command was refused while queuing, or EXEC was refused
    watch_failed,  ///< a watched key changed: EXEC answered a null
    discarded,     ///< DISCARD or RESET
    closed,        ///< the connection closed inside MULTI
  };
  outcome result = outcome::executed;
  std::uint64_t multi_index = 0;        ///< the MULTI
  std::uint64_t end_index = 0;          ///< the EXEC / DISCARD / RESET (closed: the last command)
  std::vector<std::uint64_t> commands;  ///< the commands queued (+QUEUED), in order
  std::size_t errors = 0;               ///< executed: how many of their replies were errors
};

/**
 * A PUBLISH or SPUBLISH ran on this connection (also inside EXEC): server-side accounting of
 * what was published, for checks that compare it with what subscribers got.
 */
struct pubsub_published {
  std::string channel;
  bool sharded = false;             ///< SPUBLISH
  std::size_t receivers = 0;        ///< subscriptions it was queued to (every node's)
  std::optional<std::int64_t> seq;  ///< N when the payload is the workload's `seq:N`
  std::size_t bytes = 0;            ///< payload length
};
/// A Pub/Sub message was written (fully) to this subscriber's socket.
struct pubsub_delivered {
  std::string channel;
  std::string pattern;              ///< a pmessage: the pattern it matched; empty otherwise
  bool sharded = false;             ///< an smessage
  std::optional<std::int64_t> seq;  ///< N when the payload is the workload's `seq:N`
  std::size_t bytes = 0;            ///< payload length
};
/**
 * An element was pushed onto a list: by this connection's command (LPUSH, RPUSH, LMOVE or
 * BLMOVE onto its destination, also inside EXEC), or by the server-side producer (connection 0,
 * no endpoint, `producer` set). Server-side accounting, for checks that compare what was
 * pushed with what clients popped.
 */
struct list_pushed {
  std::string key;
  std::string element;
  bool producer = false;
};
/**
 * An element popped from a list (LPOP, RPOP, LMOVE, BLPOP, BRPOP, BLMOVE, also served after
 * blocking) was written to this connection inside the reply of command `command`, or was lost:
 * the connection closed before that reply was written whole, so nobody got the element.
 */
struct list_popped {
  enum class outcome {
    written,  ///< the reply carrying it was written whole
    lost,     ///< popped, but the connection closed before the reply was written
  };
  std::string key;
  std::string element;
  std::uint64_t command = 0;  ///< index of the command whose reply carries it
  outcome result = outcome::written;
};

using detail =
    std::variant<connection_opened, connection_closed, hello, maint_handshake, command_received,
                 reply_written, push_written, protocol_error, step_executed, note, cluster_redirect,
                 slot_migration_started, slot_migration_completed, tls_handshake, transaction_ended,
                 pubsub_published, pubsub_delivered, list_pushed, list_popped>;

/// One server-side event. `t_ns` is CLOCK_MONOTONIC nanoseconds (schsim::to_ns).
struct event {
  std::int64_t t_ns = 0;
  std::string endpoint;    ///< endpoint (node) name; empty for run-wide events
  std::uint64_t conn = 0;  ///< connection id, unique per run; 0 for non-connection events
  detail what;
};

/// "executed", "aborted", "watch_failed", "discarded", "closed".
auto outcome_name(transaction_ended::outcome o) -> const char*;
/// The inverse of outcome_name(); unknown names read as executed.
auto outcome_from_name(std::string_view name) -> transaction_ended::outcome;

/// "written", "lost".
auto outcome_name(list_popped::outcome o) -> const char*;
/// The inverse of that outcome_name(); unknown names read as written.
auto popped_outcome_from_name(std::string_view name) -> list_popped::outcome;

/// The snake_case name of the alternative held, e.g. "command_received".
auto kind_name(const detail& d) -> const char*;

}  // namespace schsim::timeline
