#include <schsim/core/resp3/parser.hpp>

#include <algorithm>
#include <charconv>
#include <limits>
#include <system_error>
#include <utility>

namespace schsim::resp3 {

namespace {

// Consumed bytes are dropped from the front of the buffer only when this many have piled up
// and they are at least half of it, so a stream of small frames does not memmove on every one.
constexpr std::size_t compact_threshold = 4096;

// A hostile length must not make us reserve its memory up front; children beyond this many
// grow the vector as they actually arrive.
constexpr std::int64_t max_reserve = 1024;

auto is_type_byte(char c) noexcept -> bool {
  switch (c) {
    case '+':
    case '-':
    case ':':
    case '$':
    case '*':
    case '_':
    case '#':
    case ',':
    case '(':
    case '!':
    case '=':
    case '%':
    case '~':
    case '|':
    case '>':
      return true;
    default:
      return false;
  }
}

auto is_digit(char c) noexcept -> bool { return c >= '0' && c <= '9'; }

// Redis's string2ll rules: no spaces, no '+', no leading zeros, no "-0", no overflow.
auto parse_strict_int(std::string_view s, std::int64_t& out) noexcept -> bool {
  if (s.size() == 1 && s[0] == '0') {
    out = 0;
    return true;
  }
  std::size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) {
    i = 1;
  }
  if (i >= s.size() || s[i] < '1' || s[i] > '9') {
    return false;
  }
  constexpr auto max_magnitude =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t magnitude = 0;
  for (; i < s.size(); ++i) {
    if (!is_digit(s[i])) {
      return false;
    }
    const auto digit = static_cast<std::uint64_t>(s[i] - '0');
    if (magnitude > (max_magnitude + 1 - digit) / 10) {
      return false;
    }
    magnitude = magnitude * 10 + digit;
  }
  if (negative) {
    out = magnitude == max_magnitude + 1 ? std::numeric_limits<std::int64_t>::min()
                                         : -static_cast<std::int64_t>(magnitude);
    return true;
  }
  if (magnitude > max_magnitude) {
    return false;
  }
  out = static_cast<std::int64_t>(magnitude);
  return true;
}

// RESP3 allows an explicit '+' sign, which from_chars does not; inf, -inf and nan are accepted
// in any letter case, as from_chars reads them.
auto parse_double(std::string_view s, double& out) noexcept -> bool {
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
      return false;
    }
  }
  if (s.empty()) {
    return false;
  }
  const char* const end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

auto is_big_number(std::string_view s) noexcept -> bool {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

auto is_hex_digit(char c) noexcept -> bool {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

auto hex_value(char c) noexcept -> int {
  if (is_digit(c)) {
    return c - '0';
  }
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : c - 'A' + 10;
}

auto is_c_space(char c) noexcept -> bool {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/// What a backslash escape inside double quotes stands for: \n, \r, \t, \b and \a as in C, any
/// other character for itself.
auto escaped_char(char c) noexcept -> char {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;
  }
}

/**
 * Splits an inline command line the way Redis's sdssplitargs does, including its quirks: the
 * line is a C string (it ends at the first NUL); a quote may open in the middle of a word
 * (`a"b c"` is one argument `ab c`); a closing quote must be followed by a space or the end.
 * Returns false for unbalanced quotes.
 */
auto split_inline(std::string_view line, std::vector<std::string>& args) -> bool {
  if (const auto nul = line.find('\0'); nul != std::string_view::npos) {
    line = line.substr(0, nul);
  }
  const auto at = [&](std::size_t i) noexcept { return i < line.size() ? line[i] : '\0'; };
  std::size_t p = 0;
  while (true) {
    while (p < line.size() && is_c_space(line[p])) {
      ++p;
    }
    if (p >= line.size()) {
      return true;
    }
    std::string current;
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      const char c = at(p);
      if (in_double) {
        if (c == '\\' && at(p + 1) == 'x' && is_hex_digit(at(p + 2)) && is_hex_digit(at(p + 3))) {
          current += static_cast<char>(hex_value(at(p + 2)) * 16 + hex_value(at(p + 3)));
          p += 3;
        } else if (c == '\\' && at(p + 1) != '\0') {
          ++p;
          current += escaped_char(at(p));
        } else if (c == '"') {
          if (at(p + 1) != '\0' && !is_c_space(at(p + 1))) {
            return false;
          }
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          current += c;
        }
      } else if (in_single) {
        if (c == '\\' && at(p + 1) == '\'') {
          ++p;
          current += '\'';
        } else if (c == '\'') {
          if (at(p + 1) != '\0' && !is_c_space(at(p + 1))) {
            return false;
          }
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          current += c;
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            current += c;
            break;
        }
      }
      if (at(p) != '\0') {
        ++p;
      }
    }
    args.push_back(std::move(current));
  }
}

auto is_bulk_like(type t) noexcept -> bool {
  return t == type::bulk_string || t == type::bulk_error || t == type::verbatim_string;
}

}  // namespace

