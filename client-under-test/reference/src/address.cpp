#include <schsim/refclient/address.hpp>

#include <charconv>

namespace schsim::refclient {

auto address::to_string() const -> std::string {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

auto operator<<(std::ostream& os, const address& a) -> std::ostream& { return os << a.to_string(); }

auto parse_address(std::string_view text) -> std::optional<address> {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty()) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return address{std::string{host}, static_cast<std::uint16_t>(value)};
}

}  // namespace schsim::refclient
