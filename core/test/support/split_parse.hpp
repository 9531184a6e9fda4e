#pragma once

#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/resp3/value.hpp>

#include <cstdint>
#include <ostream>
#include <span>
#include <string_view>
#include <vector>

namespace schsim::test {

/// Everything a parser run produced: the values pulled, then the error state and what was left.
struct parse_outcome {
  std::vector<resp3::value> values;
  resp3::parse_error error = resp3::parse_error::none;
  std::uint64_t error_offset = 0;
  std::size_t buffered = 0;

  friend auto operator==(const parse_outcome&, const parse_outcome&) -> bool = default;
};

auto operator<<(std::ostream& os, const parse_outcome& o) -> std::ostream&;

struct parse_options {
  resp3::parser_limits limits{};
  resp3::inline_mode inline_commands = resp3::inline_mode::rejected;
};

/// Feeds the chunks one after the other into one parser, pulling every ready value after each.
auto parse_chunks(std::span<const std::string_view> chunks, const parse_options& options = {})
    -> parse_outcome;

/// One feed of the whole input.
auto parse_whole(std::string_view wire, const parse_options& options = {}) -> parse_outcome;

/**
 * Parses `wire` in one feed, then split in two at every byte boundary, byte by byte, and (for
 * inputs up to three_way_limit bytes) split in three at every pair of boundaries. Any result
 * that differs from the one-feed result is a test failure naming the split. Returns the
 * one-feed result for the caller's own checks.
 */
auto parse_every_split(std::string_view wire, const parse_options& options = {}) -> parse_outcome;

/// Inputs up to this size are also tried at every three-way split (quadratic in the size).
inline constexpr std::size_t three_way_limit = 64;

}  // namespace schsim::test
