#pragma once
// Internal: the facts blocking_commands judges, built once from the server's record (what the
// workload's producer pushed, which connection popped each element and whether the reply
// carrying it was written) and what the driver's blocking consumer reported.

#include <schsim/harness/checks.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis.hpp"

namespace schsim::harness::detail {

/// One element of the workload's server-side producer, and what became of it.
struct pushed_element {
  std::int64_t seq = 0;
  std::string key;
  std::int64_t at = 0;
  const timeline::event* event = nullptr;
  /// list_popped events carrying it (written, or lost with the connection).
  std::vector<const timeline::event*> popped;
  /// Indexes into driver.blocking.reports of the `popped` reports of this seq.
  std::vector<std::size_t> reports;

  [[nodiscard]] auto written() const -> const timeline::event*;
};

/// A blocking call that stayed unanswered longer than it may.
struct hung_call {
  std::int64_t sent_ns = 0;
  /// When the client answered it; nullopt: still pending when the run ended.
  std::optional<std::int64_t> answered_ns;
  std::optional<std::size_t> report;  ///< the answer, when there was one
  /// Maintenance pushes written to the client while it was pending ("MOVING at +1000.2 ms").
  std::vector<std::string> maintenance;
};

struct blocking_facts {
  bool active = false;  ///< the scenario has [workload.blocking]
  std::vector<std::string> keys;
  std::vector<pushed_element> pushed;  ///< by seq
  /// `popped` reports of an element the server never wrote to the client.
  std::vector<std::size_t> unknown_reports;
  std::vector<hung_call> hung;
  /// The longest a call may stay unanswered (its timeout + the client's relaxed timeout with
  /// tolerance + slack); 0 when calls block forever (timeout 0) and are never judged hung.
  std::int64_t allowed_ns = 0;
  /// Elements pushed after this are not judged (they may still be on their way at the end).
  std::int64_t judged_until = 0;
};

auto find_blocking(const check_input& in, const analysis& an) -> blocking_facts;

/// True when the connection that lost the element was closed by the server: the client could
/// not have read the reply.
auto lost_to_server_close(const analysis& an, const timeline::event& popped) -> bool;

/// Why the client is excused for giving up on the call that popped `el`, or nullopt: the
/// scenario held the reply (a latency or stall step) past the longest a client may wait for it
/// (the call's own timeout plus the read timeout that applied when it popped), so a client that
/// failed the call and dropped the element did what its timeouts told it to.
auto reply_held_past_deadline(const check_input& in, const analysis& an, const pushed_element& el)
    -> std::optional<std::string>;

}  // namespace schsim::harness::detail
