#include "split_parse.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace schsim::test {

namespace {

// Printable form of a test input for failure messages.
auto escaped(std::string_view s) -> std::string {
  std::string out;
  for (const char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

auto operator<<(std::ostream& os, const parse_outcome& o) -> std::ostream& {
  os << "{values=[";
  for (std::size_t i = 0; i < o.values.size(); ++i) {
    os << (i != 0 ? ", " : "") << o.values[i];
  }
  return os << "], error=" << resp3::to_string(o.error) << "@" << o.error_offset
            << ", buffered=" << o.buffered << "}";
}

auto parse_chunks(std::span<const std::string_view> chunks, const parse_options& options)
    -> parse_outcome {
  resp3::parser p(options.limits, options.inline_commands);
  parse_outcome out;
  for (const auto chunk : chunks) {
    p.feed(chunk);
    while (auto v = p.next()) {
      out.values.push_back(std::move(*v));
    }
  }
  out.error = p.error();
  out.error_offset = p.error_offset();
  out.buffered = p.buffered();
  return out;
}

auto parse_whole(std::string_view wire, const parse_options& options) -> parse_outcome {
  const std::array<std::string_view, 1> one{wire};
  return parse_chunks(one, options);
}

auto parse_every_split(std::string_view wire, const parse_options& options) -> parse_outcome {
  const parse_outcome whole = parse_whole(wire, options);
  for (std::size_t cut = 1; cut < wire.size(); ++cut) {
    const std::array<std::string_view, 2> two{wire.substr(0, cut), wire.substr(cut)};
    const auto got = parse_chunks(two, options);
    if (got != whole) {
      ADD_FAILURE() << "input \"" << escaped(wire) << "\" split at " << cut << ": got " << got
                    << ", one feed gave " << whole;
      return whole;  // one report per input is enough
    }
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    bytes.push_back(wire.substr(i, 1));
  }
  if (const auto got = parse_chunks(bytes, options); got != whole) {
    ADD_FAILURE() << "input \"" << escaped(wire) << "\" fed byte by byte: got " << got
                  << ", one feed gave " << whole;
    return whole;
  }
  if (wire.size() <= three_way_limit) {
    for (std::size_t a = 1; a < wire.size(); ++a) {
      for (std::size_t b = a + 1; b < wire.size(); ++b) {
        const std::array<std::string_view, 3> three{wire.substr(0, a), wire.substr(a, b - a),
                                                    wire.substr(b)};
        if (const auto got = parse_chunks(three, options); got != whole) {
          ADD_FAILURE() << "input \"" << escaped(wire) << "\" split at " << a << " and " << b
                        << ": got " << got << ", one feed gave " << whole;
          return whole;
        }
      }
    }
  }
  return whole;
}

}  // namespace schsim::test
