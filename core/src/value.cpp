#include <schsim/core/resp3/value.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace schsim::resp3 {

auto to_string(type t) -> std::string_view {
  switch (t) {
    case type::simple_string:
      return "simple_string";
    case type::simple_error:
      return "simple_error";
    case type::integer:
      return "integer";
    case type::bulk_string:
      return "bulk_string";
    case type::array:
      return "array";
    case type::null:
      return "null";
    case type::boolean:
      return "boolean";
    case type::double_number:
      return "double_number";
    case type::big_number:
      return "big_number";
    case type::bulk_error:
      return "bulk_error";
    case type::verbatim_string:
      return "verbatim_string";
    case type::map:
      return "map";
    case type::set:
      return "set";
    case type::attribute:
      return "attribute";
    case type::push:
      return "push";
  }
  return "unknown";
}

auto operator<<(std::ostream& os, type t) -> std::ostream& { return os << to_string(t); }

auto holds_text(type t) noexcept -> bool {
  switch (t) {
    case type::simple_string:
    case type::simple_error:
    case type::bulk_string:
    case type::bulk_error:
    case type::verbatim_string:
    case type::big_number:
      return true;
    default:
      return false;
  }
}

auto is_aggregate(type t) noexcept -> bool {
  switch (t) {
    case type::array:
    case type::set:
    case type::push:
    case type::map:
    case type::attribute:
      return true;
    default:
      return false;
  }
}

namespace {

auto with_text(type k, std::string s) -> value {
  value v;
  v.kind = k;
  v.text = std::move(s);
  return v;
}

auto with_elements(type k, std::vector<value> items) -> value {
  value v;
  v.kind = k;
  v.elements = std::move(items);
  return v;
}

// NaN compares equal to NaN so that a parsed `,nan` equals itself and round-trips in tests.
auto same_double(double a, double b) -> bool {
  if (std::isnan(a) || std::isnan(b)) {
    return std::isnan(a) && std::isnan(b);
  }
  return a == b;
}

// Long payloads are cut so that one huge bulk does not flood a log line or a test failure.
constexpr std::size_t debug_text_limit = 256;

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  const auto shown = s.substr(0, debug_text_limit);
  for (const char c : shown) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(u));
          out += buf;
        } else {
          out += c;
        }
      }
    }
  }
  out += '"';
  if (s.size() > shown.size()) {
    out += "...(" + std::to_string(s.size()) + " bytes)";
  }
}

void append_double(std::string& out, const value& v) {
  if (!v.text.empty()) {
    out += v.text;
    return;
  }
  if (std::isnan(v.number)) {
    out += "nan";
  } else if (std::isinf(v.number)) {
    out += v.number < 0 ? "-inf" : "inf";
  } else {
    // Shortest spelling that reads back to the same double.
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v.number);
    out.append(buf, r.ptr);
  }
}

void append_debug(std::string& out, const value& v);

void append_pairs(std::string& out, const std::vector<value>& kv) {
  out += '{';
  for (std::size_t i = 0; i < kv.size(); i += 2) {
    if (i != 0) {
      out += ", ";
    }
    append_debug(out, kv[i]);
    out += ": ";
    if (i + 1 < kv.size()) {
      append_debug(out, kv[i + 1]);
    } else {
      out += "<missing>";
    }
  }
  out += '}';
}

void append_debug(std::string& out, const value& v) {
  if (!v.attributes.empty()) {
    out += '|';
    append_pairs(out, v.attributes);
    out += ' ';
  }
  out += static_cast<char>(v.kind);
  switch (v.kind) {
    case type::simple_string:
    case type::simple_error:
    case type::bulk_string:
    case type::bulk_error:
      append_quoted(out, v.text);
      break;
    case type::verbatim_string:
      append_quoted(out, v.verbatim_format + ":" + v.text);
      break;
    case type::big_number:
      out += v.text;
      break;
    case type::integer:
      out += std::to_string(v.integer);
      break;
    case type::double_number:
      append_double(out, v);
      break;
    case type::boolean:
      out += v.boolean ? 't' : 'f';
      break;
    case type::null:
      break;
    case type::map:
    case type::attribute:
      append_pairs(out, v.elements);
      break;
    case type::array:
    case type::set:
    case type::push:
      out += '[';
      for (std::size_t i = 0; i < v.elements.size(); ++i) {
        if (i != 0) {
          out += ", ";
        }
        append_debug(out, v.elements[i]);
      }
      out += ']';
      break;
  }
}

}  // namespace

auto value::simple(std::string s) -> value { return with_text(type::simple_string, std::move(s)); }
auto value::error(std::string message) -> value {
  return with_text(type::simple_error, std::move(message));
}
auto value::bulk(std::string s) -> value { return with_text(type::bulk_string, std::move(s)); }
auto value::bulk_error(std::string message) -> value {
  return with_text(type::bulk_error, std::move(message));
}
auto value::big(std::string digits) -> value {
  return with_text(type::big_number, std::move(digits));
}

auto value::number_of(std::int64_t n) -> value {
  value v;
  v.kind = type::integer;
  v.integer = n;
  return v;
}

auto value::double_of(double d) -> value {
  value v;
  v.kind = type::double_number;
  v.number = d;
  return v;
}

auto value::boolean_of(bool b) -> value {
  value v;
  v.kind = type::boolean;
  v.boolean = b;
  return v;
}

auto value::nil() -> value { return value{}; }

auto value::verbatim(std::string format, std::string s) -> value {
  value v = with_text(type::verbatim_string, std::move(s));
  v.verbatim_format = std::move(format);
  return v;
}

auto value::array_of(std::vector<value> items) -> value {
  return with_elements(type::array, std::move(items));
}
auto value::set_of(std::vector<value> items) -> value {
  return with_elements(type::set, std::move(items));
}
auto value::push_of(std::vector<value> items) -> value {
  return with_elements(type::push, std::move(items));
}
auto value::map_of(std::vector<value> keys_and_values) -> value {
  return with_elements(type::map, std::move(keys_and_values));
}

auto value::is_string() const noexcept -> bool {
  return kind == type::simple_string || kind == type::bulk_string || kind == type::verbatim_string;
}

auto value::is_error() const noexcept -> bool {
  return kind == type::simple_error || kind == type::bulk_error;
}

// Only the fields that carry the payload of `kind` are compared: a double's wire spelling and
// stray fields of other kinds do not make two values different.
auto operator==(const value& a, const value& b) -> bool {
  if (a.kind != b.kind || a.attributes != b.attributes) {
    return false;
  }
  switch (a.kind) {
    case type::simple_string:
    case type::simple_error:
    case type::bulk_string:
    case type::bulk_error:
    case type::big_number:
      return a.text == b.text;
    case type::verbatim_string:
      return a.text == b.text && a.verbatim_format == b.verbatim_format;
    case type::integer:
      return a.integer == b.integer;
    case type::double_number:
      return same_double(a.number, b.number);
    case type::boolean:
      return a.boolean == b.boolean;
    case type::null:
      return true;
    case type::array:
    case type::set:
    case type::push:
    case type::map:
    case type::attribute:
      return a.elements == b.elements;
  }
  return false;
}

auto to_debug_string(const value& v) -> std::string {
  std::string out;
  append_debug(out, v);
  return out;
}

auto operator<<(std::ostream& os, const value& v) -> std::ostream& {
  return os << to_debug_string(v);
}

}  // namespace schsim::resp3
