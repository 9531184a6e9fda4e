#include <schsim/refclient/handshake.hpp>

#include <utility>

namespace schsim::refclient {

namespace {

auto reply_text(const resp3::value& v) -> std::string {
  if (v.is_string() || v.is_error()) return v.text;
  return resp3::to_debug_string(v);
}

}  // namespace

auto to_string(maint_state s) -> std::string_view {
  switch (s) {
    case maint_state::off:
      return "off";
    case maint_state::on:
      return "on";
    case maint_state::refused:
      return "refused";
  }
  return "off";
}

auto handshake_params::from(const resolved_config& config, handshake_scope scope)
    -> handshake_params {
  handshake_params p;
  p.protocol = config.config.protocol;
  p.username = config.config.username;
  p.password = config.config.password;
  p.mode = config.config.maint.mode;
  p.moving_endpoint_type = config.moving_endpoint_type;
  if (p.mode == maint_mode::disabled &&
      config.config.broken.has(broken_mode::opt_in_when_disabled)) {
    p.mode = maint_mode::automatic;
    if (p.moving_endpoint_type == endpoint_type::none)
      p.moving_endpoint_type = endpoint_type::internal_ip;
  }
  p.scope = scope;
  return p;
}

auto operator<<(std::ostream& os, const handshake_action& a) -> std::ostream& {
  if (const auto* send = std::get_if<handshake_send>(&a)) {
    os << "send[";
    for (std::size_t i = 0; i < send->args.size(); ++i) os << (i ? " " : "") << send->args[i];
    return os << "]";
  }
  if (const auto* done = std::get_if<handshake_done>(&a)) {
    return os << "done{resp" << static_cast<int>(done->protocol) << ", maint "
              << to_string(done->maint) << "}";
  }
  const auto& failed = std::get<handshake_failed>(a);
  return os << "failed{" << failed.error.kind << ": " << failed.error.message << "}";
}

handshake_fsm::handshake_fsm(handshake_params params) : params_{std::move(params)} {}

auto handshake_fsm::auth_command() const -> std::vector<std::string> {
  if (params_.username) return {"AUTH", *params_.username, params_.password.value_or("")};
  return {"AUTH", params_.password.value_or("")};
}

auto handshake_fsm::fail(std::string message) -> handshake_action {
  step_ = step::finished;
  return handshake_failed{command_error{error_class::handshake, std::move(message)}};
}

auto handshake_fsm::start() -> handshake_action {
  if (params_.scope == handshake_scope::skip) {
    step_ = step::finished;
    return handshake_done{resp3::protocol::resp2, maint_state::off};
  }
  if (params_.protocol == 3) {
    step_ = step::hello;
    std::vector<std::string> hello{"HELLO", "3"};
    if (params_.password) {
      hello.insert(hello.end(), {"AUTH", params_.username.value_or("default"), *params_.password});
    }
    return handshake_send{std::move(hello)};
  }
  if (params_.password) {
    step_ = step::auth;
    return handshake_send{auth_command()};
  }
  step_ = step::finished;
  return handshake_done{resp3::protocol::resp2, maint_state::off};
}

auto handshake_fsm::after_auth_on_resp2() -> handshake_action {
  if (params_.protocol == 3 && params_.mode == maint_mode::enabled) {
    // go-redis wording: the user asked for notifications and cannot have them.
    return fail(
        "failed to enable maintnotifications: server does not support RESP3 (HELLO command "
        "failed)");
  }
  step_ = step::finished;
  return handshake_done{resp3::protocol::resp2, maint_state::off};
}

auto handshake_fsm::send_maint_or_finish() -> handshake_action {
  if (params_.mode == maint_mode::disabled) {
    step_ = step::finished;
    return handshake_done{resp3::protocol::resp3, maint_state::off};
  }
  step_ = step::maint;
  return handshake_send{{"CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type",
                         std::string{to_string(params_.moving_endpoint_type)}}};
}

auto handshake_fsm::on_reply(const resp3::value& reply) -> handshake_action {
  switch (step_) {
    case step::hello:
      if (!reply.is_error()) return send_maint_or_finish();
      // Any error reply means "no RESP3 here" (NOPROTO, or unknown command on Redis < 6): fall
      // back to RESP2 and authenticate the old way, as go-redis initConn does. A wrong password
      // fails again at AUTH with the server's own text.
      if (params_.password) {
        step_ = step::auth;
        return handshake_send{auth_command()};
      }
      return after_auth_on_resp2();
    case step::auth:
      if (reply.is_error()) return fail("AUTH failed: " + reply_text(reply));
      return after_auth_on_resp2();
    case step::maint:
      if (!reply.is_error() && reply.kind == resp3::type::simple_string) {
        step_ = step::finished;
        return handshake_done{resp3::protocol::resp3, maint_state::on};
      }
      if (params_.mode == maint_mode::enabled) {
        return fail("failed to enable maintnotifications: " + reply_text(reply));
      }
      step_ = step::finished;
      return handshake_done{resp3::protocol::resp3, maint_state::refused};
    case step::idle:
    case step::finished:
      break;
  }
  return fail("unexpected reply during handshake: " + reply_text(reply));
}

}  // namespace schsim::refclient
