#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::resp3 {

/// The RESP3 data types; the enumerator values are the wire type bytes.
enum class type : char {
  simple_string = '+',
  simple_error = '-',
  integer = ':',
  bulk_string = '$',
  array = '*',
  null = '_',
  boolean = '#',
  double_number = ',',
  big_number = '(',
  bulk_error = '!',
  verbatim_string = '=',
  map = '%',
  set = '~',
  attribute = '|',
  push = '>',
};

auto to_string(type t) -> std::string_view;
auto operator<<(std::ostream& os, type t) -> std::ostream&;

/// True for the types whose payload is held in value::text.
auto holds_text(type t) noexcept -> bool;
/// True for array, set, push, map and attribute.
auto is_aggregate(type t) noexcept -> bool;

/**
 * @brief One RESP3 value, owning its data.
 *
 * Strings, errors, big numbers and verbatim strings keep their payload in `text` (a verbatim
 * string's 3-letter format goes to `verbatim_format`). A double keeps its parsed value in
 * `number` and its wire spelling in `text` (so `inf`, `-inf`, `nan` round-trip). Aggregates keep
 * their children in `elements`; a map stores keys and values alternately (k0, v0, k1, v1, ...).
 * An attribute (`|`) that preceded a value on the wire is attached to it as `attributes` (same
 * alternating layout), so an attribute never appears as a value on its own. RESP2 nulls (`$-1`,
 * `*-1`) are parsed as `type::null`.
 */
struct value {
  type kind = type::null;
  std::string text;
  std::string verbatim_format;
  std::int64_t integer = 0;
  double number = 0.0;
  bool boolean = false;
  std::vector<value> elements;
  std::vector<value> attributes;

  static auto simple(std::string s) -> value;
  static auto error(std::string message) -> value;  ///< simple error, e.g. "ERR wrong ..."
  static auto bulk(std::string s) -> value;
  static auto bulk_error(std::string message) -> value;
  static auto number_of(std::int64_t n) -> value;  ///< integer
  static auto double_of(double d) -> value;
  static auto boolean_of(bool b) -> value;
  static auto nil() -> value;
  static auto verbatim(std::string format, std::string s) -> value;
  static auto big(std::string digits) -> value;
  static auto array_of(std::vector<value> items) -> value;
  static auto set_of(std::vector<value> items) -> value;
  static auto push_of(std::vector<value> items) -> value;
  /// Map from alternating keys and values.
  static auto map_of(std::vector<value> keys_and_values) -> value;

  /// True for simple strings, bulk strings and verbatim strings.
  [[nodiscard]] auto is_string() const noexcept -> bool;
  /// True for simple errors and bulk errors.
  [[nodiscard]] auto is_error() const noexcept -> bool;

  friend auto operator==(const value& a, const value& b) -> bool;
};

/// A compact human-readable rendering, e.g. `>[$"MOVING", :1, :15, _]`, for logs and test output.
auto to_debug_string(const value& v) -> std::string;
auto operator<<(std::ostream& os, const value& v) -> std::ostream&;

}  // namespace schsim::resp3
