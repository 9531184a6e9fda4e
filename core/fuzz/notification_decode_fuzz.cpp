// libFuzzer target for maint::decode over parsed RESP3 values. Build (clang only), e.g.:
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I core/include \
//     core/fuzz/notification_decode_fuzz.cpp core/src/value.cpp core/src/parser.cpp \
//     core/src/serializer.cpp core/src/notification.cpp core/src/codec.cpp \
//     -o notification_decode_fuzz
//   ./notification_decode_fuzz core/fuzz/corpus/resp3
//
// Invariants: decode never crashes; a decoded notification encodes (canonical form) to a push
// that decodes to the same notification; in every dialect it decodes to the same kind and seq;
// the helpers it relies on (slot lists, shard ids) round-trip.
#include <schsim/core/maint/codec.hpp>
#include <schsim/core/maint/notification.hpp>
#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/resp3/serializer.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

auto dialect_from(std::uint8_t bits) -> schsim::maint::dialect {
  schsim::maint::dialect d;
  d.simple_string_name = (bits & 1) != 0;
  d.simple_string_arguments = (bits & 2) != 0;
  d.null_as_string = (bits & 4) != 0;
  d.moving_three_elements = (bits & 8) != 0;
  d.smigrated_pairs = (bits & 16) != 0;
  d.slots_as_arguments = (bits & 32) != 0;
  return d;
}

void check_notification(const schsim::maint::notification& n, std::uint8_t dialect_bits) {
  (void)to_debug_string(n);

  // Canonical: exact round trip, through the wire bytes too.
  const auto canonical = schsim::maint::encode(n);
  const auto again = schsim::maint::decode(canonical);
  check(again.has_value() && std::holds_alternative<schsim::maint::notification>(*again));
  check(std::get<schsim::maint::notification>(*again) == n);
  schsim::resp3::parser p;
  p.feed(schsim::resp3::serialize(canonical));
  const auto reparsed = p.next();
  check(reparsed.has_value() && *reparsed == canonical);

  // Other dialects may lose a source or sanitize a line break, but not the kind or seq.
  const auto drifted = schsim::maint::decode(schsim::maint::encode(n, dialect_from(dialect_bits)));
  check(drifted.has_value() && std::holds_alternative<schsim::maint::notification>(*drifted));
  const auto& d = std::get<schsim::maint::notification>(*drifted);
  check(kind_of(d) == kind_of(n) && seq_of(d) == seq_of(n));
}

}  // namespace

extern "C" auto LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) -> int {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t dialect_bits = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  // The helpers on raw text.
  if (const auto slots = schsim::maint::parse_slot_list(input)) {
    check(schsim::maint::parse_slot_list(schsim::maint::format_slot_list(*slots)) == slots);
  }
  if (const auto ids = schsim::maint::parse_shard_ids(input)) {
    check(schsim::maint::parse_shard_ids(schsim::maint::format_shard_ids(*ids)) == ids);
  }

  schsim::resp3::parser p;
  p.feed(input);
  while (const auto v = p.next()) {
    const auto decoded = schsim::maint::decode(*v);
    if (!decoded) {
      continue;
    }
    if (const auto* n = std::get_if<schsim::maint::notification>(&*decoded)) {
      check_notification(*n, dialect_bits);
    } else {
      check(!std::get<schsim::maint::decode_error>(*decoded).message.empty());
    }
  }
  return 0;
}
