#include "text_util.hpp"

#include <fmt/format.h>

#include <cmath>

namespace schsim::reports::detail {

namespace {

auto join_args(const std::vector<std::string>& args) -> std::string {
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) {
      out += ' ';
    }
    out += a;
  }
  return out;
}
}  // namespace

auto escape_xml(std::string_view s) -> std::string {
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') {
          out += "?";
        } else {
          out += ch;
        }
    }
  }
  return out;
}

auto format_duration(std::int64_t ns) -> std::string {
  const double abs_ns = std::fabs(static_cast<double>(ns));
  if (abs_ns >= 1e9) {
    return fmt::format("{:.3f} s", static_cast<double>(ns) / 1e9);
  }
  if (abs_ns >= 1e6) {
    return fmt::format("{:.1f} ms", static_cast<double>(ns) / 1e6);
  }
  return fmt::format("{:.0f} us", static_cast<double>(ns) / 1e3);
}

auto format_offset(std::int64_t t_ns, std::int64_t origin_ns) -> std::string {
  return fmt::format("{:+.1f} ms", static_cast<double>(t_ns - origin_ns) / 1e6);
}

auto slug(std::string_view s) -> std::string {
  std::string out;
  for (const char ch : s) {
    const bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
    out += keep ? ch : '_';
  }
  if (out.size() > 60) {
    out.resize(60);
  }
  return out.empty() ? std::string("_") : out;
}

namespace {

namespace tl = schsim::timeline;

// One line per event kind, one function per kind: describe_event() dispatches on the
// alternative held.
auto describe_kind(const tl::connection_opened& d) -> std::string {
  return fmt::format("opened from {}", d.peer);
}
auto describe_kind(const tl::connection_closed& d) -> std::string {
  return fmt::format("closed by {} ({}){}",
                     d.by == tl::close_initiator::client ? "client" : "server",
                     d.how == tl::close_how::fin   ? "FIN"
                     : d.how == tl::close_how::rst ? "RST"
                                                   : "error",
                     d.reason.empty() ? "" : ": " + d.reason);
}
auto describe_kind(const tl::hello& d) -> std::string {
  return fmt::format("HELLO {} {}{}", d.protover, d.accepted ? "accepted" : "rejected",
                     d.error.empty() ? "" : " (" + d.error + ")");
}
auto describe_kind(const tl::maint_handshake& d) -> std::string {
  return fmt::format("CLIENT MAINT_NOTIFICATIONS {}{} -> {} (RESP{})", d.enable ? "ON" : "OFF",
                     d.endpoint_type ? " moving-endpoint-type " + *d.endpoint_type : "",
                     d.accepted ? "OK" : d.reply, d.protocol);
}
auto describe_kind(const tl::command_received& d) -> std::string {
  return fmt::format("command #{} [{}]", d.index, join_args(d.args));
}
auto describe_kind(const tl::reply_written& d) -> std::string {
  return fmt::format("reply #{} {}", d.index, d.summary);
}
auto describe_kind(const tl::push_written& d) -> std::string {
  return fmt::format("push {} seq {}{}{}", d.name, d.seq,
                     d.time_s ? fmt::format(" time {} s", *d.time_s) : "",
                     d.step.empty() ? "" : " (step " + d.step + ")");
}
auto describe_kind(const tl::protocol_error& d) -> std::string {
  return fmt::format("protocol error at byte {}: {}", d.offset, d.message);
}
auto describe_kind(const tl::step_executed& d) -> std::string {
  return fmt::format("step {} {}{}", d.step, d.action, d.detail.empty() ? "" : ": " + d.detail);
}
auto describe_kind(const tl::note& d) -> std::string { return d.text; }
auto describe_kind(const tl::cluster_redirect& d) -> std::string {
  return fmt::format("{} answered -{} {} {} (node {})", d.command,
                     d.what == tl::cluster_redirect::kind::moved ? "MOVED" : "ASK", d.slot,
                     d.address, d.target);
}
auto describe_kind(const tl::slot_migration_started& d) -> std::string {
  return fmt::format("slots {} start migrating {} -> {}", d.slots, d.from, d.to);
}
auto describe_kind(const tl::slot_migration_completed& d) -> std::string {
  return fmt::format("slots {} migrated {} -> {}", d.slots, d.from, d.to);
}
auto describe_kind(const tl::tls_handshake& d) -> std::string {
  if (!d.tls) {
    return d.error.empty() ? std::string("plaintext on a TLS endpoint")
                           : fmt::format("plaintext refused: {}", d.error);
  }
  const std::string sni = d.sni.empty() ? std::string("no SNI") : "SNI " + d.sni;
  if (!d.completed) {
    return fmt::format("TLS handshake failed ({}): {}", sni, d.error);
  }
  return fmt::format("TLS {} ({}{})", d.version, sni,
                     d.client_certificate ? ", client certificate" : "");
}
auto describe_kind(const tl::transaction_ended& d) -> std::string {
  return fmt::format("transaction (MULTI #{}) {} at #{}: {} command(s) queued{}", d.multi_index,
                     tl::outcome_name(d.result), d.end_index, d.commands.size(),
                     d.errors > 0 ? fmt::format(", {} error(s)", d.errors) : "");
}
auto describe_kind(const tl::pubsub_published& d) -> std::string {
  return fmt::format("{} {} ({} bytes{}) to {} receiver(s)", d.sharded ? "SPUBLISH" : "PUBLISH",
                     d.channel, d.bytes, d.seq ? fmt::format(", seq {}", *d.seq) : "", d.receivers);
}
auto describe_kind(const tl::pubsub_delivered& d) -> std::string {
  return fmt::format("{} {}{} delivered ({} bytes{})",
                     d.sharded           ? "smessage"
                     : d.pattern.empty() ? "message"
                                         : "pmessage",
                     d.channel, d.pattern.empty() ? "" : " via " + d.pattern, d.bytes,
                     d.seq ? fmt::format(", seq {}", *d.seq) : "");
}
auto describe_kind(const tl::list_pushed& d) -> std::string {
  return fmt::format("{} pushed onto list {}{}", d.element, d.key,
                     d.producer ? " by the producer" : "");
}
auto describe_kind(const tl::list_popped& d) -> std::string {
  if (d.result == tl::list_popped::outcome::lost) {
    return fmt::format(
        "{} popped from list {} by #{} was lost (closed before the reply was written)", d.element,
        d.key, d.command);
  }
  return fmt::format("{} popped from list {} written in the reply to #{}", d.element, d.key,
                     d.command);
}

}  // namespace

auto describe_event(const timeline::event& e) -> std::string {
  return std::visit([](const auto& d) { return describe_kind(d); }, e.what);
}

auto format_number(double v) -> std::string {
  if (!std::isfinite(v)) {
    return fmt::format("{}", v);
  }
  std::string out = fmt::format("{:.3f}", v);
  // Trailing zeros carry no information and make golden files noisy.
  while (!out.empty() && out.back() == '0') {
    out.pop_back();
  }
  if (!out.empty() && out.back() == '.') {
    out.pop_back();
  }
  return out == "-0" ? "0" : out;
}

auto format_band(const verdict::tolerance& t) -> std::string {
  const std::string low = t.low ? format_number(*t.low) : "-inf";
  const std::string high = t.high ? format_number(*t.high) : "inf";
  return fmt::format("[{}, {}){}{}", low, high, t.unit.empty() ? "" : " ", t.unit);
}

auto case_duration_ns(const verdict::case_result& c) -> std::int64_t {
  return c.end_ns > c.start_ns ? c.end_ns - c.start_ns : 0;
}

}  // namespace schsim::reports::detail
