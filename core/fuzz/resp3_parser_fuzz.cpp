// libFuzzer target for resp3::parser. Build (clang only), e.g.:
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I core/include \
//     core/fuzz/resp3_parser_fuzz.cpp core/src/value.cpp core/src/parser.cpp \
//     core/src/serializer.cpp -o resp3_parser_fuzz
//   ./resp3_parser_fuzz core/fuzz/corpus/resp3
//
// The first input byte selects the options; the rest is the stream. Invariants checked:
//  1. the stream gives the same values, error, error offset and buffered count whether it is
//     fed at once, in random pieces, or (when short) byte by byte, and whether it is pulled
//     with next() or with next_request() (commands as views into the buffer);
//  2. every value re-serializes (RESP3) to bytes that parse back to one equal value, whose
//     own serialization is the same bytes; its RESP2 form parses too.
#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/resp3/serializer.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct outcome {
  std::vector<schsim::resp3::value> values;
  schsim::resp3::parse_error error = schsim::resp3::parse_error::none;
  std::uint64_t error_offset = 0;
  std::size_t buffered = 0;

  friend auto operator==(const outcome&, const outcome&) -> bool = default;
};

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

/// How values are pulled: next(), or next_request() (commands as views, the rest by next()).
enum class pull { values, requests };

void pull_requests(schsim::resp3::parser& p, outcome& out) {
  using form = schsim::resp3::parser::request_form;
  std::vector<std::string_view> args;
  std::optional<schsim::resp3::value> fallback;
  for (;;) {
    const form f = p.next_request(args, fallback);
    if (f == form::none) {
      check(args.empty() && !fallback);
      return;
    }
    if (f == form::value) {
      check(args.empty() && fallback);
      out.values.push_back(std::move(*fallback));
      continue;
    }
    check(!args.empty() && !fallback);
    std::vector<schsim::resp3::value> items;
    for (const auto a : args) {
      items.push_back(schsim::resp3::value::bulk(std::string(a)));
    }
    out.values.push_back(schsim::resp3::value::array_of(std::move(items)));
  }
}

auto run(const std::vector<std::string_view>& chunks, const schsim::resp3::parser_limits& limits,
         schsim::resp3::inline_mode mode, pull how = pull::values) -> outcome {
  schsim::resp3::parser p(limits, mode);
  outcome out;
  for (const auto c : chunks) {
    p.feed(c);
    if (how == pull::requests) {
      pull_requests(p, out);
    } else {
      while (auto v = p.next()) {
        out.values.push_back(std::move(*v));
      }
    }
    check(!p.failed() || !p.mid_value());
  }
  out.error = p.error();
  out.error_offset = p.error_offset();
  out.buffered = p.buffered();
  if (p.failed()) {
    check(!p.error_message().empty());
  }
  return out;
}

// The serializer turns CR and LF in line types into spaces on purpose; such values do not
// compare equal after a round trip.
auto has_line_break_in_line(const schsim::resp3::value& v) -> bool {
  using schsim::resp3::type;
  if ((v.kind == type::simple_string || v.kind == type::simple_error ||
       v.kind == type::big_number) &&
      v.text.find_first_of("\r\n") != std::string::npos) {
    return true;
  }
  for (const auto& e : v.elements) {
    if (has_line_break_in_line(e)) {
      return true;
    }
  }
  for (const auto& a : v.attributes) {
    if (has_line_break_in_line(a)) {
      return true;
    }
  }
  return false;
}

void check_round_trip(const schsim::resp3::value& v) {
  const std::string once = schsim::resp3::serialize(v);
  schsim::resp3::parser p;
  p.feed(once);
  const auto back = p.next();
  check(back.has_value());
  check(!p.failed() && p.buffered() == 0);
  if (!has_line_break_in_line(v)) {
    check(*back == v);
  }
  check(schsim::resp3::serialize(*back) == once);

  schsim::resp3::parser p2;
  p2.feed(schsim::resp3::serialize(v, schsim::resp3::protocol::resp2));
  check(p2.next().has_value());
  check(!p2.failed() && p2.buffered() == 0);
  (void)to_debug_string(v);
}

}  // namespace

extern "C" auto LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) -> int {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  const auto mode = (control & 1) != 0 ? schsim::resp3::inline_mode::accepted
                                       : schsim::resp3::inline_mode::rejected;
  schsim::resp3::parser_limits limits;
  if ((control & 2) != 0) {  // small limits, so that every limit is reachable
    limits.max_depth = 4;
    limits.max_bulk_length = 16;
    limits.max_aggregate_length = 8;
    limits.max_inline_length = 24;
  }

  const outcome whole = run({input}, limits, mode);

  // Random piece sizes from a generator seeded by the input, so a crash replays.
  std::uint32_t state = 2166136261u ^ control;
  for (const char c : input) {
    state = (state ^ static_cast<std::uint8_t>(c)) * 16777619u;
  }
  for (int round = 0; round < 4; ++round) {
    std::vector<std::string_view> pieces;
    std::size_t at = 0;
    while (at < input.size()) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      const std::size_t n = 1 + state % (round == 0 ? 3 : 17 * round);
      pieces.push_back(input.substr(at, n));
      at += n;
    }
    check(run(pieces, limits, mode) == whole);
    // next_request() must give next()'s results however the stream is cut.
    check(run(pieces, limits, mode, pull::requests) == whole);
  }
  check(run({input}, limits, mode, pull::requests) == whole);
  if (input.size() <= 512) {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < input.size(); ++i) {
      bytes.push_back(input.substr(i, 1));
    }
    check(run(bytes, limits, mode) == whole);
    check(run(bytes, limits, mode, pull::requests) == whole);
  }

  for (const auto& v : whole.values) {
    check_round_trip(v);
  }
  return 0;
}
