#include <schsim/core/cluster/slots.hpp>

#include <array>
#include <charconv>

namespace schsim::cluster {
namespace {

// Table-driven CRC16-XMODEM; the table is built at compile time from the polynomial so there
// is no 256-entry literal to get wrong.
constexpr auto make_crc16_table() -> std::array<std::uint16_t, 256> {
  std::array<std::uint16_t, 256> table{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint32_t crc = byte << 8U;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000U) != 0 ? (crc << 1U) ^ 0x1021U : crc << 1U;
    }
    table[byte] = static_cast<std::uint16_t>(crc & 0xFFFFU);
  }
  return table;
}

constexpr auto crc16_table = make_crc16_table();

auto is_blank(char c) -> bool { return c == ' ' || c == '\t'; }

}  // namespace

auto crc16(std::string_view bytes) -> std::uint16_t {
  std::uint16_t crc = 0;
  for (const char c : bytes) {
    const auto index = static_cast<std::uint8_t>((crc >> 8U) ^ static_cast<std::uint8_t>(c));
    crc = static_cast<std::uint16_t>((crc << 8U) ^ crc16_table[index]);
  }
  return crc;
}

auto key_slot(std::string_view key) -> std::uint16_t {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    if (const auto close = key.find('}', open + 1);
        close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<std::uint16_t>(crc16(key) & (slot_count - 1));
}

auto slot_set::of(std::uint16_t first, std::uint16_t last) -> slot_set {
  slot_set set;
  set.add(slot_range{first, last});
  return set;
}

void slot_set::add(std::uint16_t slot) { bits_.set(slot); }

void slot_set::add(slot_range range) {
  for (std::uint32_t s = range.first; s <= range.last && s < slot_count; ++s) {
    bits_.set(s);
  }
}

void slot_set::add(const slot_set& other) { bits_ |= other.bits_; }

void slot_set::remove(std::uint16_t slot) { bits_.reset(slot); }

void slot_set::remove(const slot_set& other) { bits_ &= ~other.bits_; }

auto slot_set::contains(std::uint16_t slot) const -> bool {
  return slot < slot_count && bits_.test(slot);
}

auto slot_set::empty() const -> bool { return bits_.none(); }

auto slot_set::size() const -> std::size_t { return bits_.count(); }

auto slot_set::ranges() const -> std::vector<slot_range> {
  std::vector<slot_range> out;
  std::uint32_t s = 0;
  while (s < slot_count) {
    if (!bits_.test(s)) {
      ++s;
      continue;
    }
    const std::uint32_t first = s;
    while (s + 1 < slot_count && bits_.test(s + 1)) {
      ++s;
    }
    out.push_back({static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(s)});
    ++s;
  }
  return out;
}

auto slot_set::intersects(const slot_set& other) const -> bool {
  return (bits_ & other.bits_).any();
}

auto slot_set::intersection(const slot_set& other) const -> slot_set {
  slot_set out;
  out.bits_ = bits_ & other.bits_;
  return out;
}

auto slot_set::to_string() const -> std::string {
  std::string out;
  for (const auto& r : ranges()) {
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(r.first);
    if (r.last != r.first) {
      out += '-';
      out += std::to_string(r.last);
    }
  }
  return out;
}

auto parse_slot_set(std::string_view text) -> std::variant<slot_set, slot_parse_error> {
  slot_set set;
  std::size_t pos = 0;
  const auto skip_blanks = [&] {
    while (pos < text.size() && is_blank(text[pos])) {
      ++pos;
    }
  };
  // Reads one slot number at pos; on failure returns an error describing what was there.
  const auto read_slot = [&](std::uint32_t& out) -> std::variant<std::monostate, slot_parse_error> {
    const std::size_t start = pos;
    const auto* begin = text.data() + pos;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(begin, end, out);
    if (ec == std::errc::result_out_of_range) {
      return slot_parse_error{start, "slot number out of range (0-16383)"};
    }
    if (ec != std::errc{} || ptr == begin) {
      return slot_parse_error{
          start, pos < text.size()
                     ? "expected a slot number, found '" + std::string(1, text[pos]) + "'"
                     : std::string("expected a slot number, found the end")};
    }
    if (out >= slot_count) {
      return slot_parse_error{start, "slot " + std::to_string(out) + " is out of range (0-16383)"};
    }
    pos = static_cast<std::size_t>(ptr - text.data());
    return std::monostate{};
  };

  skip_blanks();
  if (pos == text.size()) {
    return set;
  }
  while (true) {
    skip_blanks();
    std::uint32_t first = 0;
    if (auto r = read_slot(first); std::holds_alternative<slot_parse_error>(r)) {
      return std::get<slot_parse_error>(r);
    }
    std::uint32_t last = first;
    skip_blanks();
    if (pos < text.size() && text[pos] == '-') {
      ++pos;
      skip_blanks();
      const std::size_t last_at = pos;
      if (auto r = read_slot(last); std::holds_alternative<slot_parse_error>(r)) {
        return std::get<slot_parse_error>(r);
      }
      if (last < first) {
        return slot_parse_error{last_at, "range " + std::to_string(first) + "-" +
                                             std::to_string(last) + " ends before it starts"};
      }
      skip_blanks();
    }
    set.add(slot_range{static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last)});
    if (pos == text.size()) {
      return set;
    }
    if (text[pos] != ',') {
      return slot_parse_error{pos,
                              std::string("expected ',' or the end, found '") + text[pos] + "'"};
    }
    ++pos;
  }
}

}  // namespace schsim::cluster
