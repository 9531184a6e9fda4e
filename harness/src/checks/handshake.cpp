// handshake: every connection that carried a command opted in as the client's settings say.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;

namespace {

/// What the handshake on a connection to `ep` should be.
struct handshake_rule {
  bool expect_hello = false;
  bool maint_required = false;   ///< must be sent
  bool maint_forbidden = false;  ///< must not be sent
  bool expect_accepted = false;
  bool must_abandon = false;       ///< enabled mode refused: no traffic may follow
  std::vector<std::string> types;  ///< acceptable endpoint types
  bool bare_allowed = false;       ///< `CLIENT MAINT_NOTIFICATIONS ON` without a type is fine
};

/// expect.handshake overrides what the settings imply.
void apply_expectation(scenario::handshake_outcome expected, handshake_rule& r) {
  switch (expected) {
    case scenario::handshake_outcome::any:
      break;
    case scenario::handshake_outcome::accepted:
      r.maint_required = true;
      r.maint_forbidden = false;
      r.expect_accepted = true;
      break;
    case scenario::handshake_outcome::rejected:
      r.maint_required = true;
      r.maint_forbidden = false;
      r.expect_accepted = false;
      break;
    case scenario::handshake_outcome::not_sent:
      r.maint_required = false;
      r.maint_forbidden = true;
      break;
  }
}

auto rule_for(const check_input& in, const scenario::endpoint* ep, bool hello_accepted)
    -> handshake_rule {
  handshake_rule r;
  const auto& s = in.scn.client;
  r.expect_hello = s.protocol == 3;
  const bool sch = ep == nullptr || ep->sch;
  if (s.protocol != 3 || s.mode == scenario::sch_mode::disabled || !hello_accepted) {
    r.maint_forbidden = true;
  } else {
    r.maint_required = true;
    r.expect_accepted = sch;
    r.must_abandon = !sch && s.mode == scenario::sch_mode::enabled;
  }
  if (s.moving_endpoint_type == scenario::endpoint_type::automatic && ep != nullptr && ep->tls) {
    // With TLS, auto must pick an FQDN type: the certificate names hosts (sch-protocol.md §1.2).
    r.types = {"internal-fqdn", "external-fqdn"};
  } else if (s.moving_endpoint_type == scenario::endpoint_type::automatic) {
    r.types = {"internal-ip", "internal-fqdn", "external-ip", "external-fqdn"};
  } else {
    r.types = {std::string(scenario::to_string(s.moving_endpoint_type))};
  }
  // Against an OSS Cluster API node the documented opt-in is the bare form (sch-protocol.md
  // §1.1); clients that send their endpoint type there are right too.
  r.bare_allowed = in.scn.topo.cluster;
  apply_expectation(in.scn.expect.handshake, r);
  return r;
}

/// Findings on one connection, each prefixed with the connection's label.
class connection_judge {
 public:
  connection_judge(const check_input& in, const conn_record& c, v::check_result& r,
                   std::vector<const tl::event*>& evidence)
      : in_(in),
        c_(c),
        r_(r),
        evidence_(evidence),
        label_(fmt::format("#{} to {} (opened {})", c.id, c.endpoint, at(in, c.opened))),
        first_data_(c.data.empty() ? forever : c.data.front()->t_ns) {}

  /// Returns whether the connection opted in.
  auto judge() -> bool {
    // Only a refused HELLO 3 excuses a missing opt-in (nothing may be sent on RESP2); a client
    // that never sent HELLO still owed both.
    bool hello_refused = !c_.hellos.empty();
    for (const auto* h : c_.hellos) {
      hello_refused = hello_refused && !std::get<tl::hello>(h->what).accepted;
    }
    const auto* ep = in_.scn.topo.find(c_.endpoint);
    rule_ = rule_for(in_, ep, !hello_refused);
    judge_transport(ep);
    judge_hello();
    return judge_opt_in();
  }

 private:
  void add(std::string_view rule, const std::string& text, const tl::event* e) {
    v::add_finding(r_, rule, label_ + ": " + text);
    if (e != nullptr) {
      evidence_.push_back(e);
    }
    evidence_.push_back(c_.opened_event != nullptr ? c_.opened_event : c_.commands.front());
  }

  /// A TLS endpoint's commands must come over a completed TLS handshake, and never over one
  /// whose certificate names none of the endpoint's names (the client did not verify it).
  void judge_transport(const scenario::endpoint* ep) {
    if (ep == nullptr || !ep->tls) {
      return;
    }
    const auto* hs = c_.tls == nullptr ? nullptr : &std::get<tl::tls_handshake>(c_.tls->what);
    if (hs == nullptr || !hs->tls || !hs->completed) {
      add("plaintext_to_tls_endpoint",
          fmt::format("sent commands in plaintext to TLS endpoint {}", ep->name),
          c_.commands.front());
      return;
    }
    if (certificate_is_wrong(*ep)) {
      add("unverified_certificate",
          fmt::format("sent commands over TLS although {}'s certificate names only \"{}\", not "
                      "the host it dialled ({}{}): the client did not verify the certificate",
                      ep->name, fmt::join(ep->tls_cert_names, "\", \""), ep->host,
                      ep->fqdn.empty() ? std::string() : " or " + ep->fqdn),
          c_.tls);
    }
  }

