#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace schsim::maint {

/// MOVING: the endpoint will move; reconnect to `endpoint` (host:port) before `time_s` seconds.
/// No endpoint (RESP3 null) means: reconnect to the configured address after time_s / 2.
struct moving {
  std::int64_t seq = 0;
  std::int64_t time_s = 0;
  std::optional<std::string> endpoint;
  friend auto operator==(const moving&, const moving&) -> bool = default;
};

/// MIGRATING: a shard migration starts within `time_s` seconds; relax timeouts until MIGRATED.
struct migrating {
  std::int64_t seq = 0;
  std::int64_t time_s = 0;
  std::vector<std::string> shard_ids;
  friend auto operator==(const migrating&, const migrating&) -> bool = default;
};

struct migrated {
  std::int64_t seq = 0;
  std::vector<std::string> shard_ids;
  friend auto operator==(const migrated&, const migrated&) -> bool = default;
};

/// FAILING_OVER: a failover of a healthy shard starts within `time_s` seconds.
struct failing_over {
  std::int64_t seq = 0;
  std::int64_t time_s = 0;
  std::vector<std::string> shard_ids;
  friend auto operator==(const failing_over&, const failing_over&) -> bool = default;
};

struct failed_over {
  std::int64_t seq = 0;
  std::vector<std::string> shard_ids;
  friend auto operator==(const failed_over&, const failed_over&) -> bool = default;
};

/// The highest slot of the cluster keyspace (slots are 0-16383).
inline constexpr std::uint16_t max_slot = 16383;

/// An inclusive range of cluster hash slots; a single slot has first == last.
struct slot_range {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  friend auto operator==(const slot_range&, const slot_range&) -> bool = default;
};

/// SMIGRATING (OSS Cluster API): slots are being migrated away from this node.
struct smigrating {
  std::int64_t seq = 0;
  std::vector<slot_range> slots;
  friend auto operator==(const smigrating&, const smigrating&) -> bool = default;
};

struct smigrated_entry {
  std::string source;       ///< host:port
  std::string destination;  ///< host:port
  std::vector<slot_range> slots;
  friend auto operator==(const smigrated_entry&, const smigrated_entry&) -> bool = default;
};

/// SMIGRATED (OSS Cluster API): slot migration finished; the payload is a topology delta.
struct smigrated {
  std::int64_t seq = 0;
  std::vector<smigrated_entry> entries;
  friend auto operator==(const smigrated&, const smigrated&) -> bool = default;
};

using notification =
    std::variant<moving, migrating, migrated, failing_over, failed_over, smigrating, smigrated>;

/// The seven notification kinds, in the order of the variant's alternatives.
enum class kind { moving, migrating, migrated, failing_over, failed_over, smigrating, smigrated };

/// The wire name, e.g. "FAILING_OVER".
auto wire_name(kind k) -> std::string_view;
/// Scenario-file spelling, e.g. "failing_over".
auto to_string(kind k) -> std::string_view;
auto operator<<(std::ostream& os, kind k) -> std::ostream&;
/// Accepts the wire name ("MOVING") or the scenario spelling ("moving").
auto parse_kind(std::string_view name) -> std::optional<kind>;

auto kind_of(const notification& n) -> kind;
auto seq_of(const notification& n) -> std::int64_t;
void set_seq(notification& n, std::int64_t seq);
/// Seconds of the `time` field, for the kinds that carry one.
auto time_of(const notification& n) -> std::optional<std::int64_t>;
void set_time(notification& n, std::int64_t time_s);

/// MIGRATING, FAILING_OVER and SMIGRATING open a relaxed-timeout window.
auto opens_window(kind k) noexcept -> bool;
/// MIGRATED, FAILED_OVER and SMIGRATED close the window opened by the matching kind.
auto closes_window(kind k) noexcept -> bool;
/// The kind that closes the window `k` opens (migrating → migrated, ...); nullopt otherwise.
auto closing_kind(kind k) noexcept -> std::optional<kind>;

/// "123,789-1000" → ranges. Returns nullopt on a malformed list, a slot above 16383 or a range
/// whose end is below its start. Blanks around items are allowed; "" is an empty list.
auto parse_slot_list(std::string_view text) -> std::optional<std::vector<slot_range>>;
auto format_slot_list(const std::vector<slot_range>& slots) -> std::string;

/// `["1","2"]` (the JSON-array string servers send) → {"1","2"}; nullopt if malformed. JSON
/// escapes are decoded; bare integers (`[1,2]`) are accepted and kept as their text.
auto parse_shard_ids(std::string_view json) -> std::optional<std::vector<std::string>>;
auto format_shard_ids(const std::vector<std::string>& ids) -> std::string;

auto to_debug_string(const notification& n) -> std::string;
auto operator<<(std::ostream& os, const notification& n) -> std::ostream&;

}  // namespace schsim::maint
