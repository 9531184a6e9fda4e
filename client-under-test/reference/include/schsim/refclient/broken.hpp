#pragma once

#include <bitset>
#include <optional>
#include <span>
#include <string_view>

namespace schsim::refclient {

/**
 * @brief Deliberate bugs, one known misbehaviour each.
 *
 * They exist so that every harness check can be shown to fail on the bug it is meant to catch:
 * run the reference client with one switch on and the matching check must go red.
 */
enum class broken_mode {
  ignore_moving,           ///< MOVING is parsed and dropped: no handoff at all
  no_relax,                ///< timeouts are never relaxed
  relax_forever,           ///< end notifications and the backstop never restore timeouts
  drop_buffered,           ///< commands held during a handoff are failed instead of resumed
  resend_written,          ///< commands written but unanswered are sent again on the new connection
  late_reconnect,          ///< the handoff starts only after the grace period has ended
  skip_handoff_handshake,  ///< handoff connections skip HELLO and CLIENT MAINT_NOTIFICATIONS
  ignore_null_delay,       ///< a null-endpoint MOVING reconnects at once instead of after time/2
  ignore_smigrated,  ///< cluster: SMIGRATED never reloads the topology; only -MOVED repairs the
                     ///< map, one slot at a time, so moved slots keep reaching the source node
  sticky_slot_map,   ///< cluster: -MOVED is followed for the one command but the slot map never
                     ///< changes after the first load, so traffic keeps going to a removed node
  skip_handoff_verification,  ///< TLS: a handoff connection accepts any server certificate (no
                              ///< chain, no host name check) and sends commands over it
  opt_in_when_disabled,       ///< `mode = disabled` is ignored: every connection sends CLIENT
                              ///< MAINT_NOTIFICATIONS ON (and acts on the pushes) as in auto mode
  no_resubscribe,  ///< Pub/Sub: after a handoff or a reconnect the subscriber connection does not
                   ///< subscribe again, nor a shard channel on its slot's new owner; messages stop
  overlap_subscriptions,  ///< Pub/Sub: a handoff subscribes on the new connection before the old
                          ///< one stops, so messages published in between arrive twice
  abandon_blocked,     ///< blocking commands: a MOVING answers the pending call nil at once (as if
                       ///< it timed out) and discards its reply; the server still pops into it
  unbounded_blocking,  ///< blocking commands: no reply deadline at all, as if every call blocked
                       ///< forever, so a call whose reply the server holds hangs with it
  split_transaction,   ///< transactions: a MULTI block is sent command by command, each after the
                       ///< previous reply, so a handoff swap can fall between MULTI and EXEC and
                       ///< the rest of the block goes to the new connection
  handoff_backoff,     ///< a handoff waits a retry backoff before its first dial, and the
                       ///< connection's commands wait with it: traffic stalls for the backoff
  ip_endpoint_type_under_tls,  ///< auto endpoint type looks at the host alone, so an IP start
                               ///< address asks for an IP type even under TLS
  resubscribe_on_window,       ///< Pub/Sub: a window-opening push (MIGRATING, FAILING_OVER) makes
                               ///< the subscriber unsubscribe and subscribe again a while later,
                               ///< though nothing ended its subscription
  plaintext_handoff,           ///< TLS: handoff connections are dialled in plaintext
  queued_as_result,            ///< transactions: a block is answered with its +QUEUED replies as
                               ///< soon as they are read, before EXEC's reply
};

inline constexpr std::size_t broken_mode_count = 22;

/// Command-line spelling, e.g. "ignore-moving".
auto to_string(broken_mode m) -> std::string_view;
auto parse_broken_mode(std::string_view s) -> std::optional<broken_mode>;
/// One line per mode for --list-broken: what goes wrong.
auto describe(broken_mode m) -> std::string_view;
auto all_broken_modes() -> std::span<const broken_mode>;

/// A set of broken modes; empty for a correct client.
class broken_set {
 public:
  broken_set() = default;
  void set(broken_mode m) { bits_.set(static_cast<std::size_t>(m)); }
  [[nodiscard]] auto has(broken_mode m) const -> bool {
    return bits_.test(static_cast<std::size_t>(m));
  }
  [[nodiscard]] auto empty() const -> bool { return bits_.none(); }
  friend auto operator==(const broken_set&, const broken_set&) -> bool = default;

 private:
  std::bitset<broken_mode_count> bits_;
};

}  // namespace schsim::refclient
