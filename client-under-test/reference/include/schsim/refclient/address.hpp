#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace schsim::refclient {

/// A TCP endpoint as the client dials it.
struct address {
  std::string host;
  std::uint16_t port = 0;

  /// "host:port"; an IPv6 host is bracketed ("[::1]:6379").
  [[nodiscard]] auto to_string() const -> std::string;
  friend auto operator==(const address&, const address&) -> bool = default;
  friend auto operator<=>(const address&, const address&) = default;
};

auto operator<<(std::ostream& os, const address& a) -> std::ostream&;

/**
 * Parses a MOVING endpoint. Accepts "host:port", "[v6]:port" and a bare IPv6 "v6:port" (split
 * at the last colon, as redis-py does; sch-protocol.md §8 row "IPv6 host:port"). A missing
 * or unparsable port gives nullopt rather than a guess: dialing a wrong port silently would be
 * worse than refusing the handoff.
 */
auto parse_address(std::string_view text) -> std::optional<address>;

}  // namespace schsim::refclient
