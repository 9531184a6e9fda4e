#pragma once

#include <chrono>
#include <cstdint>

namespace schsim {

/// The one clock schsim reads. On Linux steady_clock is CLOCK_MONOTONIC, the same clock every
/// client driver stamps its events with, so server-side and client-side timelines merge exactly.
using mono_clock = std::chrono::steady_clock;
using time_point = mono_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

/// Nanoseconds since the clock's epoch (CLOCK_MONOTONIC's), the unit of every timeline stamp.
inline auto to_ns(time_point t) noexcept -> std::int64_t {
  return std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count();
}
inline auto from_ns(std::int64_t ns) noexcept -> time_point {
  return time_point{std::chrono::duration_cast<mono_clock::duration>(nanoseconds{ns})};
}
/// Whole milliseconds from `from` to `to` (truncated), as the clients log durations.
inline auto ms_between(time_point from, time_point to) noexcept -> std::int64_t {
  return std::chrono::duration_cast<milliseconds>(to - from).count();
}

}  // namespace schsim
