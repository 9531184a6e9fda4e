#include <schsim/refclient/broken.hpp>

#include <array>

namespace schsim::refclient {

namespace {

struct broken_entry {
  broken_mode mode;
  std::string_view name;
  std::string_view description;
};

constexpr std::array<broken_entry, broken_mode_count> entries{{
    {broken_mode::ignore_moving, "ignore-moving",
     "MOVING is ignored: no handoff, the old connection dies at the grace"},
    {broken_mode::no_relax, "no-relax", "timeouts are never relaxed during maintenance"},
    {broken_mode::relax_forever, "relax-forever", "relaxed timeouts are never restored"},
    {broken_mode::drop_buffered, "drop-buffered",
     "commands buffered during a handoff are failed instead of resumed"},
    {broken_mode::resend_written, "resend-written",
     "commands written but unanswered are sent again on the new connection"},
    {broken_mode::late_reconnect, "late-reconnect",
     "the handoff starts after the grace period instead of before it ends"},
    {broken_mode::skip_handoff_handshake, "skip-handoff-handshake",
     "handoff connections skip HELLO and CLIENT MAINT_NOTIFICATIONS"},
    {broken_mode::ignore_null_delay, "ignore-null-delay",
     "a null-endpoint MOVING reconnects at once instead of after time/2"},
    {broken_mode::ignore_smigrated, "ignore-smigrated",
     "cluster: SMIGRATED never reloads the topology; only -MOVED repairs the map, slot by slot"},
    {broken_mode::sticky_slot_map, "sticky-slot-map",
     "cluster: -MOVED is followed once but the slot map never changes after the first load"},
    {broken_mode::skip_handoff_verification, "skip-handoff-verification",
     "TLS: handoff connections accept any server certificate (no chain or host name check)"},
    {broken_mode::opt_in_when_disabled, "opt-in-when-disabled",
     "mode disabled is ignored: connections opt in to maintenance pushes as in auto mode"},
    {broken_mode::no_resubscribe, "no-resubscribe",
     "Pub/Sub: the subscription is not taken again after a handoff, a reconnect or (shard "
     "channels) a slot migration"},
    {broken_mode::overlap_subscriptions, "overlap-subscriptions",
     "Pub/Sub: a handoff subscribes on the new connection before the old one unsubscribes, so "
     "messages arrive twice"},
    {broken_mode::abandon_blocked, "abandon-blocked",
     "blocking commands: a MOVING answers the pending BLPOP nil and discards its reply, so the "
     "element the server pops into it is lost"},
    {broken_mode::unbounded_blocking, "unbounded-blocking",
     "blocking commands: a call gets no reply deadline, so it hangs as long as the server holds "
     "its reply"},
    {broken_mode::split_transaction, "split-transaction",
     "transactions: MULTI, each command and EXEC are sent one by one, so a handoff can split "
     "the block between two connections"},
    {broken_mode::handoff_backoff, "handoff-backoff",
     "a handoff waits a 2 s retry backoff before its first dial, and the connection's commands "
     "wait with it"},
    {broken_mode::ip_endpoint_type_under_tls, "ip-endpoint-type-under-tls",
     "TLS: endpoint type auto is resolved from the host alone, so an IP start address asks for "
     "internal-ip or external-ip, whose endpoints the certificate does not name"},
    {broken_mode::resubscribe_on_window, "resubscribe-on-window",
     "Pub/Sub: a MIGRATING or FAILING_OVER makes the subscriber unsubscribe and subscribe again "
     "300 ms later, though the connection is not moving: messages in between are lost"},
    {broken_mode::plaintext_handoff, "plaintext-handoff",
     "TLS: handoff connections are dialled in plaintext (the configured TLS settings are "
     "applied to the first connection only)"},
    {broken_mode::queued_as_result, "queued-as-result",
     "transactions: a block is answered with its +QUEUED replies as soon as they are read, not "
     "with EXEC's reply"},
}};

constexpr auto make_modes() {
  std::array<broken_mode, broken_mode_count> out{};
  for (std::size_t i = 0; i < entries.size(); ++i) out[i] = entries[i].mode;
  return out;
}
constexpr auto all_modes = make_modes();

}  // namespace

auto to_string(broken_mode m) -> std::string_view {
  return entries[static_cast<std::size_t>(m)].name;
}

auto describe(broken_mode m) -> std::string_view {
  return entries[static_cast<std::size_t>(m)].description;
}

auto parse_broken_mode(std::string_view s) -> std::optional<broken_mode> {
  for (const auto& e : entries) {
    if (e.name == s) return e.mode;
  }
  return std::nullopt;
}

auto all_broken_modes() -> std::span<const broken_mode> { return all_modes; }

}  // namespace schsim::refclient
