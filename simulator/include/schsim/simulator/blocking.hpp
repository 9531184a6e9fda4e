#pragma once
/**
 * @file
 * @brief Clients blocked on keys (BLPOP, BRPOP, BLMOVE, XREAD BLOCK) as Redis 7.4 keeps them,
 * sans-I/O: who waits on which key, in which order, until when.
 *
 * One registry serves every endpoint of a server (the keyspace is shared the same way). A list
 * or stream write signals its key ready; after the writing command, the handler serves the
 * waiters of each ready key first blocked first (serve_blocked() in command_handler.hpp), as
 * Redis's handleClientsBlockedOnKeys re-runs the blocked commands. Time is an argument:
 * next_deadline() tells the caller when to call take_expired().
 */

#include <schsim/core/clock.hpp>
#include <schsim/core/resp3/serializer.hpp>
#include <schsim/simulator/keyspace.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace schsim::simulator {

enum class blocking_kind : std::uint8_t {
  pop,    ///< BLPOP / BRPOP
  move,   ///< BLMOVE
  xread,  ///< XREAD BLOCK
};

/// A parked command with what serving it later needs (not the connection's state: its
/// protocol and database are copied in).
struct blocked_command {
  std::uint64_t conn = 0;
  std::uint64_t index = 0;  ///< the command's index on its connection
  int db = 0;
  resp3::protocol protocol = resp3::protocol::resp2;
  blocking_kind kind = blocking_kind::pop;
  std::vector<std::string> keys;       ///< in argument order (BLMOVE: the source)
  std::optional<time_point> deadline;  ///< none: blocks until served (timeout 0)
  list_end from = list_end::left;      ///< pop and move: the end taken from
  list_end to = list_end::left;        ///< move: the end pushed at
  std::string destination;             ///< move
  std::vector<stream_id> after;        ///< xread: per key, entries after this ID (`$` resolved)
  std::size_t count = 0;               ///< xread COUNT (0: no limit)
};

class blocking_registry {
 public:
  /// Parks `cmd` on each of its keys, behind the connections already waiting there.
  void block(blocked_command cmd);
  /// Served, timed out or its connection closed: forgets the connection's blocked command.
  auto unblock(std::uint64_t conn) -> std::optional<blocked_command>;
  [[nodiscard]] auto find(std::uint64_t conn) const -> const blocked_command*;
  [[nodiscard]] auto blocked(std::uint64_t conn) const -> bool { return find(conn) != nullptr; }
  /// Blocked connections (INFO's blocked_clients).
  [[nodiscard]] auto size() const -> std::size_t { return blocked_.size(); }

  /// A list or stream write on `key` in `db`: queues the key once as ready if a connection
  /// waits on it (Redis's signalKeyAsReady). A no-op while nobody is blocked.
  void signal_ready(int db, std::string_view key);
  [[nodiscard]] auto has_ready() const -> bool { return !ready_.empty(); }
  /// The ready keys in the order they were signalled; the queue is emptied.
  auto take_ready() -> std::vector<std::pair<int, std::string>>;
  /// The connections waiting on `key`, first blocked first.
  [[nodiscard]] auto waiters(int db, std::string_view key) const -> std::vector<std::uint64_t>;

  /// The earliest deadline of a blocked command, if any has one.
  [[nodiscard]] auto next_deadline() const -> std::optional<time_point>;
  /// Unblocks and returns the commands whose deadline is at or before `now`, earliest deadline
  /// first (ties: first blocked first).
  auto take_expired(time_point now) -> std::vector<blocked_command>;

 private:
  using key_ref = std::pair<int, std::string>;
  struct parked {
    blocked_command cmd;
    std::uint64_t order = 0;  ///< blocking order, for deadline ties
  };
  std::unordered_map<std::uint64_t, parked> blocked_;
  std::map<key_ref, std::deque<std::uint64_t>> waiting_;  // key -> connections, FIFO
  std::set<std::tuple<time_point, std::uint64_t, std::uint64_t>> deadlines_;  // (due, order, conn)
  std::vector<key_ref> ready_;
  std::set<key_ref> ready_set_;
  std::uint64_t next_order_ = 0;
};

}  // namespace schsim::simulator
