#pragma once
// Internal: the transaction facts the `transactions` check judges, built once from the server's
// record (the MULTI blocks each connection opened and how each ended, where every command naming
// a transaction's keys arrived) and the driver's results.

#include <schsim/harness/checks.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis.hpp"

namespace schsim::harness::detail {

/// One MULTI block on one connection, from its MULTI to the EXEC, DISCARD, RESET or close that
/// ended it (transaction_ended), or still open when the record ends.
struct server_block {
  std::uint64_t conn = 0;
  std::string endpoint;
  std::uint64_t multi_index = 0;
  /// The command that ended it (closed: the connection's last); nullopt: still open.
  std::optional<std::uint64_t> end_index;
  const timeline::event* multi = nullptr;  ///< the MULTI's command_received
  const timeline::event* ended = nullptr;  ///< transaction_ended; nullptr while open
  /// command_received of the commands it queued (+QUEUED), in order.
  std::vector<const timeline::event*> queued;
  /// The transaction its first queued command names (`tx:{N}`); nullopt: none of ours.
  std::optional<std::uint64_t> tx;

  [[nodiscard]] auto executed() const -> bool;
  /// Whether command `index` of this connection came between the MULTI and the block's end.
  [[nodiscard]] auto spans(std::uint64_t index) const -> bool;
};

/// One transaction the driver was asked to run, and every trace of it on the server.
struct transaction_episode {
  const transaction_outcome* outcome = nullptr;
  /// Every WATCH or INCR naming its keys, connection by connection.
  std::vector<const timeline::event*> arrivals;
  /// Connections its commands reached, each with the sequence of them in arrival order (0 for
  /// a WATCH, i for INCR k<i>).
  std::vector<std::pair<std::uint64_t, std::vector<std::uint32_t>>> per_conn;
  /// Blocks that queued any of its INCRs, and those of them EXEC ran.
  std::vector<const server_block*> blocks;
  std::vector<const server_block*> executed;
  /// Its INCRs the server ran on their own, outside any MULTI block (and did not refuse).
  std::vector<const timeline::event*> outside_multi;
  /// Connections whose sequence is not a start of the whole one (WATCH when asked, then k1..kS):
  /// the transaction went on there from where another connection left it.
  std::vector<std::uint64_t> split_conns;
  /// The most times one of its keys was incremented (executed blocks and lone INCRs).
  std::size_t most_increments = 0;
  /// Why its failure was the scenario's doing, as zero_dropped's failed_on_purpose: it timed
  /// out because the server held the reply it waited on last (its last block's EXEC, or its
  /// WATCH when no block came after) past the timeout that applied there (or where either
  /// applies), or none of its commands reached the server while replies were delayed (it waited
  /// behind them in the client); or it was lost because the server closed a connection of the
  /// client while it was in flight (or up to 50 ms before it was handed over: a FIN the client
  /// could not have read yet). Empty when it was not.
  std::string provoked;
};

struct transaction_facts {
  bool active = false;  ///< the scenario has [workload.transactions]
  std::vector<server_block> blocks;
  std::vector<transaction_episode> transactions;  ///< in the driver's order
};

auto find_transactions(const check_input& in, const analysis& an) -> transaction_facts;

}  // namespace schsim::harness::detail