auto to_string(parse_error e) -> std::string_view {
  switch (e) {
    case parse_error::none:
      return "none";
    case parse_error::invalid_type_byte:
      return "invalid_type_byte";
    case parse_error::invalid_integer:
      return "invalid_integer";
    case parse_error::invalid_length:
      return "invalid_length";
    case parse_error::bulk_too_long:
      return "bulk_too_long";
    case parse_error::aggregate_too_long:
      return "aggregate_too_long";
    case parse_error::nesting_too_deep:
      return "nesting_too_deep";
    case parse_error::missing_crlf:
      return "missing_crlf";
    case parse_error::invalid_double:
      return "invalid_double";
    case parse_error::invalid_boolean:
      return "invalid_boolean";
    case parse_error::invalid_big_number:
      return "invalid_big_number";
    case parse_error::invalid_verbatim:
      return "invalid_verbatim";
    case parse_error::invalid_null:
      return "invalid_null";
    case parse_error::inline_too_long:
      return "inline_too_long";
    case parse_error::line_too_long:
      return "line_too_long";
    case parse_error::unbalanced_quotes:
      return "unbalanced_quotes";
  }
  return "unknown";
}

parser::parser(parser_limits limits, inline_mode inline_commands)
    : limits_(limits), inline_mode_(inline_commands) {}

void parser::feed(std::string_view bytes) {
  if (failed()) {
    return;
  }
  compact();
  buffer_.append(bytes);
}

auto parser::next() -> std::optional<value> {
  while (!failed()) {
    const step s = parse_one();
    if (ready_) {
      value v = std::move(*ready_);
      ready_.reset();
      value_start_ = stream_offset(pos_);
      return v;
    }
    if (s != step::progressed) {
      break;
    }
  }
  return std::nullopt;
}

auto parser::next_request(std::vector<std::string_view>& args, std::optional<value>& fallback)
    -> request_form {
  args.clear();
  fallback.reset();
  if (take_complete_command(args)) {
    return request_form::views;
  }
  args.clear();
  fallback = next();
  return fallback ? request_form::value : request_form::none;
}

auto parser::take_complete_command(std::vector<std::string_view>& args) -> bool {
  // Only a frame that starts at pos_ with no partial state of its own qualifies. Any check that
  // fails leaves the parser untouched and hands the frame to next(), so errors, their offsets
  // and partial-input behaviour are next()'s by construction. scanned_ != 0 means next() is
  // already waiting for the end of this frame's header: scanning it again on every feed would
  // be quadratic in a slowly arriving line.
  if (failed() || bulk_ || !stack_.empty() || !pending_attributes_.empty() || scanned_ != 0 ||
      limits_.max_depth == 0 || pos_ >= buffer_.size() || buffer_[pos_] != '*') {
    return false;
  }
  const std::string_view buffer(buffer_);
  // The length in the header line whose type byte is at `type_at`, under the same line limit
  // as find_crlf(); `after` is where the line's CRLF ends.
  const auto header_length = [&](std::size_t type_at, std::int64_t& length,
                                 std::size_t& after) -> bool {
    const std::size_t left = buffer.size() - type_at;
    const std::size_t searched =
        left > limits_.max_line_length ? limits_.max_line_length + 1 : left;
    const std::size_t cr = buffer.substr(type_at, searched).find('\r');
    if (cr == std::string_view::npos) {
      return false;
    }
    const std::size_t cr_at = type_at + cr;
    if (cr_at + 1 >= buffer.size() || buffer[cr_at + 1] != '\n') {
      return false;
    }
    after = cr_at + 2;
    return parse_strict_int(buffer.substr(type_at + 1, cr - 1), length);
  };
  std::int64_t count = 0;
  std::size_t at = 0;
  if (!header_length(pos_, count, at) || count < 1 || count > limits_.max_aggregate_length) {
    return false;
  }
  // The shortest element, "$0\r\n\r\n", is 6 bytes: a frame that cannot fit is not complete.
  if (static_cast<std::uint64_t>(count) > (buffer.size() - at) / 6) {
    return false;
  }
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t length = 0;
    std::size_t payload_at = 0;
    if (at >= buffer.size() || buffer[at] != '$' || !header_length(at, length, payload_at) ||
        length < 0 || length > limits_.max_bulk_length) {
      return false;
    }
    const auto n = static_cast<std::size_t>(length);
    if (buffer.size() - payload_at < n + 2 || buffer[payload_at + n] != '\r' ||
        buffer[payload_at + n + 1] != '\n') {
      return false;
    }
    args.push_back(buffer.substr(payload_at, n));
    at = payload_at + n + 2;
  }
  pos_ = at;
  value_start_ = stream_offset(pos_);
  return true;
}

