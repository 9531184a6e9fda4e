#include <schsim/core/maint/notification.hpp>

#include <array>
#include <charconv>
#include <system_error>
#include <type_traits>

namespace schsim::maint {

namespace {

struct kind_names {
  kind k;
  std::string_view wire;
  std::string_view scenario;
};

constexpr std::array<kind_names, 7> names{{
    {kind::moving, "MOVING", "moving"},
    {kind::migrating, "MIGRATING", "migrating"},
    {kind::migrated, "MIGRATED", "migrated"},
    {kind::failing_over, "FAILING_OVER", "failing_over"},
    {kind::failed_over, "FAILED_OVER", "failed_over"},
    {kind::smigrating, "SMIGRATING", "smigrating"},
    {kind::smigrated, "SMIGRATED", "smigrated"},
}};

auto entry(kind k) -> const kind_names& { return names.at(static_cast<std::size_t>(k)); }

auto trim(std::string_view s) -> std::string_view {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

auto parse_slot(std::string_view s) -> std::optional<std::uint16_t> {
  s = trim(s);
  unsigned n = 0;
  if (s.empty() || s.front() == '+' || s.front() == '-') {
    return std::nullopt;
  }
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || ptr != s.data() + s.size() || n > max_slot) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(n);
}

// A tiny reader for the one JSON shape servers send as shard ids: an array of strings (numbers
// are accepted too and kept as their text).
class json_ids_reader {
 public:
  explicit json_ids_reader(std::string_view text) : text_(text) {}

  auto read() -> std::optional<std::vector<std::string>> {
    std::vector<std::string> ids;
    skip_space();
    if (!eat('[')) {
      return std::nullopt;
    }
    skip_space();
    if (eat(']')) {
      return at_end() ? std::optional(std::move(ids)) : std::nullopt;
    }
    while (true) {
      skip_space();
      auto id = peek() == '"' ? read_string() : read_number();
      if (!id) {
        return std::nullopt;
      }
      ids.push_back(std::move(*id));
      skip_space();
      if (eat(']')) {
        break;
      }
      if (!eat(',')) {
        return std::nullopt;
      }
    }
    return at_end() ? std::optional(std::move(ids)) : std::nullopt;
  }

