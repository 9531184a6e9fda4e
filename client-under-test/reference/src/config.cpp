#include <schsim/refclient/address.hpp>
#include <schsim/refclient/config.hpp>

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace schsim::refclient {

namespace {

constexpr std::array<std::pair<maint_mode, std::string_view>, 3> mode_names{{
    {maint_mode::disabled, "disabled"},
    {maint_mode::enabled, "enabled"},
    {maint_mode::automatic, "auto"},
}};

constexpr std::array<std::pair<endpoint_type, std::string_view>, 6> endpoint_type_names{{
    {endpoint_type::automatic, "auto"},
    {endpoint_type::internal_ip, "internal-ip"},
    {endpoint_type::internal_fqdn, "internal-fqdn"},
    {endpoint_type::external_ip, "external-ip"},
    {endpoint_type::external_fqdn, "external-fqdn"},
    {endpoint_type::none, "none"},
}};

auto is_internal_v4(const boost::asio::ip::address_v4& a) -> bool {
  const auto b = a.to_bytes();
  return b[0] == 10                                // RFC1918
         || (b[0] == 172 && (b[1] & 0xF0) == 16)   // RFC1918 172.16/12
         || (b[0] == 192 && b[1] == 168)           // RFC1918
         || b[0] == 127                            // loopback
         || (b[0] == 169 && b[1] == 254)           // link-local
         || (b[0] == 100 && (b[1] & 0xC0) == 64);  // RFC6598 100.64/10
}

auto is_internal_v6(const boost::asio::ip::address_v6& a) -> bool {
  if (a.is_v4_mapped()) {
    return is_internal_v4(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a));
  }
  const auto b = a.to_bytes();
  return a.is_loopback() || a.is_link_local() || (b[0] & 0xFE) == 0xFC;  // RFC4193 fc00::/7
}

}  // namespace

auto to_string(maint_mode m) -> std::string_view {
  for (const auto& [mode, name] : mode_names) {
    if (mode == m) return name;
  }
  return "?";
}

auto to_string(endpoint_type t) -> std::string_view {
  for (const auto& [type, name] : endpoint_type_names) {
    if (type == t) return name;
  }
  return "?";
}

auto parse_maint_mode(std::string_view s) -> std::optional<maint_mode> {
  for (const auto& [mode, name] : mode_names) {
    if (name == s) return mode;
  }
  return std::nullopt;
}

auto parse_endpoint_type(std::string_view s) -> std::optional<endpoint_type> {
  for (const auto& [type, name] : endpoint_type_names) {
    if (name == s) return type;
  }
  return std::nullopt;
}

auto resolve_max_workers(int pool_size, int configured) -> int {
  int workers = std::min(pool_size / 2, std::max(10, pool_size / 3));
  if (configured > 0) workers = std::max(pool_size / 2, configured);
  return std::max(1, workers);
}

auto resolve_handoff_queue_size(int pool_size, int max_active_conns, int workers, int configured)
    -> int {
  int size = 0;
  if (configured > 0) {
    size = std::max(200, configured);
  } else {
    size = std::max(20 * workers, pool_size);
    size =
        max_active_conns > 0 ? std::min(size, max_active_conns + 1) : std::min(size, 5 * pool_size);
  }
  return std::max(2, size);
}

auto detect_endpoint_type(std::string_view host, transport_security security) -> endpoint_type {
  const bool tls = security == transport_security::tls;
  std::string h{host};
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(h, ec);
  bool internal = false;
  if (!ec) {
    internal = ip.is_v4() ? is_internal_v4(ip.to_v4()) : is_internal_v6(ip.to_v6());
  } else {
    internal = h == "localhost" || h.find('.') == std::string::npos;
  }
  if (tls) return internal ? endpoint_type::internal_fqdn : endpoint_type::external_fqdn;
  return internal ? endpoint_type::internal_ip : endpoint_type::external_ip;
}

auto resolve(const client_config& config) -> std::variant<resolved_config, config_error> {
  if (config.protocol != 2 && config.protocol != 3) {
    return config_error{"protocol must be 2 or 3, not " + std::to_string(config.protocol)};
  }
  if (config.pool_size < 1) return config_error{"pool_size must be at least 1"};
  if (config.host.empty()) return config_error{"host must not be empty"};
  if (config.protocol == 2 && config.maint.mode == maint_mode::enabled) {
    // As redis-py, node-redis and Jedis: refuse at configuration rather than silently run
    // without notifications (go-redis builds no manager and sends nothing).
    return config_error{"maintenance notifications are only supported with RESP3 (protocol 3)"};
  }
  const auto& m = config.maint;
  if (m.max_handoff_retries < 1 || m.max_handoff_retries > 10) {
    return config_error{"max_handoff_retries must be in 1..10"};
  }
  if (m.relaxed_timeout.count() <= 0) return config_error{"relaxed_timeout must be positive"};
  if (m.handoff_timeout.count() <= 0) return config_error{"handoff_timeout must be positive"};
  if (config.read_timeout.count() <= 0 || config.write_timeout.count() <= 0 ||
      config.dial_timeout.count() <= 0) {
    return config_error{"read, write and dial timeouts must be positive"};
  }
  if (config.tls) {
    if (config.security != transport_security::tls) {
      return config_error{"tls settings given but security is plain"};
    }
    if (config.tls->ca_file.empty()) return config_error{"tls.ca_file is required"};
    if (config.tls->server_name.empty()) return config_error{"tls.server_name is required"};
    if (config.tls->cert_file.empty() != config.tls->key_file.empty()) {
      return config_error{"tls.cert_file and tls.key_file go together"};
    }
  }

  resolved_config r;
  r.config = config;
  // Broken ip-endpoint-type-under-tls: the host alone decides, as if the transport were plain.
  const auto detect_as = config.broken.has(broken_mode::ip_endpoint_type_under_tls)
                             ? transport_security::plain
                             : config.security;
  r.moving_endpoint_type = m.moving_endpoint_type == endpoint_type::automatic
                               ? detect_endpoint_type(config.host, detect_as)
                               : m.moving_endpoint_type;
  r.max_workers = resolve_max_workers(config.pool_size, m.max_workers);
  r.handoff_queue_size = resolve_handoff_queue_size(config.pool_size, config.max_active_conns,
                                                    r.max_workers, m.handoff_queue_size);
  r.post_handoff_relaxed_duration = m.post_handoff_relaxed_duration.count() > 0
                                        ? m.post_handoff_relaxed_duration
                                        : 2 * m.relaxed_timeout;
  r.queue_timeout = config.queue_timeout.count() > 0 ? config.queue_timeout
                                                     : m.handoff_timeout + config.dial_timeout;
  return r;
}

}  // namespace schsim::refclient
