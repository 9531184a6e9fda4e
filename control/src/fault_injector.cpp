#include <schsim/control/fault_injector.hpp>
#include <schsim/core/scenario/expand.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <sstream>
#include <type_traits>

namespace schsim::control {
namespace {

namespace sc = schsim::scenario;
using json = nlohmann::json;
using schsim::cluster::slot_set;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Loose JSON reading: the clients send ids as numbers or strings.

auto as_int(const json& v) -> std::optional<std::int64_t> {
  if (v.is_number_integer()) {
    return v.get<std::int64_t>();
  }
  if (v.is_number_float()) {
    return static_cast<std::int64_t>(v.get<double>());
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc{} && end == s.data() + s.size()) {
      return out;
    }
  }
  return std::nullopt;
}

auto text_of(const json& v) -> std::string {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_null()) {
    return {};
  }
  return v.dump();
}

auto field(const json& params, std::string_view key) -> const json* {
  if (!params.is_object()) {
    return nullptr;
  }
  const auto it = params.find(key);
  return it == params.end() || it->is_null() ? nullptr : &*it;
}

auto rejected(std::string message) -> plan_error { return plan_error{true, std::move(message)}; }
auto failed(std::string message) -> plan_error { return plan_error{false, std::move(message)}; }

auto addresses(const deployment& d, const std::vector<std::string>& names) -> json {
  json out = json::array();
  for (const auto& n : names) {
    if (const auto* e = d.find(n)) {
      out.push_back(e->address());
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One action as composite steps, before expansion.

struct composed {
  std::vector<sc::step> composites;
  json output = json::object();
  std::string summary;
};

using compose_result = std::variant<composed, plan_error>;

struct compose_context {
  std::string id;
  const json& params;
  const deployment& d;
  fi_state& state;
  const fi_timing& timing;
};

auto at_now(std::string id, sc::action what) -> sc::step {
  return sc::step{std::move(id), sc::at_time{}, std::move(what), 0};
}

// The endpoint after `current` in topology order (wrapping); nullopt with a single endpoint.
auto next_endpoint(const deployment& d, const std::string& current) -> std::optional<std::string> {
  if (d.endpoints.size() < 2) {
    return std::nullopt;
  }
  const auto it = std::ranges::find(d.endpoints, current, &served_endpoint::name);
  const auto index = it == d.endpoints.end() ? 0 : (it - d.endpoints.begin() + 1);
  return d.endpoints[static_cast<std::size_t>(index) % d.endpoints.size()].name;
}

auto standalone_only(const compose_context& c, std::string_view type) -> std::optional<plan_error> {
  if (c.d.cluster) {
    return failed(std::string(type) +
                  " acts on a standalone database endpoint; the served topology (scenario " +
                  c.d.scenario_id + ") is an OSS cluster: use slot_migrate");
  }
  return std::nullopt;
}

auto compose_failover(const compose_context& c) -> compose_result {
  sc::failover_action a;
  a.endpoint = c.state.active_endpoint;
  a.time_s = c.timing.notification_time_s;
  a.duration = c.timing.failover_for;
  composed out;
  out.composites.push_back(at_now(c.id, a));
  out.summary = "failover on " + a.endpoint;
  out.output = {{"endpoint", a.endpoint}};
  return out;
}

auto compose_migrate(const compose_context& c) -> compose_result {
  sc::migrate_action a;
  a.endpoint = c.state.active_endpoint;
  a.time_s = c.timing.notification_time_s;
  a.duration = c.timing.migrate_for;
  composed out;
  out.composites.push_back(at_now(c.id, a));
  out.summary = "migrate on " + a.endpoint;
  out.output = {{"endpoint", a.endpoint}};
  return out;
}

auto compose_moving(const compose_context& c, std::optional<std::string> to, std::string_view what)
    -> compose_result {
  if (auto e = standalone_only(c, what)) {
    return *e;
  }
  sc::moving_lifecycle_action m;
  m.from = c.state.active_endpoint;
  m.to = std::move(to);
  m.time_s = c.timing.moving_time_s;
  composed out;
  out.composites.push_back(at_now(c.id, m));
  out.summary = std::string(what) + " " + m.from + " -> " + m.to.value_or("(same address)");
  out.output = {{"from", m.from}, {"to", m.to ? json(*m.to) : json(nullptr)}};
  if (m.to) {
    if (const auto* e = c.d.find(*m.to)) {
      out.output["new_addr"] = e->address();
    }
    c.state.active_endpoint = *m.to;
  }
  return out;
}

auto compose_bind(const compose_context& c) -> compose_result {
  return compose_moving(c, next_endpoint(c.d, c.state.active_endpoint), "bind");
}

// node_id: "node:2", "2", 2 (1-based, topology order) or an endpoint name.
auto endpoint_of_node(const deployment& d, const json* node) -> std::optional<std::string> {
  if (node == nullptr) {
    return std::nullopt;
  }
  auto text = text_of(*node);
  if (text.starts_with("node:")) {
    text = text.substr(5);
  }
  if (const auto n = as_int(json(text)); n && *n >= 1 && *n <= std::ssize(d.endpoints)) {
    return d.endpoints[static_cast<std::size_t>(*n - 1)].name;
  }
  if (d.find(text) != nullptr) {
    return text;
  }
  return std::nullopt;
}

auto node_or_active(const compose_context& c, std::string_view key)
    -> std::variant<std::string, plan_error> {
  const auto* node = field(c.params, key);
  if (node == nullptr) {
    return c.state.active_endpoint;
  }
  if (auto name = endpoint_of_node(c.d, node)) {
    return *name;
  }
  return rejected(std::string(key) + " " + text_of(*node) + ": no such node (node:1.." +
                  std::to_string(c.d.endpoints.size()) + " or an endpoint name)");
}

auto compose_network_latency(const compose_context& c) -> compose_result {
  const auto* latency = field(c.params, "latency");
  const auto delay = latency ? parse_fi_duration(*latency) : std::nullopt;
  if (!delay) {
    return rejected("network_latency needs `latency`, a duration such as \"100ms\"");
  }
  auto node = node_or_active(c, "node_id");
  if (auto* e = std::get_if<plan_error>(&node)) {
    return *e;
  }
  sc::latency_action a;
  a.endpoint = std::get<std::string>(node);
  a.delay = *delay;
  if (const auto* window = field(c.params, "duration")) {
    a.window = parse_fi_duration(*window);
    if (!a.window) {
      return rejected("network_latency: `duration` " + text_of(*window) +
                      " is not a duration such as \"5s\"");
    }
  }
  composed out;
  out.composites.push_back(at_now(c.id, a));
  out.summary = "latency " + std::to_string(a.delay.count()) + "ms on " + a.endpoint;
  out.output = {{"endpoint", a.endpoint}, {"latency_ms", a.delay.count()}};
  return out;
}

auto compose_network_restore(const compose_context& c) -> compose_result {
  composed out;
  for (const auto& e : c.d.endpoints) {
    out.composites.push_back(at_now(c.id + (out.composites.empty() ? "" : "." + e.name),
                                    sc::latency_action{e.name, milliseconds{0}, std::nullopt}));
  }
  out.summary = "latency cleared on every endpoint";
  return out;
}

auto compose_node_restart(const compose_context& c) -> compose_result {
  auto node = node_or_active(c, "node_id");
  if (auto* e = std::get_if<plan_error>(&node)) {
    return *e;
  }
  const auto endpoint = std::get<std::string>(node);
  auto everyone = sc::any_connection();
  everyone.scope = sc::target_scope::endpoint;
  everyone.endpoint = endpoint;
  composed out;
  out.composites.push_back(
      at_now(c.id, sc::close_action{everyone, sc::close_mode::fin, sc::close_point::between_frames,
                                    "node restart (fault injector)"}));
  out.composites.push_back(sc::step{c.id + ".down", sc::after_step{c.id, milliseconds{0}},
                                    sc::accept_action{endpoint, sc::endpoint_state::down}, 0});
  out.composites.push_back(sc::step{c.id + ".up", sc::after_step{c.id, c.timing.restart_downtime},
                                    sc::accept_action{endpoint, sc::endpoint_state::up}, 0});
  out.summary = "restart of " + endpoint;
  out.output = {{"endpoint", endpoint}};
  return out;
}

// --- slot_migrate -----------------------------------------------------------------------------

auto first_slots(const slot_set& slots, std::size_t n) -> slot_set {
  slot_set out;
  for (std::uint32_t s = 0; s < schsim::cluster::slot_count && n > 0; ++s) {
    if (slots.contains(static_cast<std::uint16_t>(s))) {
      out.add(static_cast<std::uint16_t>(s));
      --n;
    }
  }
  return out;
}

struct cluster_view {
  std::vector<std::string> owners;  // topology order
  std::vector<std::string> spares;
};

auto view_of(const deployment& d, const fi_state& state) -> cluster_view {
  cluster_view v;
  for (const auto& e : d.endpoints) {
    const auto it = state.owned.find(e.name);
    (it != state.owned.end() && !it->second.empty() ? v.owners : v.spares).push_back(e.name);
  }
  return v;
}

auto pick(const compose_context& c, std::string_view key, const std::vector<std::string>& among,
          bool last) -> std::optional<std::string> {
  if (const auto* node = field(c.params, key)) {
    auto name = endpoint_of_node(c.d, node);
    if (name && std::ranges::find(among, *name) != among.end()) {
      return name;
    }
    return std::nullopt;
  }
  if (among.empty()) {
    return std::nullopt;
  }
  return last ? among.back() : among.front();
}

/// One slot_migrate effect being planned: its request, the cluster as it stands, what it adds.
struct slot_migrate_plan {
  const compose_context& c;
  const cluster_view& v;
  const std::string& effect;
  composed& out;

  /// The error when the cluster cannot give the effect what it needs (`ok` false).
  [[nodiscard]] auto need(bool ok, const std::string& what) const -> std::optional<plan_error> {
    if (ok) {
      return std::nullopt;
    }
    return failed("slot_migrate " + effect + ": " + what + " (scenario " + c.d.scenario_id +
                  " has " + std::to_string(v.owners.size()) + " slot owners and " +
                  std::to_string(v.spares.size()) + " spare nodes)");
  }
};

auto plan_remove(const slot_migrate_plan& p) -> std::optional<plan_error> {
  const auto node = pick(p.c, "source_node", p.v.owners, true);
  if (auto e = p.need(p.v.owners.size() >= 2 && node, "needs two slot owners, one to remove")) {
    return e;
  }
  sc::remove_node_action a;
  a.node = *node;
  std::ranges::copy_if(p.v.owners, std::back_inserter(a.to),
                       [&](const auto& n) { return n != *node; });
  a.migrate_for = p.c.timing.slot_migrate_for;
  p.out.composites.push_back(at_now(p.c.id, a));
  p.out.summary = "slot_migrate remove " + a.node;
  return std::nullopt;
}

auto plan_add(const slot_migrate_plan& p) -> std::optional<plan_error> {
  const auto node = pick(p.c, "target_node", p.v.spares, false);
  if (auto e = p.need(!p.v.owners.empty() && node, "needs a spare node to add")) {
    return e;
  }
  sc::add_node_action a;
  a.node = *node;
  a.from = p.v.owners;
  for (const auto& owner : p.v.owners) {
    const auto& slots = p.c.state.owned.at(owner);
    a.slots.add(first_slots(slots, slots.size() / (p.v.owners.size() + 1)));
  }
  a.migrate_for = p.c.timing.slot_migrate_for;
  p.out.composites.push_back(at_now(p.c.id, a));
  p.out.summary = "slot_migrate add " + a.node;
  return std::nullopt;
}

auto plan_remove_add(const slot_migrate_plan& p) -> std::optional<plan_error> {
  const auto node = pick(p.c, "source_node", p.v.owners, true);
  const auto spare = pick(p.c, "target_node", p.v.spares, false);
  if (auto e = p.need(node && spare, "needs a slot owner to remove and a spare node to add")) {
    return e;
  }
  p.out.composites.push_back(
      at_now(p.c.id + ".bring_up", sc::accept_action{*spare, sc::endpoint_state::up}));
  sc::remove_node_action a;
  a.node = *node;
  a.to = {*spare};
  a.migrate_for = p.c.timing.slot_migrate_for;
  p.out.composites.push_back(at_now(p.c.id, a));
  p.out.summary = "slot_migrate remove-add " + *node + " -> " + *spare;
  return std::nullopt;
}

auto plan_slot_shuffle(const slot_migrate_plan& p) -> std::optional<plan_error> {
  if (auto e = p.need(p.v.owners.size() >= 2, "needs two slot owners")) {
    return e;
  }
  const auto& x = p.v.owners[0];
  const auto& y = p.v.owners[1];
  const auto& xs = p.c.state.owned.at(x);
  const auto& ys = p.c.state.owned.at(y);
  sc::slot_shuffle_action a;
  a.moves.push_back(sc::slot_move{x, y, first_slots(xs, std::max<std::size_t>(1, xs.size() / 4))});
  a.moves.push_back(sc::slot_move{y, x, first_slots(ys, std::max<std::size_t>(1, ys.size() / 4))});
  a.migrate_for = p.c.timing.slot_migrate_for;
  p.out.composites.push_back(at_now(p.c.id, a));
  p.out.summary = "slot_migrate slot-shuffle " + x + " <-> " + y;
  return std::nullopt;
}

auto compose_slot_migrate(const compose_context& c) -> compose_result {
  const auto effect = field(c.params, "effect") ? text_of(*field(c.params, "effect")) : "";
  const auto& effects = known_slot_migrate_effects();
  if (std::ranges::find(effects, effect) == effects.end()) {
    std::string list;
    for (const auto e : effects) {
      list += (list.empty() ? "" : ", ") + std::string(e);
    }
    return rejected("slot_migrate: effect \"" + effect + "\" is not one of " + list);
  }
  if (!c.d.cluster) {
    return failed("slot_migrate needs an OSS cluster; the served topology (scenario " +
                  c.d.scenario_id + ") is standalone: serve a cluster-* scenario");
  }
  const auto v = view_of(c.d, c.state);
  composed out;
  const slot_migrate_plan plan{c, v, effect, out};
  const auto error = effect == "remove"       ? plan_remove(plan)
                     : effect == "add"        ? plan_add(plan)
                     : effect == "remove-add" ? plan_remove_add(plan)
                                              : plan_slot_shuffle(plan);
  if (error) {
    return *error;
  }
  out.output = {{"effect", effect},
                {"trigger", field(c.params, "trigger") ? text_of(*field(c.params, "trigger"))
                                                       : std::string("migrate")},
                {"nodes_before", addresses(c.d, v.owners)}};
  return out;
}

auto compose_topology_change_standalone(const compose_context& c) -> compose_result;

// --- the dispatch table --------------------------------------------------------------------

using composer = std::function<compose_result(const compose_context&)>;

auto compose_rladmin(const compose_context& c) -> compose_result;

auto step_composers() -> const std::map<std::string, composer, std::less<>>& {
  static const std::map<std::string, composer, std::less<>> table = {
      {"failover", compose_failover},
      {"migrate", compose_migrate},
      {"bind", compose_bind},
      {"network_latency", compose_network_latency},
      {"network_restore", compose_network_restore},
      {"node_restart", compose_node_restart},
      {"slot_migrate", compose_slot_migrate},
      {"topology_change_standalone", compose_topology_change_standalone},
  };
  return table;
}

auto compose(const compose_context& c, std::string_view type) -> compose_result {
  const auto& table = step_composers();
  const auto it = table.find(type);
  if (it == table.end()) {
    return rejected(std::string(type) + " cannot be part of sequence_of_actions");
  }
  return it->second(c);
}

auto compose_topology_change_standalone(const compose_context& c) -> compose_result {
  const auto effect = field(c.params, "effect") ? text_of(*field(c.params, "effect")) : "";
  const auto trigger = field(c.params, "trigger") ? text_of(*field(c.params, "trigger")) : "";
  const auto& effects = known_standalone_effects();
  if (std::ranges::find(effects, effect) == effects.end()) {
    return rejected("topology_change_standalone: unknown effect \"" + effect + "\"");
  }
  if (effect == "conn_drop") {
    return compose_bind(c);
  }
  if (effect == "dns_resolution_change") {
    return compose_moving(c, std::nullopt, "dns_resolution_change");
  }
  auto opener = trigger == "failover" ? compose_failover(c) : compose_migrate(c);
  if (effect == "data_movement_no_conn_drop" || std::holds_alternative<plan_error>(opener)) {
    return opener;
  }
  // data_movement_conn_drop: the data moves, then the endpoint does (and old connections close).
  auto moving = compose_context{c.id + ".moving", c.params, c.d, c.state, c.timing};
  auto bind = compose_bind(moving);
  if (auto* e = std::get_if<plan_error>(&bind)) {
    return *e;
  }
  auto& out = std::get<composed>(opener);
  const auto& window_end = c.id + ".end";
  for (auto st : std::get<composed>(bind).composites) {
    if (std::holds_alternative<sc::at_time>(st.start)) {
      st.start = sc::after_step{window_end, milliseconds{0}};
    }
    out.composites.push_back(std::move(st));
  }
  out.summary += ", then " + std::get<composed>(bind).summary;
  return out;
}

auto compose_rladmin(const compose_context& c) -> compose_result {
  auto command = field(c.params, "rladmin_command") ? text_of(*field(c.params, "rladmin_command"))
                                                    : std::string{};
  if (command.starts_with("rladmin ")) {
    command = command.substr(8);
  }
  if (command.starts_with("migrate")) {
    return compose_migrate(c);
  }
  if (command.starts_with("bind")) {
    return compose_bind(c);
  }
  if (command.starts_with("failover")) {
    return compose_failover(c);
  }
  return failed("rladmin " + command + ": schsim answers status, migrate, bind and failover only");
}

// ---------------------------------------------------------------------------------------------
// Expansion and sequencing.

// Expands one action's composites against the planned ownership and advances it.
auto expand_against(std::vector<sc::step> composites, const deployment& d, fi_state& state)
    -> std::vector<sc::step> {
  sc::scenario s;
  s.meta.id = d.scenario_id;
  s.topo.cluster = d.cluster;
  s.topo.start = d.start;
  for (const auto& e : d.endpoints) {
    sc::endpoint ep;
    ep.name = e.name;
    ep.host = e.host;
    ep.fqdn = e.fqdn;
    ep.port = e.port;
    ep.shards = e.shards;
    if (const auto it = state.owned.find(e.name); it != state.owned.end()) {
      ep.slots = it->second;
    }
    s.topo.endpoints.push_back(std::move(ep));
  }
  s.steps = std::move(composites);
  auto steps = sc::expand(s).steps;
  for (const auto& st : steps) {
    if (const auto* done = std::get_if<sc::complete_slot_migration_action>(&st.what)) {
      state.owned[done->from].remove(done->slots);
      state.owned[done->to].add(done->slots);
    }
  }
  return steps;
}

// The step that runs last (latest offset from the action's start; the later one among equals).
auto last_step_of(const std::vector<sc::step>& steps) -> std::string {
  std::map<std::string, milliseconds, std::less<>> offset;
  std::string last;
  milliseconds latest{-1};
  for (const auto& st : steps) {
    milliseconds at{0};
    if (const auto* a = std::get_if<sc::at_time>(&st.start)) {
      at = a->at;
    } else if (const auto* after = std::get_if<sc::after_step>(&st.start)) {
      const auto it = offset.find(after->step);
      at = (it == offset.end() ? milliseconds{0} : it->second) + after->delay;
    }
    offset[st.id] = at;
    if (at >= latest) {
      latest = at;
      last = st.id;
    }
  }
  return last;
}

// Sequence items: {"type", "params" | "parameters", "delay"?} (delay: Go nanoseconds or a
// duration string).
auto plan_sequence(const compose_context& c) -> plan_result {
  const auto* actions = field(c.params, "actions");
  if (actions == nullptr || !actions->is_array() || actions->empty()) {
    return rejected("sequence_of_actions needs `actions`, a non-empty array of {type, params}");
  }
  action_plan plan;
  std::string previous_last;
  json items = json::array();
  for (std::size_t k = 0; k < actions->size(); ++k) {
    const auto& item = (*actions)[k];
    const auto where = "sequence_of_actions: actions[" + std::to_string(k) + "]";
    if (!item.is_object() || !item.contains("type") || !item["type"].is_string()) {
      return rejected(where + " needs a string `type`");
    }
    const auto type = item["type"].get<std::string>();
    json params = item.value("params", item.value("parameters", json::object()));
    std::optional<milliseconds> delay = milliseconds{0};
    if (const auto* d = field(item, "delay")) {
      // go-redis sends a time.Duration: integer nanoseconds.
      delay = d->is_number() ? std::optional(std::chrono::duration_cast<milliseconds>(
                                   std::chrono::nanoseconds{d->get<std::int64_t>()}))
                             : parse_fi_duration(*d);
      if (!delay) {
        return rejected(where + ": `delay` " + d->dump() + " is not a duration");
      }
    }
    const compose_context sub{c.id + "." + std::to_string(k + 1), params, c.d, c.state, c.timing};
    auto r = compose(sub, type);
    if (auto* e = std::get_if<plan_error>(&r)) {
      e->message = where + ": " + e->message;
      return *e;
    }
    auto& part = std::get<composed>(r);
    auto steps = expand_against(std::move(part.composites), c.d, c.state);
    if (!previous_last.empty() || delay->count() > 0) {
      for (auto& st : steps) {
        if (const auto* at = std::get_if<sc::at_time>(&st.start)) {
          st.start = previous_last.empty() ? sc::trigger{sc::at_time{at->at + *delay}}
                                           : sc::trigger{sc::after_step{previous_last, *delay}};
        }
      }
    }
    previous_last = last_step_of(steps);
    std::ranges::move(steps, std::back_inserter(plan.steps));
    items.push_back({{"type", type}, {"output", part.output}});
    plan.summary += (plan.summary.empty() ? "" : "; ") + part.summary;
  }
  plan.output = {{"actions", items}};
  return plan;
}

// A new database starts with the topology's slot map: every node gets its initial slots back
// (no notification: no client knows this database yet) and comes up if it owns any.
auto cluster_reset_steps(const compose_context& c) -> std::vector<sc::step> {
  std::vector<sc::step> steps;
  for (const auto& e : c.d.endpoints) {
    if (e.slots.empty() || c.state.owned[e.name] == e.slots) {
      continue;
    }
    steps.push_back(
        at_now(c.id + ".up." + e.name, sc::accept_action{e.name, sc::endpoint_state::up}));
    steps.push_back(at_now(c.id + ".reset." + e.name,
                           sc::complete_slot_migration_action{e.name, e.name, e.slots}));
  }
  for (const auto& e : c.d.endpoints) {
    c.state.owned[e.name] = e.slots;
  }
  return steps;
}

auto plan_create_database(const compose_context& c) -> plan_result {
  const auto* config = field(c.params, "database_config");
  if (config == nullptr || !config->is_object()) {
    return rejected("create_database needs `database_config`, an object");
  }
  const bool cluster = config->value("oss_cluster", false);
  if (cluster != c.d.cluster) {
    return failed(std::string("create_database asked for ") +
                  (cluster ? "an OSS cluster" : "a standalone") +
                  " database, but schsim serves scenario " + c.d.scenario_id + ", " +
                  (c.d.cluster ? "an OSS cluster" : "a standalone") +
                  " topology; start `schsim serve` with a matching scenario");
  }
  database_entry db;
  db.bdb_id = c.state.next_bdb_id++;
  db.name =
      config->contains("name") ? text_of((*config)["name"]) : "db-" + std::to_string(db.bdb_id);
  c.state.databases[db.bdb_id] = db;
  action_plan plan;
  plan.output = database_output(c.d, c.state, db);
  if (c.d.cluster) {
    plan.steps = cluster_reset_steps(c);
  }
  plan.summary = "create_database " + db.name + " (bdb " + std::to_string(db.bdb_id) + ")";
  return plan;
}

auto plan_delete_database(const compose_context& c) -> plan_result {
  action_plan plan;
  json deleted = json::array();
  if (const auto* all = field(c.params, "delete_all");
      all && all->is_boolean() && all->get<bool>()) {
    for (const auto& [id, db] : c.state.databases) {
      deleted.push_back(id);
    }
    c.state.databases.clear();
  } else {
    const auto* id_field = field(c.params, "bdb_id");
    const auto id = id_field ? as_int(*id_field) : std::nullopt;
    if (!id) {
      return rejected("delete_database needs `bdb_id` (a number) or `delete_all: true`");
    }
    if (c.state.databases.erase(*id) > 0) {
      deleted.push_back(*id);
    }
  }
  plan.output = {{"deleted", deleted}};
  plan.summary = "delete_database " + deleted.dump();
  return plan;
}

auto plan_reset_cluster(const compose_context& c) -> plan_result {
  c.state.databases.clear();
  c.state.maint_notifications = true;
  action_plan plan;
  plan.summary = "reset_cluster";
  return plan;
}

auto plan_update_cluster_config(const compose_context& c) -> plan_result {
  const auto* config = field(c.params, "config");
  const auto* enabled = config ? field(*config, "client_maint_notifications") : nullptr;
  if (enabled == nullptr || !enabled->is_boolean()) {
    return rejected("update_cluster_config needs `config.client_maint_notifications`, a boolean");
  }
  c.state.maint_notifications = enabled->get<bool>();
  action_plan plan;
  plan.output = {{"client_maint_notifications", c.state.maint_notifications}};
  plan.summary =
      std::string("client_maint_notifications ") + (c.state.maint_notifications ? "on" : "off");
  return plan;
}

auto plan_steps(const compose_context& c, std::string_view type) -> plan_result {
  auto r = type == "execute_rladmin_command" ? compose_rladmin(c) : compose(c, type);
  if (auto* e = std::get_if<plan_error>(&r)) {
    return *e;
  }
  auto& part = std::get<composed>(r);
  action_plan plan;
  plan.steps = expand_against(std::move(part.composites), c.d, c.state);
  plan.output = std::move(part.output);
  plan.summary = std::move(part.summary);
  if (c.d.cluster && type == "slot_migrate") {
    const auto after = view_of(c.d, c.state);
    plan.output["nodes_after"] = addresses(c.d, after.owners);
  }
  return plan;
}

auto plan_rladmin(const compose_context& c) -> plan_result {
  auto command = field(c.params, "rladmin_command") ? text_of(*field(c.params, "rladmin_command"))
                                                    : std::string{};
  if (command.starts_with("rladmin ")) {
    command = command.substr(8);
  }
  if (command.empty()) {
    return rejected("execute_rladmin_command needs `rladmin_command`, e.g. \"status\"");
  }
  if (command.starts_with("status")) {
    action_plan plan;
    plan.output = {{"output", rladmin_status(c.d, c.state)}};
    plan.summary = "rladmin status";
    return plan;
  }
  auto plan = plan_steps(c, "execute_rladmin_command");
  if (auto* p = std::get_if<action_plan>(&plan)) {
    p->output["output"] = "Done";
  }
  return plan;
}

using planner = std::function<plan_result(const compose_context&)>;

auto planners() -> const std::map<std::string, planner, std::less<>>& {
  static const std::map<std::string, planner, std::less<>> table = [] {
    std::map<std::string, planner, std::less<>> t = {
        {"sequence_of_actions", plan_sequence},
        {"create_database", plan_create_database},
        {"delete_database", plan_delete_database},
        {"reset_cluster", plan_reset_cluster},
        {"update_cluster_config", plan_update_cluster_config},
        {"execute_rladmin_command", plan_rladmin},
    };
    for (const auto& [name, fn] : step_composers()) {
      t.emplace(name, [type = name](const compose_context& c) { return plan_steps(c, type); });
    }
    return t;
  }();
  return table;
}

// Steps come in the order their notifications go out within the action, so numbering them
// in step order gives the closing notification its opening one's seq + 1.
void number_notifications(action_plan& plan, fi_state& state) {
  for (auto& st : plan.steps) {
    if (auto* send = std::get_if<sc::send_action>(&st.what);
        send && !send->seq && send->same_seq_as.empty()) {
      send->seq = state.next_seq++;
    }
  }
}

}  // namespace

auto deployment::find(std::string_view name) const -> const served_endpoint* {
  const auto it = std::ranges::find(endpoints, name, &served_endpoint::name);
  return it == endpoints.end() ? nullptr : &*it;
}

auto fi_state::initial(const deployment& d) -> fi_state {
  fi_state s;
  s.active_endpoint = d.start;
  if (d.cluster) {
    for (const auto& e : d.endpoints) {
      s.owned[e.name] = e.slots;
    }
  }
  return s;
}

auto known_action_types() -> const std::vector<std::string_view>& {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const auto& [name, fn] : planners()) {
      out.push_back(name);
    }
    return out;
  }();
  return names;
}

