#pragma once

#include <schsim/core/resp3/value.hpp>

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace schsim::resp3 {

/// The protocol a connection speaks; decides how RESP3-only types are written.
enum class protocol { resp2 = 2, resp3 = 3 };

/**
 * Appends the wire form of `v` to `out`.
 *
 * In RESP2 the RESP3-only types degrade as Redis does: null → `$-1`, map → flat array, set and
 * push → array, boolean → integer 1/0, double and big number and verbatim → bulk string, bulk
 * error → simple error. Attributes are dropped in RESP2.
 *
 * A double is written with its wire spelling (`text`) when it has one, else in Redis 7's form:
 * `inf`, `-inf`, `nan`, or the shortest decimal that reads back to the same double (`1.5`,
 * `10`). CR and LF inside a simple string or error would break the framing, so they are
 * written as spaces (Redis does the same for errors). A map whose element count is odd loses
 * its last, unpaired key.
 */
void serialize(const value& v, std::string& out, protocol proto = protocol::resp3);
[[nodiscard]] auto serialize(const value& v, protocol proto = protocol::resp3) -> std::string;

/// Appends a command as a RESP array of bulk strings (what clients send).
void append_command(std::string& out, std::span<const std::string_view> args);
void append_command(std::string& out, std::initializer_list<std::string_view> args);
[[nodiscard]] auto encode_command(std::initializer_list<std::string_view> args) -> std::string;

}  // namespace schsim::resp3
