#pragma once
/**
 * @file
 * @brief The Redis fault injector's actions, mapped onto scenario steps (sans-I/O).
 *
 * A fault-injector action (`POST /action {type, parameters}`) becomes one or more scenario
 * steps (the composites the scenario files use: failover, migrate, moving_lifecycle,
 * remove_node, ...) triggered "at now", expanded with scenario::expand() exactly as a TOML step
 * is, and handed to the scenario engine. So an action's timing, seqs, replay to new connections
 * and its timeline are those of the same step in a scenario file. plan_action() is that mapping;
 * it reads the served deployment and the fault injector's own state (which endpoint the database
 * is bound to now, who owns which slots once the planned migrations have run) and touches no
 * socket, so it is tested step by step.
 */

#include <schsim/core/cluster/slots.hpp>
#include <schsim/core/scenario/model.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace schsim::control {

/// One endpoint of the served deployment, as the fault injector describes it.
struct served_endpoint {
  std::string name{};
  std::string host{};
  std::string fqdn{};
  std::uint16_t port = 0;
  std::vector<std::string> shards = {"1"};
  /// Cluster mode: the slots it owns when the server started.
  schsim::cluster::slot_set slots{};
  [[nodiscard]] auto address() const -> std::string { return host + ":" + std::to_string(port); }
};

/// What `schsim serve` serves: the database the fault injector "manages".
struct deployment {
  std::string scenario_id;
  bool cluster = false;
  /// The endpoint clients are configured with (the database endpoint; the seed node).
  std::string start;
  std::vector<served_endpoint> endpoints;
  std::string username = "default";
  /// The start endpoint's requirepass (empty: no AUTH).
  std::string password;

  [[nodiscard]] auto find(std::string_view name) const -> const served_endpoint*;
};

/// A database create_database handed out (all of them are the served deployment).
struct database_entry {
  std::int64_t bdb_id = 0;
  std::string name;
};

/// The fault injector's state across actions.
struct fi_state {
  /// Where the database endpoint points now: `bind` moves it to the next endpoint.
  std::string active_endpoint;
  /// Cluster mode: slot ownership once every action planned so far has run; spare nodes map to
  /// an empty set.
  std::map<std::string, schsim::cluster::slot_set, std::less<>> owned;
  /// update_cluster_config's client_maint_notifications.
  bool maint_notifications = true;
  std::map<std::int64_t, database_entry> databases;
  std::int64_t next_bdb_id = 1;
  /// The seq of the next notification an action sends. Numbered here, at planning, as the real
  /// fault injector numbers them (from 1001): an action's closing notification always carries
  /// its opening one's seq + 1, even while other actions run.
  std::int64_t next_seq = 1001;

  static auto initial(const deployment& d) -> fi_state;
};

/// What an accepted action will do.
struct action_plan {
  /// Primitive steps (already expanded), ids prefixed with the action id, due at "now".
  std::vector<scenario::step> steps;
  /// The action's `output` once it has succeeded.
  nlohmann::json output = nlohmann::json::object();
  /// One line for the log and the timeline, e.g. "failover on node-a".
  std::string summary;
};

/// Why an action was not planned. `rejected`: the request itself is wrong (HTTP 400, no action
/// is created); otherwise the action exists and ends `failed` with this message, as the real
/// fault injector reports a valid request it cannot carry out.
struct plan_error {
  bool rejected = false;
  std::string message;
};

using plan_result = std::variant<action_plan, plan_error>;

/// Every action type plan_action() accepts, sorted.
auto known_action_types() -> const std::vector<std::string_view>&;

/// The durations and times the actions use; the defaults are those of the fault injector the
/// clients' suites expect (go-redis's mock: failover 1 s, migrate 500 ms, MOVING time 5 s;
/// SMIGRATING to SMIGRATED 500 ms).
struct fi_timing {
  std::chrono::milliseconds failover_for{1000};
  std::chrono::milliseconds migrate_for{500};
  std::int64_t notification_time_s = 5;
  std::int64_t moving_time_s = 5;
  /// Longer than the mock's 500 ms: go-redis's ClusterNewConnectionsReceiveNotifications opens a
  /// client 200 ms after the POST and needs the SMIGRATING replayed to it before SMIGRATED.
  std::chrono::milliseconds slot_migrate_for{2000};
  std::chrono::milliseconds restart_downtime{1000};
};

/**
 * Maps one fault-injector action onto scenario steps. `action_id` prefixes every step id.
 * `parameters` as the clients send them (bdb_id and cluster_index as numbers or strings;
 * node-redis's `bdbId` and per-action `params` in sequence_of_actions). Updates `state` (the
 * bound endpoint, planned slot ownership, databases) only when it returns a plan.
 */
auto plan_action(std::string_view action_id, std::string_view type,
                 const nlohmann::json& parameters, const deployment& d, fi_state& state,
                 const fi_timing& timing = {}) -> plan_result;

/// `rladmin status` as Redis Enterprise prints it (the sections redis-py and Lettuce parse).
auto rladmin_status(const deployment& d, const fi_state& state) -> std::string;

/// A Go duration string ("100ms", "1.5s", "2m") or a number of milliseconds.
auto parse_fi_duration(const nlohmann::json& value) -> std::optional<std::chrono::milliseconds>;

/// The `create_database` output: the endpoint the database is bound to now (`bind` moves it) as
/// the clients' endpoint config.
auto database_output(const deployment& d, const fi_state& state, const database_entry& db)
    -> nlohmann::json;

/// `GET /slot-migrate` and `GET /topology-change-standalone`: the triggers for an effect with
/// the database configuration they need (effect names as in control-apis.md §1.1 E4/E6).
/// nullopt for an unknown effect.
auto slot_migrate_triggers(std::string_view effect, const deployment& d)
    -> std::optional<nlohmann::json>;
auto standalone_triggers(std::string_view effect, const deployment& d)
    -> std::optional<nlohmann::json>;
auto known_slot_migrate_effects() -> const std::vector<std::string_view>&;
auto known_standalone_effects() -> const std::vector<std::string_view>&;

}  // namespace schsim::control
