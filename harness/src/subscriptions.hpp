#pragma once
// Internal: the Pub/Sub facts pubsub_continuity judges, built once from the server's record
// (who held which subscription when, what the workload's publisher published and what the
// server wrote to whom) and the messages the driver reported.

#include <schsim/harness/checks.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis.hpp"

namespace schsim::harness::detail {

/// One subscription name (a channel, a pattern, a shard channel) held by one connection of the
/// client, from the command that took it to whatever ended it.
struct subscription_span {
  std::uint64_t conn = 0;
  std::string endpoint;
  std::string name;
  scenario::subscribe_kind kind = scenario::subscribe_kind::channel;
  std::int64_t start = 0;
  std::int64_t end = forever;
  /// "UNSUBSCRIBE", "RESET", "closed by the client", "closed by the server (reason)",
  /// "sunsubscribe from the server" (a shard channel's slot left the node); empty while held.
  std::string ended_by;
  /// A maintenance event that explains the end: the server closed the connection, a MOVING
  /// or SMIGRATED had been written to it, or the shard channel's slot moved to another node.
  /// Empty when the client ended it on its own.
  std::string cause;

  [[nodiscard]] auto covers(std::string_view channel) const -> bool;
  [[nodiscard]] auto held_at(std::int64_t t) const -> bool { return start <= t && t < end; }
};

/// One message of the workload's server-side publisher, and what became of it.
struct published_message {
  std::int64_t seq = 0;
  std::string channel;
  std::int64_t at = 0;
  const timeline::event* event = nullptr;
  /// Connections of the client holding a subscription that covers the channel when it was
  /// published: the server queued it once to each.
  std::vector<std::uint64_t> holders;
  /// pubsub_delivered events: the server wrote it whole to these connections.
  std::vector<const timeline::event*> written;
  /// Indexes into driver.pubsub.messages of the reports of this seq.
  std::vector<std::size_t> reports;
};

/// A time in which some workload channel had no subscription of the client covering it, after
/// the client first held them all.
struct subscription_gap {
  std::int64_t start = 0;
  std::optional<std::int64_t> end;           ///< nullopt: never held again before the end
  const subscription_span* ended = nullptr;  ///< the span whose end opened it
  std::vector<std::string> channels;         ///< the channels left uncovered
};

struct pubsub_facts {
  bool active = false;  ///< the scenario has [workload.pubsub]
  std::vector<std::string> channels;
  std::vector<subscription_span> spans;
  /// When every workload channel was first covered (nullopt: never).
  std::optional<std::int64_t> first_held;
  std::vector<published_message> published;  ///< by seq
  std::vector<subscription_gap> gaps;
  /// Reports whose payload is not a message the publisher sent.
  std::vector<std::size_t> unknown_reports;
  /// Pairs of report indexes (earlier, later) on one channel whose seqs go backwards.
  std::vector<std::pair<std::size_t, std::size_t>> out_of_order;
  /// Messages published after this are not judged (they may still be in flight at the end).
  std::int64_t judged_until = 0;
};

auto find_pubsub(const check_input& in, const analysis& an) -> pubsub_facts;

}  // namespace schsim::harness::detail