  /// The scenario gave the endpoint a certificate for names it is not reached by.
  static auto certificate_is_wrong(const scenario::endpoint& ep) -> bool {
    if (ep.tls_cert_names.empty()) {
      return false;
    }
    return std::none_of(ep.tls_cert_names.begin(), ep.tls_cert_names.end(),
                        [&](const std::string& n) { return n == ep.host || n == ep.fqdn; });
  }

  void judge_hello() {
    if (!rule_.expect_hello) {
      return;
    }
    const auto hello3 = std::find_if(c_.hellos.begin(), c_.hellos.end(), [](const auto* h) {
      return std::get<tl::hello>(h->what).protover == 3;
    });
    if (hello3 == c_.hellos.end()) {
      add("no_hello3", "no HELLO 3 (the client is configured for RESP3)", c_.commands.front());
    } else if ((*hello3)->t_ns > first_data_) {
      add("hello_after_command", "HELLO 3 came after the first command", *hello3);
    }
  }

  /// The client gave the connection up before the server had answered anything (its HELLO
  /// reply was held past the client's timeout) and never sent data on it: it could not get
  /// as far as CLIENT MAINT_NOTIFICATIONS, and has nothing to protect.
  [[nodiscard]] auto abandoned_during_hello() const -> bool {
    return c_.data.empty() && c_.replies.empty() && c_.closed_event != nullptr &&
           std::get<tl::connection_closed>(c_.closed_event->what).by == tl::close_initiator::client;
  }

  auto judge_opt_in() -> bool {
    const auto on = std::find_if(c_.maints.begin(), c_.maints.end(), [](const auto* m) {
      return std::get<tl::maint_handshake>(m->what).enable;
    });
    if (on == c_.maints.end()) {
      if (rule_.maint_required && !(in_.scn.topo.cluster && c_.data.empty()) &&
          !abandoned_during_hello()) {
        // A cluster client may read the topology on a connection that carries no workload
        // (node-redis discovers with SCH disabled): without data it has nothing to protect.
        add("no_opt_in", "no CLIENT MAINT_NOTIFICATIONS ON before its commands",
            c_.commands.front());
      }
      return false;
    }
    if (rule_.maint_forbidden) {
      add("forbidden_opt_in",
          fmt::format("sent CLIENT MAINT_NOTIFICATIONS ON{} although it must not ({})",
                      std::get<tl::maint_handshake>((*on)->what).protocol != 3 ? " on RESP2" : "",
                      in_.scn.client.protocol != 3 ? "RESP2 client"
                      : in_.scn.client.mode == scenario::sch_mode::disabled
                          ? "mode disabled"
                          : "HELLO 3 was refused"),
          *on);
      return false;
    }
    judge_sent_opt_in(**on);
    return true;
  }

  void judge_sent_opt_in(const tl::event& on) {
    const auto& hs = std::get<tl::maint_handshake>(on.what);
    if (hs.protocol != 3) {
      add("opt_in_on_resp2", "CLIENT MAINT_NOTIFICATIONS sent on a RESP2 connection", &on);
    }
    const std::string type = hs.endpoint_type.value_or("");
    if (!(rule_.bare_allowed && !hs.endpoint_type) &&
        std::find(rule_.types.begin(), rule_.types.end(), type) == rule_.types.end()) {
      add("wrong_endpoint_type",
          fmt::format("moving-endpoint-type \"{}\", expected {}",
                      hs.endpoint_type ? type : std::string("(none: bare ON)"),
                      fmt::format("\"{}\"", fmt::join(rule_.types, "\" or \""))),
          &on);
    }
    if (on.t_ns > first_data_) {
      add("opt_in_after_command", "CLIENT MAINT_NOTIFICATIONS came after the first command", &on);
    }
    if (hs.accepted != rule_.expect_accepted &&
        in_.scn.expect.handshake != scenario::handshake_outcome::any) {
      add("unexpected_opt_in_reply",
          fmt::format("the server {} it, the scenario expects it {}",
                      hs.accepted ? "accepted" : "rejected",
                      rule_.expect_accepted ? "accepted" : "rejected"),
          &on);
    }
    if (!hs.accepted && rule_.must_abandon && !c_.data.empty()) {
      add("commands_after_refusal",
          "mode enabled and the server refused, yet the connection carried commands",
          c_.data.front());
    }
    if (!hs.accepted && !rule_.must_abandon &&
        in_.scn.client.mode == scenario::sch_mode::automatic && c_.data.empty() &&
        c_.closed_event != nullptr &&
        std::get<tl::connection_closed>(c_.closed_event->what).by == tl::close_initiator::client) {
      add("gave_up_after_refusal",
          "auto mode: the client gave up the connection after the refusal instead of carrying "
          "on silently",
          c_.closed_event);
    }
  }

