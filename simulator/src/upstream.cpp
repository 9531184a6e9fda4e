#include <schsim/simulator/upstream.hpp>

#include <boost/algorithm/string/predicate.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace schsim::simulator {
namespace {

using boost::algorithm::iequals;

using namespace std::string_view_literals;

// CLIENT subcommands about the connection itself, which schsim answers: the handshake
// (MAINT_NOTIFICATIONS, SETINFO, SETNAME) and what reads it back. The others (TRACKING,
// CACHING, REPLY, NO-EVICT, ...) change how the upstream treats the connection: forwarded.
constexpr std::array local_client_subcommands = {"maint_notifications"sv,
                                                 "setinfo"sv,
                                                 "setname"sv,
                                                 "getname"sv,
                                                 "id"sv,
                                                 "info"sv,
                                                 "list"sv,
                                                 "help"sv};

auto is_local_client_subcommand(std::string_view sub) -> bool {
  return std::any_of(local_client_subcommands.begin(), local_client_subcommands.end(),
                     [&](std::string_view s) { return iequals(s, sub); });
}

// HELLO [protover [AUTH user pass] [SETNAME name]]: the upstream gets only the protocol, so its
// replies come in the client's protocol; authentication and the name stay schsim's.
auto hello_for_upstream(std::span<const std::string_view> args) -> std::vector<std::string> {
  std::vector<std::string> up{"HELLO"};
  if (args.size() >= 2) {
    up.emplace_back(args[1]);
  }
  return up;
}

template <class Arg>
auto encode(std::span<const Arg> args) -> std::string {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out.append(a.data(), a.size());
    out += "\r\n";
  }
  return out;
}

}  // namespace

auto route_command(std::span<const std::string_view> args) -> proxy_decision {
  if (args.empty()) {
    return {proxy_route::local, {}};
  }
  const std::string_view name = args[0];
  if (iequals(name, "hello")) {
    return {proxy_route::both, hello_for_upstream(args)};
  }
  if (iequals(name, "reset")) {
    return {proxy_route::both, {"RESET"}};
  }
  if (iequals(name, "auth") || iequals(name, "quit")) {
    return {proxy_route::local, {}};
  }
  if (iequals(name, "client") && args.size() >= 2 && is_local_client_subcommand(args[1])) {
    return {proxy_route::local, {}};
  }
  return {proxy_route::upstream, {}};
}

auto encode_command(std::span<const std::string> args) -> std::string { return encode(args); }
auto encode_command(std::span<const std::string_view> args) -> std::string { return encode(args); }

upstream_frames::upstream_frames(resp3::parser_limits limits) : parser_(limits) {}

void upstream_frames::feed(std::string_view bytes) {
  if (parser_.failed()) {
    return;
  }
  pending_.append(bytes);
  parser_.feed(bytes);
}

auto upstream_frames::next() -> std::optional<upstream_frame> {
  const std::size_t before = parser_.buffered();
  auto v = parser_.next();
  if (!v) {
    return std::nullopt;
  }
  // The parser consumed `before - after` bytes from the front of what was pending: the frame
  // (with any attribute in front of it), exactly as the upstream wrote it.
  const std::size_t used = before - parser_.buffered();
  upstream_frame f{pending_.substr(0, used), v->kind == resp3::type::push};
  pending_.erase(0, used);
  return f;
}

}  // namespace schsim::simulator
