#pragma once

#include <schsim/core/resp3/value.hpp>

#include <ostream>
#include <string>
#include <string_view>
#include <variant>

namespace schsim::refclient {

/// Why a command or a connection failed; the names are the driver protocol's `error_class`.
enum class error_class {
  timeout,     ///< the wait for the reply (or for a connection to write on) timed out
  connection,  ///< the connection was lost or could not be made
  server,      ///< the server answered with an error reply
  handshake,   ///< connection setup (HELLO, AUTH, CLIENT MAINT_NOTIFICATIONS) failed
  cancelled,   ///< the client was shut down first
  other
};

auto to_string(error_class c) -> std::string_view;
auto operator<<(std::ostream& os, error_class c) -> std::ostream&;

struct command_error {
  error_class kind = error_class::other;
  std::string message;
  friend auto operator==(const command_error&, const command_error&) -> bool = default;
};

/// The reply, or why there is none. An error reply from the server is a command_error of
/// kind `server`, so a caller only has to look at one alternative to know it failed.
using command_result = std::variant<resp3::value, command_error>;

}  // namespace schsim::refclient
