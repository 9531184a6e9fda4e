#pragma once
/**
 * @file
 * @brief OSS Cluster API slot arithmetic: CRC16 key hashing with hash tags, and sets of slots
 * in the `123,789-1000` text form that SMIGRATING, SMIGRATED and scenario files use.
 *
 * Pure functions and values, no I/O: the simulator routes commands with them, the scenario
 * loader validates ownership with them and the reference client picks a node with them.
 */

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace schsim::cluster {

/// Redis Cluster has a fixed number of hash slots.
inline constexpr std::uint32_t slot_count = 16384;

/// CRC16-XMODEM (polynomial 0x1021, initial value 0), the checksum Redis hashes keys with.
auto crc16(std::string_view bytes) -> std::uint16_t;

/// The slot of `key`: CRC16 of the whole key, or of the text between the first `{` and the next
/// `}` when that text is not empty (a hash tag), modulo 16384.
auto key_slot(std::string_view key) -> std::uint16_t;

/// An inclusive range of slots.
struct slot_range {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  friend auto operator==(const slot_range&, const slot_range&) -> bool = default;
};

/// A set of slots. A bitset rather than a list of ranges because ownership changes split and
/// merge ranges freely; ranges() gives the merged form back.
class slot_set {
 public:
  slot_set() = default;
  /// The set holding the inclusive range [first, last].
  static auto of(std::uint16_t first, std::uint16_t last) -> slot_set;

  void add(std::uint16_t slot);
  void add(slot_range range);
  void add(const slot_set& other);
  void remove(std::uint16_t slot);
  void remove(const slot_set& other);

  [[nodiscard]] auto contains(std::uint16_t slot) const -> bool;
  [[nodiscard]] auto empty() const -> bool;
  [[nodiscard]] auto size() const -> std::size_t;
  /// Ascending, with adjacent slots merged into one range.
  [[nodiscard]] auto ranges() const -> std::vector<slot_range>;
  [[nodiscard]] auto intersects(const slot_set& other) const -> bool;
  [[nodiscard]] auto intersection(const slot_set& other) const -> slot_set;
  /// "0-8191,9000": single slots alone, runs as `first-last`; "" when empty.
  [[nodiscard]] auto to_string() const -> std::string;

  friend auto operator==(const slot_set&, const slot_set&) -> bool = default;

 private:
  std::bitset<slot_count> bits_{};
};

/// Where and why slot text did not parse; `offset` is a byte offset into the text.
struct slot_parse_error {
  std::size_t offset = 0;
  std::string message{};
};

/// Parses "123,789-1000": comma-separated slots and inclusive `a-b` ranges, spaces allowed
/// around items; an empty (or all-blank) text is the empty set. Slots above 16383, `b < a`,
/// empty items and trailing garbage are errors.
auto parse_slot_set(std::string_view text) -> std::variant<slot_set, slot_parse_error>;

}  // namespace schsim::cluster
