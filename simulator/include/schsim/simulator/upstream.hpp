#pragma once
/**
 * @file
 * @brief Proxy mode's decisions, without sockets: which side answers a command, and how the
 * upstream server's byte stream splits into whole replies and pushes.
 *
 * In proxy mode (`schsim serve --upstream HOST:PORT`) schsim stands in front of a real Redis:
 * it owns the connection's handshake (HELLO, AUTH, CLIENT MAINT_NOTIFICATIONS and the other
 * connection-level CLIENT subcommands), so maintenance notifications work whatever the upstream
 * supports, and forwards every data command to the upstream, one upstream connection per client
 * connection, relaying replies in order. The session (session.cpp) is the I/O edge.
 */

#include <schsim/core/resp3/parser.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::simulator {

/// Who answers a command in proxy mode.
enum class proxy_route {
  local,     ///< schsim's command handler answers; the upstream never sees it
  upstream,  ///< forwarded; the upstream's reply is relayed to the client
  both,      ///< schsim answers, and a form of it goes upstream with the reply discarded
};

/// Where one command goes and, for proxy_route::both, what the upstream is sent instead.
struct proxy_decision {
  proxy_route route = proxy_route::upstream;
  /// For `both`: the arguments sent upstream (HELLO without AUTH/SETNAME, so the upstream
  /// connection speaks the client's protocol while schsim keeps authentication its own).
  std::vector<std::string> upstream_args;
};

/// Decides where `args` (a command, name in any case) goes.
auto route_command(std::span<const std::string_view> args) -> proxy_decision;

/// A command as RESP bytes (an array of bulk strings), the way a client sends it.
auto encode_command(std::span<const std::string> args) -> std::string;
auto encode_command(std::span<const std::string_view> args) -> std::string;

/// One whole frame from the upstream, byte for byte.
struct upstream_frame {
  std::string bytes;
  /// A RESP3 push (`>`): pub/sub messages, client-tracking invalidations; it answers no
  /// command, so it goes to the client as a push, not as the next reply.
  bool push = false;
};

/**
 * Splits the upstream's byte stream into whole frames (attributes stay with the frame they
 * precede). Errors are sticky, as in resp3::parser: the stream has lost its framing.
 */
class upstream_frames {
 public:
  explicit upstream_frames(resp3::parser_limits limits = {});

  void feed(std::string_view bytes);
  /// The next whole frame; nullopt when more bytes are needed or after an error.
  auto next() -> std::optional<upstream_frame>;

  [[nodiscard]] auto failed() const -> bool { return parser_.failed(); }
  [[nodiscard]] auto error_message() const -> std::string { return parser_.error_message(); }

 private:
  resp3::parser parser_;
  /// The bytes fed and not yet returned in a frame (the parser keeps no raw copy to give back).
  std::string pending_;
};

}  // namespace schsim::simulator
