#pragma once

#include <schsim/core/maint/notification.hpp>
#include <schsim/core/resp3/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace schsim::maint {

/**
 * @brief How a notification is written on the wire.
 *
 * The default is the canonical form of sch-protocol.md §0 that every official client parses.
 * Each flag reproduces one drift that a real server or a client team's own fake has sent, so a
 * scenario can check how a client copes with it. Flags combine.
 */
struct dialect {
  /// Name as a simple string (`+MOVING`) instead of a bulk string.
  bool simple_string_name = false;
  /// Every string argument (endpoint, shard ids, slots, SMIGRATED entries) as a simple string.
  bool simple_string_arguments = false;
  /// A MOVING without endpoint carries the 4-byte string "null" instead of RESP3 null `_`.
  bool null_as_string = false;
  /// A MOVING without endpoint is sent with 3 elements (the endpoint element left out). Wins
  /// over null_as_string when both are set.
  bool moving_three_elements = false;
  /// SMIGRATED entries as pairs [destination, slots] (go-redis and node-redis fakes).
  bool smigrated_pairs = false;
  /// SMIGRATING slots as one argument per slot or range instead of one comma-separated string
  /// (SMIGRATED entries keep one string). With no slots, one empty argument is still sent.
  bool slots_as_arguments = false;

  friend auto operator==(const dialect&, const dialect&) -> bool = default;
};

/// Names accepted by parse_dialect_flag, in scenario files: "canonical", "simple-string-name",
/// "simple-string-arguments", "simple-strings" (both), "null-string", "moving-3-elements",
/// "smigrated-pairs", "slots-as-arguments". "canonical" sets nothing (and clears nothing).
auto dialect_flag_names() -> const std::vector<std::string_view>&;
/// Sets the flag named `name` in `d`; false if the name is unknown.
auto apply_dialect_flag(dialect& d, std::string_view name) -> bool;
/// The names of the flags set in `d`, comma-separated, each one a name apply_dialect_flag
/// accepts ("canonical" when none is set).
auto describe(const dialect& d) -> std::string;

/// The RESP3 push value for `n` in dialect `d`.
auto encode(const notification& n, const dialect& d = {}) -> resp3::value;

/// Why a push could not be read as a maintenance notification.
struct decode_error {
  std::string message;
};

/**
 * Reads a push frame as a maintenance notification, accepting every dialect above (the
 * simulator's own tests and the reference client share this decoder). Returns nullopt when the
 * push is not a maintenance notification at all (pub/sub `message`, `invalidate`, ...), and a
 * decode_error when it is named like one but malformed.
 *
 * Accepted beyond the canonical form: simple, bulk or verbatim strings anywhere a string goes;
 * as MOVING endpoint RESP3 null, RESP2 null, the string "null", or no 4th element (all: no
 * endpoint); SMIGRATING slots split over several arguments, or given as integers; SMIGRATED
 * entries as pairs [destination, slots] (source left empty) or triplets with an empty source;
 * shard ids as an array of strings instead of a JSON string. Not accepted (decode_error): wrong
 * arity, a non-integer seq or time, an empty or non-string endpoint, a malformed slot list or
 * shard-id list. Only a push whose first element is a string equal to an upper-case wire name
 * is a maintenance notification; anything else (arrays included) gives nullopt.
 */
auto decode(const resp3::value& push) -> std::optional<std::variant<notification, decode_error>>;

}  // namespace schsim::maint
