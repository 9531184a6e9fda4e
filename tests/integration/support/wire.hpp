#pragma once

#include <string_view>

// Hand-written request bytes the socket tests send, in one place (never produced by schsim's
// serializer: the bytes a test compares must not pass through the code under test).
namespace schsim::testing::wire {

inline constexpr std::string_view hello3 = "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";
inline constexpr std::string_view ping = "*1\r\n$4\r\nPING\r\n";
/// The bare opt-in (no moving-endpoint-type), as OSS cluster clients send it.
inline constexpr std::string_view maint_on =
    "*3\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n";
inline constexpr std::string_view maint_on_internal_ip =
    "*5\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n$20\r\n"
    "moving-endpoint-type\r\n$11\r\ninternal-ip\r\n";

}  // namespace schsim::testing::wire
