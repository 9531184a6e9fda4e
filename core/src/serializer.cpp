#include <schsim/core/resp3/serializer.hpp>

#include <charconv>
#include <cmath>

namespace schsim::resp3 {

namespace {

void append_int(std::string& out, std::int64_t n) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void append_header(std::string& out, char type_byte, std::int64_t n) {
  out += type_byte;
  append_int(out, n);
  out += "\r\n";
}

// A CR or LF inside a simple string or error would end the line early and desynchronize the
// reader, so they become spaces, as Redis does for error replies.
void append_line(std::string& out, char type_byte, std::string_view text) {
  out += type_byte;
  for (const char c : text) {
    out += (c == '\r' || c == '\n') ? ' ' : c;
  }
  out += "\r\n";
}

void append_bulk(std::string& out, char type_byte, std::string_view text) {
  append_header(out, type_byte, static_cast<std::int64_t>(text.size()));
  out += text;
  out += "\r\n";
}

// Redis 7 spelling: inf, -inf, nan, otherwise the shortest text that reads back the same double.
auto double_text(const value& v) -> std::string {
  if (!v.text.empty()) {
    return v.text;
  }
  if (std::isnan(v.number)) {
    return "nan";
  }
  if (std::isinf(v.number)) {
    return v.number < 0 ? "-inf" : "inf";
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v.number);
  return std::string(buf, r.ptr);
}

auto verbatim_format(const value& v) -> std::string {
  // The format is always exactly 3 bytes on the wire.
  std::string f = v.verbatim_format.empty() ? std::string("txt") : v.verbatim_format;
  f.resize(3, ' ');
  return f;
}

void serialize_into(const value& v, std::string& out, protocol proto);

// The attribute frame RESP3 writes before a value that carries attributes.
void serialize_attributes(const value& v, std::string& out, protocol proto) {
  append_header(out, '|', static_cast<std::int64_t>(v.attributes.size() / 2));
  for (std::size_t i = 0; i + 1 < v.attributes.size(); i += 2) {
    serialize_into(v.attributes[i], out, proto);
    serialize_into(v.attributes[i + 1], out, proto);
  }
}

// A map or attribute: RESP2 writes it as a flat array of keys and values. A trailing key without
// a value cannot be written as a pair; it is left out.
void serialize_pairs(const value& v, std::string& out, protocol proto) {
  const std::size_t pairs = v.elements.size() / 2;
  if (proto == protocol::resp3) {
    append_header(out, v.kind == type::map ? '%' : '|', static_cast<std::int64_t>(pairs));
  } else {
    append_header(out, '*', static_cast<std::int64_t>(pairs * 2));
  }
  for (std::size_t i = 0; i < pairs * 2; ++i) {
    serialize_into(v.elements[i], out, proto);
  }
}

void serialize_into(const value& v, std::string& out, protocol proto) {
  const bool resp3 = proto == protocol::resp3;
  if (resp3 && !v.attributes.empty()) {
    serialize_attributes(v, out, proto);
  }
  switch (v.kind) {
    case type::simple_string:
      append_line(out, '+', v.text);
      return;
    case type::simple_error:
      append_line(out, '-', v.text);
      return;
    case type::bulk_error:
      if (resp3) {
        append_bulk(out, '!', v.text);
      } else {
        append_line(out, '-', v.text);
      }
      return;
    case type::integer:
      append_header(out, ':', v.integer);
      return;
    case type::bulk_string:
      append_bulk(out, '$', v.text);
      return;
    case type::null:
      out += resp3 ? "_\r\n" : "$-1\r\n";
      return;
    case type::boolean:
      if (resp3) {
        out += v.boolean ? "#t\r\n" : "#f\r\n";
      } else {
        out += v.boolean ? ":1\r\n" : ":0\r\n";
      }
      return;
    case type::double_number:
      if (resp3) {
        out += ',';
        out += double_text(v);
        out += "\r\n";
      } else {
        append_bulk(out, '$', double_text(v));
      }
      return;
    case type::big_number:
      if (resp3) {
        append_line(out, '(', v.text);
      } else {
        append_bulk(out, '$', v.text);
      }
      return;
    case type::verbatim_string:
      if (resp3) {
        append_bulk(out, '=', verbatim_format(v) + ":" + v.text);
      } else {
        append_bulk(out, '$', v.text);
      }
      return;
    case type::map:
    case type::attribute:
      serialize_pairs(v, out, proto);
      return;
    case type::array:
    case type::set:
    case type::push:
      append_header(out, resp3 ? static_cast<char>(v.kind) : '*',
                    static_cast<std::int64_t>(v.elements.size()));
      for (const auto& e : v.elements) {
        serialize_into(e, out, proto);
      }
      return;
  }
}

}  // namespace

void serialize(const value& v, std::string& out, protocol proto) { serialize_into(v, out, proto); }

auto serialize(const value& v, protocol proto) -> std::string {
  std::string out;
  serialize_into(v, out, proto);
  return out;
}

void append_command(std::string& out, std::span<const std::string_view> args) {
  append_header(out, '*', static_cast<std::int64_t>(args.size()));
  for (const auto a : args) {
    append_bulk(out, '$', a);
  }
}

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  append_command(out, std::span<const std::string_view>(args.begin(), args.size()));
}

auto encode_command(std::initializer_list<std::string_view> args) -> std::string {
  std::string out;
  append_command(out, args);
  return out;
}

}  // namespace schsim::resp3
