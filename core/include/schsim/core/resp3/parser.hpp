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
  /// Longest line of a RESP frame: a type byte's header, a simple string or error, a number.
  std::size_t max_line_length = 64 * 1024;
};

/// Whether a line that does not start with a RESP type byte is read as an inline command
/// (`PING\r\n`, as redis-cli and telnet send). Servers accept them; clients do not.
enum class inline_mode { rejected, accepted };

enum class parse_error {
  none,
  invalid_type_byte,   ///< a value starts with a byte that is no RESP3 type
  invalid_integer,     ///< `:` payload is not a strict base-10 int64
  invalid_length,      ///< a length field is not a number >= -1
  bulk_too_long,       ///< bulk length over parser_limits::max_bulk_length
  aggregate_too_long,  ///< aggregate length over parser_limits::max_aggregate_length
  nesting_too_deep,    ///< deeper than parser_limits::max_depth
  missing_crlf,        ///< a bulk payload is not followed by CRLF, or a line has a lone CR
  invalid_double,      ///< `,` payload is not a double
  invalid_boolean,     ///< `#` payload is not `t` or `f`
  invalid_big_number,  ///< `(` payload is not an optionally signed digit string
  invalid_verbatim,    ///< `=` payload lacks the `xxx:` format prefix
  invalid_null,        ///< `_` followed by anything but CRLF
  inline_too_long,     ///< inline command longer than parser_limits::max_inline_length
  unbalanced_quotes,   ///< inline command with an unterminated quote, or a closing quote
                       ///< not followed by a space (sdssplitargs's rule)
  line_too_long,       ///< a RESP line longer than parser_limits::max_line_length
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
 * An attribute (`|`) is not returned on its own: it is attached to the value that follows it
 * (value::attributes). With inline_mode::accepted, a top-level line whose first byte is no RESP3
 * type byte is split like Redis's sdssplitargs and returned as an array of bulk strings; an
 * empty inline line is skipped.
 *
 * @par Errors are sticky
 * After an error every next() returns std::nullopt and error() keeps its value until reset(),
 * because the byte stream has lost its framing and nothing after it can be trusted. Bytes fed
 * after an error are dropped.
 *
 * @par Error offsets
 * error_offset() counts from the first byte fed (or since the last reset()). It points at the
 * type byte for invalid_type_byte and nesting_too_deep; at the first byte after the type byte
 * for every other error in a header or line (bad integer, length, double, limit...); at the
 * byte that should have been CR or LF for missing_crlf; at the first payload byte for
 * invalid_verbatim; at the first byte of the line for unbalanced_quotes; and at the first byte
 * over the limit for inline_too_long.
 */
class parser {
 public:
  explicit parser(parser_limits limits = {}, inline_mode inline_commands = inline_mode::rejected);

  void feed(std::string_view bytes);
  [[nodiscard]] auto next() -> std::optional<value>;

  /// What next_request() produced.
  enum class request_form {
    none,   ///< nothing: more bytes are needed, or error() (as next() returning nullopt)
    views,  ///< a command as views into the parser's buffer, in `args`
    value,  ///< a value from next(), in `fallback`
  };
  /**
   * next() for a server, without one allocation per command argument. When a complete top-level
   * array of one or more bulk strings (a RESP command) is already in the buffer, its elements
   * are returned as views in `args` and nothing is allocated. Anything else (inline commands,
   * other types, a frame not fully arrived or begun by an earlier call, attributes, errors)
   * goes through next(), whose result lands in `fallback`. Values, errors, error offsets and
   * buffered() are exactly those of next(), however the stream was split.
   *
   * @par Object lifetimes
   * The views in `args` point into the parser's buffer and stay valid until the next call of
   * any non-const member (feed() may move the buffer).
   */
  [[nodiscard]] auto next_request(std::vector<std::string_view>& args,
                                  std::optional<value>& fallback) -> request_form;

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
  /// Drops all buffered bytes and partial state, clears the error and restarts stream offsets
  /// at 0 (a reset parser reads a new stream).
  void reset();

  [[nodiscard]] auto limits() const noexcept -> const parser_limits& { return limits_; }

 private:
  /// An aggregate whose children are still arriving.
  struct frame {
    value v;
    std::int64_t remaining = 0;  // children still expected
    // Attributes that were waiting for the next value when this attribute frame opened; they
    // still belong to the value after it, together with this attribute's own pairs.
    std::vector<value> outer_attributes;
  };
  /// A `$`, `!` or `=` header was read and its payload has not fully arrived.
  struct pending_bulk {
    type kind = type::bulk_string;
    std::size_t length = 0;
  };
  enum class step { progressed, need_more, failed };

  /// The fast path of next_request(): true when a whole command was taken from the buffer.
  auto take_complete_command(std::vector<std::string_view>& args) -> bool;
  auto parse_one() -> step;
  auto parse_line(type t, std::string_view line, std::size_t type_at, std::size_t next) -> step;
  auto open_aggregate(type t, std::string_view line, std::size_t type_at, std::size_t next) -> step;
  auto parse_bulk_payload() -> step;
  auto parse_inline() -> step;
  auto find_crlf(std::size_t& eol) -> step;
  auto fail(parse_error e, std::size_t at) -> step;
  void deliver(value v);   // a new value: takes the pending attributes, then complete()
  void complete(value v);  // adds v to its parent, closing finished aggregates upwards
  auto close_top() -> std::optional<value>;  // nullopt when the closed frame was an attribute
  [[nodiscard]] auto stream_offset(std::size_t buffer_index) const noexcept -> std::uint64_t {
    return dropped_ + buffer_index;
  }
  void compact();

  parser_limits limits_;
  inline_mode inline_mode_;
  std::string buffer_;
  std::size_t pos_ = 0;            // first byte of buffer_ not parsed yet
  std::size_t scanned_ = 0;        // bytes from pos_ already searched for the end of the line
  std::uint64_t dropped_ = 0;      // bytes compacted away from the front of buffer_ so far
  std::uint64_t value_start_ = 0;  // stream offset where the value being built began
  std::vector<frame> stack_;
  std::optional<pending_bulk> bulk_;
  std::vector<value> pending_attributes_;
  std::optional<value> ready_;
  parse_error error_ = parse_error::none;
  std::uint64_t error_offset_ = 0;
  type error_type_ = type::null;  // the header an error was found in, for error_message()
  char error_byte_ = 0;           // the offending byte of invalid_type_byte
};

}  // namespace schsim::resp3