auto known_slot_migrate_effects() -> const std::vector<std::string_view>& {
  static const std::vector<std::string_view> names = {"remove-add", "remove", "add",
                                                      "slot-shuffle"};
  return names;
}

auto known_standalone_effects() -> const std::vector<std::string_view>& {
  static const std::vector<std::string_view> names = {"data_movement_conn_drop",
                                                      "data_movement_no_conn_drop", "conn_drop",
                                                      "dns_resolution_change"};
  return names;
}

auto plan_action(std::string_view action_id, std::string_view type, const json& parameters,
                 const deployment& d, fi_state& state, const fi_timing& timing) -> plan_result {
  const auto& table = planners();
  const auto it = table.find(type);
  if (it == table.end()) {
    std::string list;
    for (const auto name : known_action_types()) {
      list += (list.empty() ? "" : ", ") + std::string(name);
    }
    return rejected("unknown action type \"" + std::string(type) + "\"; known types: " + list);
  }
  // Work on a copy: a rejected or failed plan leaves the state as it was.
  auto working = state;
  const compose_context c{std::string(action_id), parameters, d, working, timing};
  auto result = it->second(c);
  if (auto* plan = std::get_if<action_plan>(&result)) {
    number_notifications(*plan, working);
    state = std::move(working);
  }
  return result;
}