auto parser::buffered() const noexcept -> std::size_t {
  return static_cast<std::size_t>(stream_offset(buffer_.size()) - value_start_);
}

auto parser::mid_value() const noexcept -> bool { return !failed() && buffered() != 0; }

void parser::reset() {
  buffer_.clear();
  pos_ = 0;
  scanned_ = 0;
  dropped_ = 0;
  value_start_ = 0;
  stack_.clear();
  bulk_.reset();
  pending_attributes_.clear();
  ready_.reset();
  error_ = parse_error::none;
  error_offset_ = 0;
  error_type_ = type::null;
  error_byte_ = 0;
}

auto parser::error_message() const -> std::string {
  switch (error_) {
    case parse_error::none:
      return {};
    case parse_error::invalid_type_byte: {
      const auto u = static_cast<unsigned char>(error_byte_);
      std::string shown;
      if (u >= 0x20 && u < 0x7f) {
        shown.assign(1, error_byte_);
      } else {
        constexpr std::string_view hex = "0123456789abcdef";
        shown = "\\x";
        shown += hex[u >> 4];
        shown += hex[u & 0xf];
      }
      return "Protocol error: expected a RESP3 type byte, got '" + shown + "'";
    }
    case parse_error::invalid_integer:
      return "Protocol error: invalid integer";
    case parse_error::invalid_length:
    case parse_error::bulk_too_long:
    case parse_error::aggregate_too_long:
      // Redis uses the same texts for a malformed and for an over-limit length.
      return is_bulk_like(error_type_) ? "Protocol error: invalid bulk length"
                                       : "Protocol error: invalid multibulk length";
    case parse_error::nesting_too_deep:
      return "Protocol error: max nesting depth exceeded";
    case parse_error::missing_crlf:
      return "Protocol error: expected CRLF";
    case parse_error::invalid_double:
      return "Protocol error: invalid double";
    case parse_error::invalid_boolean:
      return "Protocol error: invalid boolean";
    case parse_error::invalid_big_number:
      return "Protocol error: invalid big number";
    case parse_error::invalid_verbatim:
      return "Protocol error: invalid verbatim string";
    case parse_error::invalid_null:
      return "Protocol error: invalid null";
    case parse_error::inline_too_long:
      return "Protocol error: too big inline request";
    case parse_error::unbalanced_quotes:
      return "Protocol error: unbalanced quotes in request";
    case parse_error::line_too_long:
      return "Protocol error: too big mbulk count string";
  }
  return "Protocol error";
}

auto parser::parse_one() -> step {
  if (bulk_) {
    return parse_bulk_payload();
  }
  if (pos_ >= buffer_.size()) {
    return step::need_more;
  }
  const char c = buffer_[pos_];
  if (!is_type_byte(c)) {
    if (inline_mode_ == inline_mode::accepted && stack_.empty() && pending_attributes_.empty()) {
      return parse_inline();
    }
    error_byte_ = c;
    return fail(parse_error::invalid_type_byte, pos_);
  }
  std::size_t eol = 0;
  if (const step s = find_crlf(eol); s != step::progressed) {
    return s;
  }
  const std::size_t type_at = pos_;
  const std::string_view line(buffer_.data() + type_at + 1, eol - type_at - 1);
  return parse_line(static_cast<type>(c), line, type_at, eol + 2);
}