 private:
  auto peek() const -> char { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  auto eat(char c) -> bool {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  auto at_end() -> bool {
    skip_space();
    return pos_ == text_.size();
  }

  auto read_number() -> std::optional<std::string> {
    const std::size_t start = pos_;
    if (peek() == '-') {
      ++pos_;
    }
    const std::size_t digits_from = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      ++pos_;
    }
    if (pos_ == digits_from) {
      return std::nullopt;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  auto read_hex4() -> std::optional<std::uint32_t> {
    if (pos_ + 4 > text_.size()) {
      return std::nullopt;
    }
    std::uint32_t cp = 0;
    const auto [ptr, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, cp, 16);
    if (ec != std::errc{} || ptr != text_.data() + pos_ + 4) {
      return std::nullopt;
    }
    pos_ += 4;
    return cp;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  auto read_string() -> std::optional<std::string> {
    ++pos_;  // opening quote
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') {
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return std::nullopt;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) {
        return std::nullopt;
      }
      switch (text_[pos_++]) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          auto cp = read_hex4();
          if (!cp) {
            return std::nullopt;
          }
          // A high surrogate followed by an escaped low surrogate is one code point.
          if (*cp >= 0xd800 && *cp < 0xdc00 && text_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            const auto low = read_hex4();
            if (!low || *low < 0xdc00 || *low >= 0xe000) {
              return std::nullopt;
            }
            *cp = 0x10000 + ((*cp - 0xd800) << 10) + (*low - 0xdc00);
          }
          append_utf8(out, *cp);
          break;
        }
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;  // unterminated
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          constexpr std::string_view hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[static_cast<unsigned char>(c) >> 4];
          out += hex[static_cast<unsigned char>(c) & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

auto wire_name(kind k) -> std::string_view { return entry(k).wire; }

auto to_string(kind k) -> std::string_view { return entry(k).scenario; }

auto operator<<(std::ostream& os, kind k) -> std::ostream& { return os << to_string(k); }

auto parse_kind(std::string_view name) -> std::optional<kind> {
  for (const auto& n : names) {
    if (name == n.wire || name == n.scenario) {
      return n.k;
    }
  }
  return std::nullopt;
}

auto kind_of(const notification& n) -> kind { return static_cast<kind>(n.index()); }

auto seq_of(const notification& n) -> std::int64_t {
  return std::visit([](const auto& x) { return x.seq; }, n);
}

void set_seq(notification& n, std::int64_t seq) {
  std::visit([seq](auto& x) { x.seq = seq; }, n);
}

auto time_of(const notification& n) -> std::optional<std::int64_t> {
  return std::visit(
      [](const auto& x) -> std::optional<std::int64_t> {
        if constexpr (requires { x.time_s; }) {
          return x.time_s;
        } else {
          return std::nullopt;
        }
      },
      n);
}

void set_time(notification& n, std::int64_t time_s) {
  std::visit(
      [time_s](auto& x) {
        if constexpr (requires { x.time_s; }) {
          x.time_s = time_s;
        }
      },
      n);
}

auto opens_window(kind k) noexcept -> bool {
  return k == kind::migrating || k == kind::failing_over || k == kind::smigrating;
}

auto closes_window(kind k) noexcept -> bool {
  return k == kind::migrated || k == kind::failed_over || k == kind::smigrated;
}

auto closing_kind(kind k) noexcept -> std::optional<kind> {
  switch (k) {
    case kind::migrating:
      return kind::migrated;
    case kind::failing_over:
      return kind::failed_over;
    case kind::smigrating:
      return kind::smigrated;
    default:
      return std::nullopt;
  }
}

auto parse_slot_list(std::string_view text) -> std::optional<std::vector<slot_range>> {
  std::vector<slot_range> out;
  if (trim(text).empty()) {
    return out;  // no slots is a valid (empty) list, the form format_slot_list({}) writes
  }
  while (true) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    const auto dash = item.find('-');
    const auto first = parse_slot(item.substr(0, dash));
    if (!first) {
      return std::nullopt;
    }
    auto last = first;
    if (dash != std::string_view::npos) {
      last = parse_slot(item.substr(dash + 1));
      if (!last || *last < *first) {
        return std::nullopt;
      }
    }
    out.push_back(slot_range{*first, *last});
    if (comma == std::string_view::npos) {
      return out;
    }
    text.remove_prefix(comma + 1);
  }
}

auto format_slot_list(const std::vector<slot_range>& slots) -> std::string {
  std::string out;
  for (const auto& r : slots) {
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

auto parse_shard_ids(std::string_view json) -> std::optional<std::vector<std::string>> {
  return json_ids_reader(json).read();
}

auto format_shard_ids(const std::vector<std::string>& ids) -> std::string {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) {
      out += ',';
    }
    append_json_string(out, ids[i]);
  }
  out += ']';
  return out;
}

auto to_debug_string(const notification& n) -> std::string {
  std::string out(wire_name(kind_of(n)));
  out += " seq=" + std::to_string(seq_of(n));
  if (const auto t = time_of(n)) {
    out += " time=" + std::to_string(*t);
  }
  std::visit(
      [&out](const auto& x) {
        using t = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<t, moving>) {
          out += " endpoint=" + (x.endpoint ? *x.endpoint : std::string("<none>"));
        } else if constexpr (requires { x.shard_ids; }) {
          out += " shards=" + format_shard_ids(x.shard_ids);
        } else if constexpr (std::is_same_v<t, smigrating>) {
          out += " slots=" + format_slot_list(x.slots);
        } else if constexpr (std::is_same_v<t, smigrated>) {
          out += " entries=[";
          for (std::size_t i = 0; i < x.entries.size(); ++i) {
            const auto& e = x.entries[i];
            out += i != 0 ? ", " : "";
            out += (e.source.empty() ? std::string("?") : e.source) + " -> " + e.destination +
                   " slots=" + format_slot_list(e.slots);
          }
          out += ']';
        }
      },
      n);
  return out;
}

auto operator<<(std::ostream& os, const notification& n) -> std::ostream& {
  return os << to_debug_string(n);
}

}  // namespace schsim::maint
