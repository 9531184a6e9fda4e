#include <schsim/core/scenario/model.hpp>

#include <algorithm>
#include <type_traits>

namespace schsim::scenario {

auto topology::find(std::string_view name) const -> const endpoint* {
  const auto it = std::ranges::find(endpoints, name, &endpoint::name);
  return it == endpoints.end() ? nullptr : &*it;
}

auto scenario::find_step(std::string_view id) const -> const step* {
  const auto it = std::ranges::find(steps, id, &step::id);
  return it == steps.end() ? nullptr : &*it;
}

auto known_commands() -> const std::vector<std::string_view>& {
  static const std::vector<std::string_view> names = {"set", "get",    "incr",
                                                      "del", "exists", "ping"};
  return names;
}

auto known_checks() -> const std::vector<std::string_view>& {
  static const std::vector<std::string_view> names = {
      "handshake",        "silent_fallback",   "no_errors",
      "no_lost_commands", "relaxed_timeouts",  "handoff",
      "final_endpoint",   "reconnects",        "latency",
      "error_rate",       "idle_connections",  "seq_handling",
      "topology_refresh", "removed_node",      "removed_node_traffic",
      "pubsub",           "pubsub_continuity", "blocking",
      "blocking_commands", "transactions"};
  return names;
}

auto action_name(const action& a) -> std::string_view {
  return std::visit(
      [](const auto& x) -> std::string_view {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, send_action>) {
          return "send";
        } else if constexpr (std::is_same_v<T, raw_action>) {
          return "raw";
        } else if constexpr (std::is_same_v<T, latency_action>) {
          return "latency";
        } else if constexpr (std::is_same_v<T, stall_action>) {
          return "stall";
        } else if constexpr (std::is_same_v<T, release_action>) {
          return "release";
        } else if constexpr (std::is_same_v<T, fragment_action>) {
          return "fragment";
        } else if constexpr (std::is_same_v<T, close_action>) {
          return "close";
        } else if constexpr (std::is_same_v<T, accept_action>) {
          return "accept";
        } else if constexpr (std::is_same_v<T, clear_active_action>) {
          return "clear_active";
        } else if constexpr (std::is_same_v<T, begin_slot_migration_action>) {
          return "begin_slot_migration";
        } else if constexpr (std::is_same_v<T, complete_slot_migration_action>) {
          return "complete_slot_migration";
        } else if constexpr (std::is_same_v<T, moving_lifecycle_action>) {
          return "moving_lifecycle";
        } else if constexpr (std::is_same_v<T, rolling_upgrade_action>) {
          return "rolling_upgrade";
        } else if constexpr (std::is_same_v<T, in_place_upgrade_action>) {
          return "in_place_upgrade";
        } else if constexpr (std::is_same_v<T, maintenance_mode_action>) {
          return "maintenance_mode";
        } else if constexpr (std::is_same_v<T, migrate_action>) {
          return "migrate";
        } else if constexpr (std::is_same_v<T, failover_action>) {
          return "failover";
        } else if constexpr (std::is_same_v<T, slot_migration_action>) {
          return "slot_migration";
        } else if constexpr (std::is_same_v<T, remove_node_action>) {
          return "remove_node";
        } else if constexpr (std::is_same_v<T, add_node_action>) {
          return "add_node";
        } else {
          static_assert(std::is_same_v<T, slot_shuffle_action>);
          return "slot_shuffle";
        }
      },
      a);
}

auto is_composite(const action& a) -> bool {
  return std::holds_alternative<moving_lifecycle_action>(a) ||
         std::holds_alternative<rolling_upgrade_action>(a) ||
         std::holds_alternative<in_place_upgrade_action>(a) ||
         std::holds_alternative<maintenance_mode_action>(a) ||
         std::holds_alternative<migrate_action>(a) || std::holds_alternative<failover_action>(a) ||
         std::holds_alternative<slot_migration_action>(a) ||
         std::holds_alternative<remove_node_action>(a) ||
         std::holds_alternative<add_node_action>(a) ||
         std::holds_alternative<slot_shuffle_action>(a);
}

auto to_string(endpoint_state s) -> std::string_view {
  switch (s) {
    case endpoint_state::up:
      return "up";
    case endpoint_state::down:
      return "down";
    case endpoint_state::not_accepting:
      return "not_accepting";
    case endpoint_state::blackhole:
      return "blackhole";
  }
  return "?";
}

auto to_string(sch_mode m) -> std::string_view {
  switch (m) {
    case sch_mode::automatic:
      return "auto";
    case sch_mode::enabled:
      return "enabled";
    case sch_mode::disabled:
      return "disabled";
  }
  return "?";
}

auto to_string(endpoint_type t) -> std::string_view {
  switch (t) {
    case endpoint_type::automatic:
      return "auto";
    case endpoint_type::internal_ip:
      return "internal-ip";
    case endpoint_type::internal_fqdn:
      return "internal-fqdn";
    case endpoint_type::external_ip:
      return "external-ip";
    case endpoint_type::external_fqdn:
      return "external-fqdn";
    case endpoint_type::none:
      return "none";
  }
  return "?";
}

auto to_string(handshake_outcome o) -> std::string_view {
  switch (o) {
    case handshake_outcome::any:
      return "any";
    case handshake_outcome::accepted:
      return "accepted";
    case handshake_outcome::rejected:
      return "rejected";
    case handshake_outcome::not_sent:
      return "not_sent";
  }
  return "?";
}

auto to_string(connect_outcome o) -> std::string_view {
  switch (o) {
    case connect_outcome::any:
      return "any";
    case connect_outcome::succeeds:
      return "succeeds";
    case connect_outcome::fails:
      return "fails";
  }
  return "?";
}

auto to_string(subscribe_kind k) -> std::string_view {
  switch (k) {
    case subscribe_kind::channel:
      return "channel";
    case subscribe_kind::pattern:
      return "pattern";
    case subscribe_kind::shard:
      return "shard";
  }
  return "?";
}

auto to_string(blocking_command c) -> std::string_view {
  switch (c) {
    case blocking_command::blpop:
      return "blpop";
    case blocking_command::brpop:
      return "brpop";
  }
  return "?";
}

auto to_string(observed_counter c) -> std::string_view {
  switch (c) {
    case observed_counter::handshakes:
      return "handshakes";
    case observed_counter::connections:
      return "connections";
    case observed_counter::commands:
      return "commands";
  }
  return "?";
}

auto to_string(close_mode m) -> std::string_view { return m == close_mode::fin ? "fin" : "rst"; }

auto to_string(close_point p) -> std::string_view {
  return p == close_point::between_frames ? "between_frames" : "mid_frame";
}

auto to_string(smigrated_scope s) -> std::string_view {
  return s == smigrated_scope::source ? "source" : "all";
}

}  // namespace schsim::scenario
