#pragma once

#include <schsim/core/resp3/serializer.hpp>
#include <schsim/core/resp3/value.hpp>
#include <schsim/refclient/config.hpp>
#include <schsim/refclient/errors.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

namespace schsim::refclient {

/// Whether a new connection runs the handshake. `skip` exists only for the broken mode
/// skip_handoff_handshake; a correct client always runs it, handoff connections included.
enum class handshake_scope { full, skip };

/// What came of CLIENT MAINT_NOTIFICATIONS on one connection.
enum class maint_state {
  off,     ///< not asked (disabled mode, RESP2, or handshake skipped)
  on,      ///< the server answered +OK: this connection receives maintenance pushes
  refused  ///< auto mode and the server refused: carry on without (silently)
};

auto to_string(maint_state s) -> std::string_view;

struct handshake_params {
  int protocol = 3;
  std::optional<std::string> username;
  std::optional<std::string> password;
  maint_mode mode = maint_mode::automatic;
  endpoint_type moving_endpoint_type = endpoint_type::none;  ///< resolved, never automatic
  handshake_scope scope = handshake_scope::full;

  static auto from(const resolved_config& config, handshake_scope scope) -> handshake_params;
};

/// Send this command and call on_reply() with its reply.
struct handshake_send {
  std::vector<std::string> args;
  friend auto operator==(const handshake_send&, const handshake_send&) -> bool = default;
};
/// The connection is ready.
struct handshake_done {
  resp3::protocol protocol = resp3::protocol::resp3;
  maint_state maint = maint_state::off;
  friend auto operator==(const handshake_done&, const handshake_done&) -> bool = default;
};
/// The connection must be closed; `error` tells the caller why (kind handshake).
struct handshake_failed {
  command_error error;
  friend auto operator==(const handshake_failed&, const handshake_failed&) -> bool = default;
};
using handshake_action = std::variant<handshake_send, handshake_done, handshake_failed>;

auto operator<<(std::ostream& os, const handshake_action& a) -> std::ostream&;

/**
 * @brief The connection handshake as a sans-I/O state machine.
 *
 * ```
 *   protocol 3:  HELLO 3 [AUTH u p] ──ok──► [MAINT ON moving-endpoint-type t] ──► done
 *                      │ error (RESP2-only server)
 *                      ▼
 *                [AUTH [u] p] ──► done on RESP2, MAINT never sent (go-redis PR #3788)
 *   protocol 2:  [AUTH [u] p] ──► done
 * ```
 * Commands go one at a time, not pipelined: whether CLIENT MAINT_NOTIFICATIONS may be sent
 * depends on the HELLO reply. Auto mode takes a refusal silently (go-redis #3536 was a log line
 * too many); enabled mode fails the connection with the server's text. Pushes are not replies:
 * the caller routes them elsewhere and never passes them to on_reply().
 */
class handshake_fsm {
 public:
  explicit handshake_fsm(handshake_params params);

  [[nodiscard]] auto start() -> handshake_action;
  [[nodiscard]] auto on_reply(const resp3::value& reply) -> handshake_action;

 private:
  enum class step { idle, hello, auth, maint, finished };

  auto after_auth_on_resp2() -> handshake_action;
  auto send_maint_or_finish() -> handshake_action;
  auto fail(std::string message) -> handshake_action;
  auto auth_command() const -> std::vector<std::string>;

  handshake_params params_;
  step step_ = step::idle;
};

}  // namespace schsim::refclient