  const check_input& in_;
  const conn_record& c_;
  v::check_result& r_;
  std::vector<const tl::event*>& evidence_;
  std::string label_;
  std::int64_t first_data_;
  handshake_rule rule_;
};

/// How long a connection may stay open without a word before the client must have closed it:
/// a socket opened and left silent (no HELLO, no command) is a leaked or stuck reconnect. A client
/// that opens one and gives up on it at once (a failed dial, a probe) is fine.
constexpr std::int64_t silent_connection_grace_ns = 1'000'000'000;

/// A connection that carried nothing must have been closed by the client within the grace.
void judge_silent(const check_input& in, std::int64_t end_ns, const conn_record& c,
                  v::check_result& r, std::vector<const tl::event*>& evidence) {
  const auto deadline = c.opened + silent_connection_grace_ns;
  const bool server_closed_first =
      c.closed_event != nullptr && c.closed_at() < deadline &&
      std::get<tl::connection_closed>(c.closed_event->what).by == tl::close_initiator::server;
  if (c.closed_at() < deadline || server_closed_first || end_ns < deadline) {
    return;
  }
  v::add_finding(
      r, "silent_connection",
      fmt::format(
          "#{} to {} (opened {}): sent nothing (no HELLO, no command) and {} (bound: {} ms of "
          "silence, harness rule for a stuck or leaked connection)",
          c.id, c.endpoint, at(in, c.opened),
          c.closed_event != nullptr ? fmt::format("was closed only at {}", at(in, c.closed_at()))
                                    : std::string("was still open at the end"),
          silent_connection_grace_ns / 1'000'000));
  if (c.opened_event != nullptr) {
    evidence.push_back(c.opened_event);
  }
}

/// How the driver's `connect` must end: expect.connect, or success in auto mode.
auto expected_connect(const check_input& in) -> scenario::connect_outcome {
  auto expected = in.scn.expect.connect;
  if (expected == scenario::connect_outcome::any && in.scn.client.protocol == 3 &&
      in.scn.client.mode == scenario::sch_mode::automatic) {
    expected = scenario::connect_outcome::succeeds;  // auto mode must stay silent
  }
  return expected;
}

void judge_connect(const check_input& in, scenario::connect_outcome expected, v::check_result& r) {
  if (expected == scenario::connect_outcome::succeeds &&
      in.driver.connect == connect_result::failed) {
    v::add_finding(r, "connect_failed",
                   fmt::format("the client's connect failed ({}: {}) but must succeed",
                               in.driver.connect_error_class, in.driver.connect_message));
  }
  if (expected == scenario::connect_outcome::fails &&
      in.driver.connect == connect_result::connected) {
    v::add_finding(
        r, "connect_succeeded",
        "the client's connect succeeded but must fail (mode enabled against a server that "
        "refuses CLIENT MAINT_NOTIFICATIONS)");
  }
}

}  // namespace

auto judge_handshake(const check_input& in, const episodes& ep) -> v::check_result {
  auto r = start_result(handshake_id);
  std::size_t judged = 0;
  std::size_t opted_in = 0;
  std::vector<const tl::event*> evidence;
  for (const auto& [id, c] : ep.an.conns) {
    if (c.commands.empty()) {
      judge_silent(in, ep.an.end_ns, c, r, evidence);
      continue;
    }
    ++judged;
    opted_in += connection_judge(in, c, r, evidence).judge() ? 1 : 0;
  }
  const auto connect = expected_connect(in);
  judge_connect(in, connect, r);
  r.figures = {{"connections_judged", static_cast<double>(judged), ""},
               {"opted_in", static_cast<double>(opted_in), ""}};
  r.excerpt = excerpt(evidence);
  if (judged == 0 && r.findings.empty()) {
    if (connect == scenario::connect_outcome::fails &&
        in.driver.connect == connect_result::failed) {
      r.outcome = v::status::pass;
      r.summary = "connect failed as required and no connection carried commands";
      return r;
    }
    return judged_nothing(r, "no connection sent any command");
  }
  return fail_or_pass(r, fmt::format("{} connection{} handshaken correctly, {} opted in", judged,
                                     judged == 1 ? "" : "s", opted_in));
}

}  // namespace schsim::harness::detail
