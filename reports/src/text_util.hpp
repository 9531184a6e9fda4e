#pragma once
// Internal helpers shared by the report formats.

#include <schsim/core/timeline/event.hpp>
#include <schsim/core/verdict.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace schsim::reports::detail {

/// Escapes &, <, >, " and ' for XML and HTML text and attributes; drops control characters
/// XML 1.0 forbids (a driver's stderr may hold anything).
auto escape_xml(std::string_view s) -> std::string;

/// "1.234 s", "12.5 ms", "850 us" for a duration in nanoseconds.
auto format_duration(std::int64_t ns) -> std::string;

/// Milliseconds since `origin_ns` with one decimal, e.g. "+1503.2 ms".
auto format_offset(std::int64_t t_ns, std::int64_t origin_ns) -> std::string;

/// A file-name-safe form of `s`: letters, digits, '-', '_' and '.'; anything else becomes '_'.
auto slug(std::string_view s) -> std::string;

/// One line describing a timeline event, e.g. "command_received #3 [INCR schsim:ctr:3]".
auto describe_event(const timeline::event& e) -> std::string;

/// "12.3" style figure formatting: integers without decimals, others with up to 3.
auto format_number(double v) -> std::string;

/// A figure or tolerance band as text, e.g. "[500, 600) ms".
auto format_band(const verdict::tolerance& t) -> std::string;

/// Case duration in nanoseconds (0 when unknown).
auto case_duration_ns(const verdict::case_result& c) -> std::int64_t;

}  // namespace schsim::reports::detail