// `line` is the header without its type byte and CRLF; `next` is where the following value
// (or a bulk payload) starts.
auto parser::parse_line(type t, std::string_view line, std::size_t type_at, std::size_t next)
    -> step {
  error_type_ = t;
  const std::size_t payload_at = type_at + 1;
  value v;
  v.kind = t;
  switch (t) {
    case type::simple_string:
    case type::simple_error:
      v.text.assign(line);
      break;
    case type::integer:
      if (!parse_strict_int(line, v.integer)) {
        return fail(parse_error::invalid_integer, payload_at);
      }
      break;
    case type::null:
      if (!line.empty()) {
        return fail(parse_error::invalid_null, payload_at);
      }
      break;
    case type::boolean:
      if (line != "t" && line != "f") {
        return fail(parse_error::invalid_boolean, payload_at);
      }
      v.boolean = line == "t";
      break;
    case type::double_number:
      if (!parse_double(line, v.number)) {
        return fail(parse_error::invalid_double, payload_at);
      }
      v.text.assign(line);
      break;
    case type::big_number:
      if (!is_big_number(line)) {
        return fail(parse_error::invalid_big_number, payload_at);
      }
      v.text.assign(line);
      break;
    case type::bulk_string:
    case type::bulk_error:
    case type::verbatim_string: {
      std::int64_t length = 0;
      if (!parse_strict_int(line, length) || length < -1 ||
          (length == -1 && t != type::bulk_string)) {
        return fail(parse_error::invalid_length, payload_at);
      }
      pos_ = next;
      scanned_ = 0;
      if (length == -1) {  // RESP2 null bulk string
        deliver(value::nil());
        return step::progressed;
      }
      if (length > limits_.max_bulk_length) {
        return fail(parse_error::bulk_too_long, payload_at);
      }
      bulk_ = pending_bulk{t, static_cast<std::size_t>(length)};
      return parse_bulk_payload();
    }
    case type::array:
    case type::map:
    case type::set:
    case type::attribute:
    case type::push:
      return open_aggregate(t, line, type_at, next);
  }
  pos_ = next;
  scanned_ = 0;
  deliver(std::move(v));
  return step::progressed;
}

auto parser::open_aggregate(type t, std::string_view line, std::size_t type_at, std::size_t next)
    -> step {
  const std::size_t payload_at = type_at + 1;
  std::int64_t length = 0;
  if (!parse_strict_int(line, length) || length < -1 || (length == -1 && t != type::array)) {
    return fail(parse_error::invalid_length, payload_at);
  }
  if (length == -1) {  // RESP2 null array
    pos_ = next;
    scanned_ = 0;
    deliver(value::nil());
    return step::progressed;
  }
  if (stack_.size() >= limits_.max_depth) {
    return fail(parse_error::nesting_too_deep, type_at);
  }
  // A map or attribute of N pairs holds 2N elements; compare without computing 2N.
  const bool pairs = t == type::map || t == type::attribute;
  const std::int64_t limit =
      pairs ? limits_.max_aggregate_length / 2 : limits_.max_aggregate_length;
  if (length > limit) {
    return fail(parse_error::aggregate_too_long, payload_at);
  }
  pos_ = next;
  scanned_ = 0;
  frame f;
  f.v.kind = t;
  f.remaining = pairs ? length * 2 : length;
  f.v.elements.reserve(static_cast<std::size_t>(std::min(f.remaining, max_reserve)));
  if (t == type::attribute) {
    f.outer_attributes = std::move(pending_attributes_);
  } else {
    f.v.attributes = std::move(pending_attributes_);
  }
  pending_attributes_.clear();
  stack_.push_back(std::move(f));
  if (stack_.back().remaining == 0) {
    if (auto done = close_top()) {
      complete(std::move(*done));
    }
  }
  return step::progressed;
}

auto parser::parse_bulk_payload() -> step {
  const std::size_t length = bulk_->length;
  const std::size_t available = buffer_.size() - pos_;
  // The terminator is checked byte by byte as it arrives, so a bad one is reported at the same
  // offset however the stream was split.
  if (available > length && buffer_[pos_ + length] != '\r') {
    return fail(parse_error::missing_crlf, pos_ + length);
  }
  if (available > length + 1 && buffer_[pos_ + length + 1] != '\n') {
    return fail(parse_error::missing_crlf, pos_ + length + 1);
  }
  if (available < length + 2) {
    return step::need_more;
  }
  value v;
  v.kind = bulk_->kind;
  const std::string_view payload(buffer_.data() + pos_, length);
  if (v.kind == type::verbatim_string) {
    if (payload.size() < 4 || payload[3] != ':') {
      return fail(parse_error::invalid_verbatim, pos_);
    }
    v.verbatim_format.assign(payload.substr(0, 3));
    v.text.assign(payload.substr(4));
  } else {
    v.text.assign(payload);
  }
  pos_ += length + 2;
  scanned_ = 0;
  bulk_.reset();
  deliver(std::move(v));
  return step::progressed;
}

