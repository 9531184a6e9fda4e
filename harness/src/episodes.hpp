#pragma once
// Internal: the typed episodes every check is a predicate over, built once per run from the
// server's timeline (analysis.hpp indexes it per connection) and the driver's results: per MOVING
// seq, per slot migration and SMIGRATED, per node removal, per maintenance window, per command.
// The checks under checks/ only judge these; none re-scans the raw timeline.

#include <schsim/core/cluster/slots.hpp>
#include <schsim/harness/checks.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analysis.hpp"
#include "blocking_facts.hpp"
#include "subscriptions.hpp"
#include "transaction_facts.hpp"

namespace schsim::harness::detail {

/// One command the driver issued, and what the server did with it.
struct command_episode {
  const verdict::command_outcome* outcome = nullptr;
  /// The workload identity the server record can tie to it (INCR key, SET value, PING
  /// message); nullopt for commands the record cannot tell apart (GET, DEL, ...).
  std::optional<std::string> identity;
  /// Every receipt on any node, cluster redirections included, in recording order.
  std::vector<const timeline::event*> arrivals;
  /// The receipts a node executed (arrivals minus redirections and refusals).
  std::vector<const timeline::event*> executions;
  /// The first reply the server wrote to one of those executions; nullptr when it wrote none.
  const timeline::event* first_reply = nullptr;
};

/// One MOVING seq: every copy written, where it pointed, and what the client did about it.
struct moving_episode {
  std::int64_t seq = 0;
  std::int64_t at = 0;  ///< the first copy written
  std::int64_t time_s = 0;
  std::string step;
  std::vector<const timeline::event*> pushes;
  /// Connections open when the event began that were told (a replay to a connection opened
  /// later, a late joiner or the handoff connection itself, is not an old connection).
  std::set<std::uint64_t> conns;
  std::string from;                   ///< endpoint of the connections that got it
  std::optional<std::string> target;  ///< endpoint name; nullopt for a null endpoint
  bool target_known = true;           ///< false: a literal address the simulator does not serve
  std::string target_text;
  /// The lifecycle's forced close (step "<id>.close"), else the end of the grace.
  std::int64_t forced_close_at = forever;
  const timeline::event* forced_close_event = nullptr;

  /// Connections to the target (the same endpoint for a null endpoint) opened after the push.
  std::vector<const conn_record*> fresh;
  /// The earliest handshake on a fresh connection (maintenance opt-in when expected).
  std::optional<std::int64_t> ready_at;
  const conn_record* ready_conn = nullptr;
  /// The fresh connection opened first.
  const conn_record* first_fresh = nullptr;
  /// The first data command on a fresh connection: when traffic moved.
  std::optional<std::int64_t> moved_at;
  /// Whether the workload intended any command between the push and the forced close.
  bool traffic_after = false;
  /// Fresh connections opened before the forced close, except those that replaced a fresh
  /// connection already closed (a reconnect): one handoff each.
  std::size_t handoffs = 0;
  /// Connections told to move: every one that got a copy, except fresh ones (at least 1). A
  /// correct client hands off once per connection told, never more.
  std::size_t handoffs_allowed = 1;

  /// Where traffic was to go: the target, or the same endpoint for a null MOVING.
  [[nodiscard]] auto destination() const -> const std::string& { return target ? *target : from; }
};

/// One triplet of a SMIGRATED, with its nodes resolved to endpoint names.
struct moved_slots {
  std::string source;
  std::string destination;
  std::string source_text;  ///< as the scenario wrote it, for findings when unresolved
  cluster::slot_set slots;
};

/// One SMIGRATED seq: a topology change, however many connections (and times) it reached.
struct smigrated_episode {
  std::int64_t seq = 0;
  const timeline::event* first = nullptr;  ///< the first copy written
  std::size_t copies = 0;
  std::vector<moved_slots> moves;  ///< empty when the sending step is unknown (raw bytes)
};

/// A node left without slots by a SMIGRATED, until a migration gives it slots again.
struct node_removal {
  std::string node;
  std::int64_t seq = 0;
  const timeline::event* push = nullptr;
  std::int64_t start = 0;
  std::int64_t end = forever;
  std::string end_reason;
};

/// A slot migration, from the step that began it to the step that completed it.
struct slot_migration {
  const scenario::begin_slot_migration_action* begin = nullptr;
  std::int64_t start = 0;
  std::optional<std::int64_t> end;  ///< nullopt: never completed
};

/// A maintenance window on one endpoint: the first opening push of a seq to the first closing
/// push on the same endpoint after it.
struct maintenance_window {
  std::string endpoint;
  std::string label;
  std::int64_t start = 0;
  std::optional<std::int64_t> end;  ///< nullopt: never closed
};

/// A data command a connection received and never answered because the connection closed
/// first: what the server alone can tell of a dropped command (schsim serve has no driver).
struct cut_command {
  const timeline::event* received = nullptr;
  const timeline::event* closed = nullptr;  ///< the connection's connection_closed
  bool closed_by_server = false;
  /// The connection had been told MOVING before the command arrived: the client was to
  /// move its traffic, so the server's close cutting it is the client's doing.
  bool after_moving = false;
  /// A reply delay (latency, stall) was in force on the endpoint when the command arrived:
  /// a client close then may be its timeout, which only a driver could tell.
  bool delayed = false;
  /// The same arguments received later on another connection (the client sent it again);
  /// nullptr when they never came.
  const timeline::event* sent_again = nullptr;
};

struct episodes {
  analysis an;
  std::vector<command_episode> commands;       ///< in the driver's order
  std::vector<moving_episode> movings;         ///< by seq
  std::vector<smigrated_episode> smigrations;  ///< by first copy's time
  std::vector<node_removal> removals;
  std::vector<slot_migration> migrations;
  std::vector<maintenance_window> windows;
  /// Every command whose reply the server delayed, judged against the timeout that applied.
  std::vector<delay_judgement> delays;
  /// Failed commands the scenario provoked on purpose, with why.
  std::map<std::uint64_t, std::string> failed_on_purpose;
  pubsub_facts pubsub;
  blocking_facts blocking;
  transaction_facts transactions;
  std::vector<cut_command> cut_commands;   ///< in the order of the closes
  std::size_t data_commands_received = 0;  ///< on every connection, redirected ones included
};

auto build_episodes(const check_input& in) -> episodes;
auto find_cut_commands(const analysis& an) -> std::vector<cut_command>;

/// When a connection was ready: its maintenance opt-in answered, else HELLO, else its first
/// command. nullopt when the expected handshake never happened.
auto handshaken_at(const conn_record& c, bool expect_maint) -> std::optional<std::int64_t>;

/// The topology endpoint a name or host:port names; empty when neither.
auto resolve_node(const check_input& in, std::string_view name_or_address) -> std::string;

}  // namespace schsim::harness::detail