auto parse_fi_duration(const json& value) -> std::optional<milliseconds> {
  if (value.is_number()) {
    const auto ms = value.get<double>();
    return ms < 0 ? std::nullopt : std::optional(milliseconds{std::llround(ms)});
  }
  if (!value.is_string()) {
    return std::nullopt;
  }
  const auto& text = value.get_ref<const std::string&>();
  static const std::vector<std::pair<std::string_view, double>> units = {
      {"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1.0},
      {"s", 1e3},   {"m", 60e3},  {"h", 3600e3}};
  for (const auto& [unit, factor] : units) {
    if (text.size() > unit.size() && text.ends_with(unit)) {
      const auto number = text.substr(0, text.size() - unit.size());
      if (number.empty() || !(std::isdigit(static_cast<unsigned char>(number[0])) != 0)) {
        continue;
      }
      std::size_t used = 0;
      try {
        const double v = std::stod(number, &used);
        if (used == number.size() && v >= 0) {
          return milliseconds{std::llround(v * factor)};
        }
      } catch (const std::exception&) {
      }
    }
  }
  return std::nullopt;
}

auto database_output(const deployment& d, const fi_state& state, const database_entry& db) -> json {
  const auto* start = d.find(d.cluster ? d.start : state.active_endpoint);
  const std::string host = start ? start->host : "127.0.0.1";
  const std::string dns = start && !start->fqdn.empty() ? start->fqdn : host;
  const std::uint16_t port = start ? start->port : 0;
  return {
      {"bdb_id", db.bdb_id},
      {"name", db.name},
      {"username", d.username},
      {"password", d.password},
      {"tls", false},
      {"oss_cluster", d.cluster},
      {"endpoints", json::array({"redis://" + host + ":" + std::to_string(port)})},
      {"raw_endpoints", json::array({{{"addr", json::array({host})},
                                      {"addr_type", "external"},
                                      {"dns_name", dns},
                                      {"port", port},
                                      {"oss_cluster_api_preferred_endpoint_type", "ip"},
                                      {"oss_cluster_api_preferred_ip_type", "external"},
                                      {"proxy_policy", d.cluster ? "all-master-shards" : "single"},
                                      {"uid", std::to_string(db.bdb_id) + ":1"}}})}};
}

auto rladmin_status(const deployment& d, const fi_state& state) -> std::string {
  std::ostringstream out;
  std::vector<database_entry> dbs;
  for (const auto& [id, db] : state.databases) {
    dbs.push_back(db);
  }
  if (dbs.empty()) {
    dbs.push_back(database_entry{1, d.scenario_id + "-db"});
  }
  auto node_of = [&](const std::string& name) {
    const auto it = std::ranges::find(d.endpoints, name, &served_endpoint::name);
    return "node:" + std::to_string(it - d.endpoints.begin() + 1);
  };
  out << "CLUSTER NODES:\n"
         "NODE:ID ROLE ADDRESS EXTERNAL_ADDRESS HOSTNAME SHARDS CORES FREE_RAM "
         "PROVISIONAL_RAM VERSION STATUS\n";
  for (const auto& e : d.endpoints) {
    out << (e.name == state.active_endpoint ? "*" : "") << node_of(e.name)
        << (e.name == d.endpoints.front().name ? " master " : " slave ") << e.host << ' ' << e.host
        << ' ' << e.name << " 1/100 2 1.5GB/2GB 1GB/1.5GB 7.4.0 OK\n";
  }
  out << "\nDATABASES:\n"
         "DB:ID NAME TYPE STATUS SHARDS PLACEMENT REPLICATION PERSISTENCE ENDPOINT\n";
  const auto* active = d.find(state.active_endpoint);
  const auto address = active ? active->address() : std::string("127.0.0.1:0");
  for (const auto& db : dbs) {
    out << "db:" << db.bdb_id << ' ' << db.name << " redis active " << d.endpoints.size()
        << " dense enabled disabled " << address << '\n';
  }
  out << "\nENDPOINTS:\nDB:ID NAME ID NODE ROLE SSL\n";
  for (const auto& db : dbs) {
    out << "db:" << db.bdb_id << ' ' << db.name << " endpoint:" << db.bdb_id << ":1 "
        << node_of(state.active_endpoint) << " single No\n";
  }
  out << "\nSHARDS:\nDB:ID NAME ID NODE ROLE SLOTS USED_MEMORY STATUS\n";
  for (const auto& db : dbs) {
    int shard = 1;
    for (const auto& e : d.endpoints) {
      out << "db:" << db.bdb_id << ' ' << db.name << " redis:" << shard++ << ' ' << node_of(e.name)
          << (e.name == state.active_endpoint ? " master" : " slave") << " 0-16383 2.1MB OK\n";
    }
  }
  return out.str();
}

namespace {

auto trigger_list(const deployment& d, bool oss_cluster) -> json {
  json cluster = {{"index", 0}, {"nodes", json::array()}};
  for (const auto& e : d.endpoints) {
    cluster["nodes"].push_back({{"host", e.host}, {"port", e.port}});
  }
  const auto shards = std::max<std::size_t>(1, d.endpoints.size());
  json dbconfig = {{"name", oss_cluster ? "schsim-cluster-db" : "schsim-standalone-db"},
                   {"memory_size", 100 * 1024 * 1024},
                   {"port", d.find(d.start) ? d.find(d.start)->port : 0},
                   {"replication", true},
                   {"eviction_policy", "noeviction"},
                   {"sharding", oss_cluster},
                   {"shards_count", oss_cluster ? shards : 1},
                   {"shards_placement", "dense"},
                   {"oss_cluster", oss_cluster}};
  json requirement = {{"dbconfig", dbconfig},
                      {"cluster", {{"name", "schsim"}, {"nodes", d.endpoints.size()}}},
                      {"description", "the database schsim serves"}};
  json triggers = json::array();
  for (const auto* name : {"migrate", "failover"}) {
    triggers.push_back({{"name", name},
                        {"description", std::string("schsim: ") + name},
                        {"requirements", json::array({requirement})}});
  }
  return {{"cluster", cluster}, {"triggers", triggers}};
}

}  // namespace

auto slot_migrate_triggers(std::string_view effect, const deployment& d) -> std::optional<json> {
  if (std::ranges::find(known_slot_migrate_effects(), effect) ==
      known_slot_migrate_effects().end()) {
    return std::nullopt;
  }
  auto out = trigger_list(d, true);
  out["effect"] = effect;
  return out;
}

auto standalone_triggers(std::string_view effect, const deployment& d) -> std::optional<json> {
  if (std::ranges::find(known_standalone_effects(), effect) == known_standalone_effects().end()) {
    return std::nullopt;
  }
  auto out = trigger_list(d, false);
  out["effect"] = effect;
  return out;
}

}  // namespace schsim::control
