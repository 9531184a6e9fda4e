#pragma once

#include <schsim/core/resp3/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::resp3 {

/// Limits the parser enforces; each has its own error. Defaults follow Redis's server limits.
struct parser_limits {
  /// Deepest nesting of aggregates accepted (a top-level array has depth 1).
  std::size_t max_depth = 64;
  /// Longest bulk string, bulk error or verbatim string (Redis: proto-max-bulk-len, 512 MiB).
  std::int64_t max_bulk_length = 512LL * 1024 * 1024;
  /// Most elements in one aggregate (a map counts keys plus values). Redis: 1024*1024*1024 for
  /// requests; a smaller default keeps a hostile length from reserving memory.
  std::int64_t max_aggregate_length = 1024LL * 1024;
  /// Longest inline command line (Redis: PROTO_INLINE_MAX_SIZE, 64 KiB).
  std::size_t max_inline_length = 64 * 1024;
};

/// Whether a line that does not start with a RESP type byte is read as an inline command
/// (`PING\r\n`, as redis-cli and telnet send). Servers accept them; clients do not.
enum class inline_mode { rejected, accepted };

enum class parse_error {
  none,
  invalid_type_byte,      ///< a value starts with a byte that is no RESP3 type
  invalid_integer,        ///< `:` payload is not a strict base-10 int64
  invalid_length,         ///< a length field is not a number >= -1
  bulk_too_long,          ///< bulk length over parser_limits::max_bulk_length
  aggregate_too_long,     ///< aggregate length over parser_limits::max_aggregate_length
  nesting_too_deep,       ///< deeper than parser_limits::max_depth
  missing_crlf,           ///< a bulk payload is not followed by CRLF, or a line has a lone CR
  invalid_double,         ///< `,` payload is not a double
  invalid_boolean,        ///< `#` payload is not `t` or `f`
  invalid_big_number,     ///< `(` payload is not an optionally signed digit string
  invalid_verbatim,       ///< `=` payload lacks the `xxx:` format prefix
  invalid_null,           ///< `_` followed by anything but CRLF
  inline_too_long,        ///< inline command longer than parser_limits::max_inline_length
  unbalanced_quotes,      ///< inline command with an unterminated quote
};

auto to_string(parse_error e) -> std::string_view;

/**
 * @brief Incremental, sans-I/O RESP3 parser.
 *
 * Feed bytes as they arrive with feed(); pull complete top-level values with next(). next()
 * returns std::nullopt when more bytes are needed or after an error; error() tells which. Work
 * already done on a partial aggregate is kept between calls, so a large frame that arrives in
 * many pieces is parsed once, not re-parsed on every feed.
 *
 * @par Errors are sticky
 * After an error every next() returns std::nullopt and error() keeps its value until reset(),
 * because the byte stream has lost its framing and nothing after it can be trusted.
 */
class parser {
 public:
  explicit parser(parser_limits limits = {}, inline_mode inline_commands = inline_mode::rejected);

  void feed(std::string_view bytes);
  [[nodiscard]] auto next() -> std::optional<value>;

  [[nodiscard]] auto error() const noexcept -> parse_error { return error_; }
  [[nodiscard]] auto failed() const noexcept -> bool { return error_ != parse_error::none; }
  /// Redis-style text for the error, e.g. "Protocol error: invalid bulk length".
  [[nodiscard]] auto error_message() const -> std::string;
  /// Offset in the whole fed stream of the byte where the error was found.
  [[nodiscard]] auto error_offset() const noexcept -> std::uint64_t { return error_offset_; }
  /// Bytes fed but not yet returned as part of a complete value.
  [[nodiscard]] auto buffered() const noexcept -> std::size_t;
  /// True when a value has been started but not completed.
  [[nodiscard]] auto mid_value() const noexcept -> bool;
  /// Drops all buffered bytes and partial state, and clears the error.
  void reset();

  [[nodiscard]] auto limits() const noexcept -> const parser_limits& { return limits_; }

 private:
  struct frame {
    value v;
    std::int64_t remaining = 0;  // children still expected
  };
  enum class step { progressed, need_more, failed };

  auto parse_one() -> step;
  auto parse_inline() -> step;
  auto fail(parse_error e, std::size_t at) -> step;
  auto complete(value v) -> bool;  // true when a top-level value became ready
  auto find_crlf(std::size_t from) const -> std::size_t;
  void compact();

  parser_limits limits_;
  inline_mode inline_mode_;
  std::string buffer_;
  std::size_t pos_ = 0;            // first unconsumed byte of buffer_
  std::uint64_t consumed_total_ = 0;  // bytes dropped from the front of buffer_ so far
  std::vector<frame> stack_;
  std::vector<value> pending_attributes_;
  bool attribute_pending_ = false;
  std::optional<value> ready_;
  parse_error error_ = parse_error::none;
  std::uint64_t error_offset_ = 0;
  std::string error_detail_;
};

}  // namespace schsim::resp3