auto parser::parse_inline() -> step {
  // Redis ends an inline command at '\n' and strips one '\r' before it.
  const std::size_t newline = buffer_.find('\n', pos_ + scanned_);
  const std::size_t max = limits_.max_inline_length;
  if (newline == std::string::npos) {
    scanned_ = buffer_.size() - pos_;
    // One byte more than the limit may still be the '\r' of a line exactly at the limit.
    if (buffer_.size() - pos_ - 1 > max) {
      return fail(parse_error::inline_too_long, pos_ + max);
    }
    return step::need_more;
  }
  std::size_t end = newline;
  if (end > pos_ && buffer_[end - 1] == '\r') {
    --end;
  }
  if (end - pos_ > max) {
    return fail(parse_error::inline_too_long, pos_ + max);
  }
  std::vector<std::string> args;
  if (!split_inline(std::string_view(buffer_.data() + pos_, end - pos_), args)) {
    return fail(parse_error::unbalanced_quotes, pos_);
  }
  pos_ = newline + 1;
  scanned_ = 0;
  if (args.empty()) {  // Redis skips empty lines; they are no value
    value_start_ = stream_offset(pos_);
    return step::progressed;
  }
  std::vector<value> items;
  items.reserve(args.size());
  for (auto& a : args) {
    items.push_back(value::bulk(std::move(a)));
  }
  deliver(value::array_of(std::move(items)));
  return step::progressed;
}

auto parser::find_crlf(std::size_t& eol) -> step {
  const std::size_t cr = buffer_.find('\r', pos_ + scanned_);
  // A peer that never ends a line must not grow the buffer without bound (Redis applies the
  // same cap to the multibulk header: "too big mbulk count string").
  const std::size_t line_length = (cr == std::string::npos ? buffer_.size() : cr) - pos_;
  if (line_length > limits_.max_line_length) {
    return fail(parse_error::line_too_long, pos_ + limits_.max_line_length);
  }
  if (cr == std::string::npos) {
    scanned_ = buffer_.size() - pos_;
    return step::need_more;
  }
  if (cr + 1 >= buffer_.size()) {
    scanned_ = cr - pos_;  // look at this CR again once the next byte is here
    return step::need_more;
  }
  if (buffer_[cr + 1] != '\n') {
    return fail(parse_error::missing_crlf, cr + 1);
  }
  eol = cr;
  return step::progressed;
}

auto parser::fail(parse_error e, std::size_t at) -> step {
  error_ = e;
  error_offset_ = stream_offset(at);
  // Nothing after a framing error can be trusted: free the partial state now.
  dropped_ += buffer_.size();
  buffer_.clear();
  buffer_.shrink_to_fit();
  pos_ = 0;
  scanned_ = 0;
  value_start_ = dropped_;
  stack_.clear();
  bulk_.reset();
  pending_attributes_.clear();
  ready_.reset();
  return step::failed;
}

void parser::deliver(value v) {
  if (!pending_attributes_.empty()) {
    v.attributes = std::move(pending_attributes_);
    pending_attributes_.clear();
  }
  complete(std::move(v));
}

void parser::complete(value v) {
  while (!stack_.empty()) {
    frame& top = stack_.back();
    top.v.elements.push_back(std::move(v));
    if (--top.remaining > 0) {
      return;
    }
    auto done = close_top();
    if (!done) {
      return;
    }
    v = std::move(*done);
  }
  ready_ = std::move(v);
}

auto parser::close_top() -> std::optional<value> {
  frame f = std::move(stack_.back());
  stack_.pop_back();
  if (f.v.kind != type::attribute) {
    return std::move(f.v);
  }
  // An attribute is no element of its parent: it waits for the value that follows it.
  pending_attributes_ = std::move(f.outer_attributes);
  pending_attributes_.insert(pending_attributes_.end(),
                             std::make_move_iterator(f.v.elements.begin()),
                             std::make_move_iterator(f.v.elements.end()));
  return std::nullopt;
}

void parser::compact() {
  if (pos_ == 0) {
    return;
  }
  if (pos_ == buffer_.size()) {
    dropped_ += pos_;
    buffer_.clear();
    pos_ = 0;
  } else if (pos_ >= compact_threshold && pos_ * 2 >= buffer_.size()) {
    dropped_ += pos_;
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
}

}  // namespace schsim::resp3
