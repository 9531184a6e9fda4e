#include <schsim/scenario_io/save.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <toml++/toml.h>

namespace schsim::scenario_io {
namespace {

namespace sc = schsim::scenario;
using std::chrono::milliseconds;

// Whole seconds as "2s", anything else as "250ms": the loader's parse_duration reads both.
auto duration_text(milliseconds d) -> std::string {
  if (d.count() != 0 && d.count() % 1000 == 0) {
    return std::to_string(d.count() / 1000) + "s";
  }
  return std::to_string(d.count()) + "ms";
}

void put_duration(toml::table& t, std::string_view key, milliseconds d) {
  t.insert_or_assign(key, duration_text(d));
}
void put_duration(toml::table& t, std::string_view key, const std::optional<milliseconds>& d) {
  if (d) {
    put_duration(t, key, *d);
  }
}
// Only when it differs from the model's default.
void put_duration_if(toml::table& t, std::string_view key, milliseconds d, milliseconds dflt) {
  if (d != dflt) {
    put_duration(t, key, d);
  }
}

// A table written on one line, `{ step = "a", delay = "1s" }`, instead of a [section].
auto inline_table(toml::table t) -> toml::table {
  t.is_inline(true);
  return t;
}

auto string_array(const std::vector<std::string>& items) -> toml::array {
  toml::array a;
  for (const auto& i : items) {
    a.push_back(i);
  }
  return a;
}

auto dialect_names(const maint::dialect& d) -> toml::array {
  toml::array a;
  const std::pair<bool, std::string_view> flags[] = {
      {d.simple_string_name, "simple-string-name"},
      {d.simple_string_arguments, "simple-string-arguments"},
      {d.null_as_string, "null-string"},
      {d.moving_three_elements, "moving-3-elements"},
      {d.smigrated_pairs, "smigrated-pairs"},
      {d.slots_as_arguments, "slots-as-arguments"}};
  for (const auto& [set, name] : flags) {
    if (set) {
      a.push_back(std::string(name));
    }
  }
  if (a.empty()) {
    a.push_back("canonical");
  }
  return a;
}

void put_dialect(toml::table& t, const std::optional<maint::dialect>& d) {
  if (d) {
    t.insert_or_assign("dialect", dialect_names(*d));
  }
}

auto format(const toml::table& t) -> std::string {
  std::ostringstream out;
  // No indentation and no literal strings: plain, diff-friendly key = "value" lines.
  out << toml::toml_formatter{t, toml::format_flags::allow_unicode_strings};
  return out.str();
}

// ---------------------------------------------------------------------------------------------
// Sections

auto scenario_section(const sc::scenario& s) -> toml::table {
  toml::table t;
  t.insert_or_assign("id", s.meta.id);
  t.insert_or_assign("title", s.meta.title);
  if (!s.meta.description.empty()) {
    t.insert_or_assign("description", s.meta.description);
  }
  if (!s.meta.tags.empty()) {
    t.insert_or_assign("tags", string_array(s.meta.tags));
  }
  if (s.meta.suite_version != sc::metadata{}.suite_version) {
    t.insert_or_assign("suite_version", s.meta.suite_version);
  }
  put_duration(t, "duration", s.duration);
  if (s.seed) {
    t.insert_or_assign("seed", static_cast<std::int64_t>(*s.seed));
  }
  if (s.seq_start) {
    t.insert_or_assign("seq_start", *s.seq_start);
  }
  if (s.dialect != maint::dialect{}) {
    t.insert_or_assign("dialect", dialect_names(s.dialect));
  }
  return t;
}

auto endpoint_table(const sc::endpoint& e) -> toml::table {
  const sc::endpoint dflt;
  toml::table t;
  t.insert_or_assign("name", e.name);
  if (e.host != dflt.host) {
    t.insert_or_assign("host", e.host);
  }
  if (!e.fqdn.empty()) {
    t.insert_or_assign("fqdn", e.fqdn);
  }
  if (e.port != 0) {
    t.insert_or_assign("port", static_cast<std::int64_t>(e.port));
  }
  if (!e.same_port_as.empty()) {
    t.insert_or_assign("same_port_as", e.same_port_as);
  }
  if (!e.sch) {
    t.insert_or_assign("sch", false);
  }
  if (!e.resp3) {
    t.insert_or_assign("resp3", false);
  }
  if (!e.requirepass.empty()) {
    t.insert_or_assign("requirepass", e.requirepass);
  }
  if (!e.users.empty()) {
    toml::array users;
    for (const auto& u : e.users) {
      users.push_back(inline_table(toml::table{{"name", u.name}, {"password", u.password}}));
    }
    t.insert_or_assign("users", std::move(users));
  }
  if (e.server_version != dflt.server_version) {
    t.insert_or_assign("server_version", e.server_version);
  }
  if (e.initial_state != sc::endpoint_state::up) {
    t.insert_or_assign("state", std::string(sc::to_string(e.initial_state)));
  }
  if (e.shards != dflt.shards) {
    t.insert_or_assign("shards", string_array(e.shards));
  }
  if (!e.slots.empty()) {
    t.insert_or_assign("slots", e.slots.to_string());
  }
  if (e.tls) {
    t.insert_or_assign("tls", true);
  }
  if (e.tls_only) {
    t.insert_or_assign("tls_only", true);
  }
  if (e.tls_client_auth) {
    t.insert_or_assign("tls_client_auth", true);
  }
  if (!e.tls_cert_names.empty()) {
    t.insert_or_assign("tls_cert_names", string_array(e.tls_cert_names));
  }
  return t;
}

auto topology_section(const sc::topology& topo) -> toml::table {
  toml::table t;
  t.insert_or_assign("start", topo.start);
  if (topo.cluster) {
    t.insert_or_assign("cluster", true);
  }
  toml::array endpoints;
  for (const auto& e : topo.endpoints) {
    endpoints.push_back(endpoint_table(e));
  }
  t.insert_or_assign("endpoint", std::move(endpoints));
  return t;
}

auto client_section(const sc::client_settings& c) -> toml::table {
  const sc::client_settings dflt;
  toml::table t;
  if (c.mode != dflt.mode) {
    t.insert_or_assign("mode", std::string(sc::to_string(c.mode)));
  }
  if (c.moving_endpoint_type != dflt.moving_endpoint_type) {
    t.insert_or_assign("endpoint_type", std::string(sc::to_string(c.moving_endpoint_type)));
  }
  if (c.protocol != dflt.protocol) {
    t.insert_or_assign("protocol", static_cast<std::int64_t>(c.protocol));
  }
  put_duration_if(t, "timeout", c.timeout, dflt.timeout);
  if (!c.relaxed_timeout) {
    t.insert_or_assign("relaxed_timeout", "disabled");
  } else if (c.relaxed_timeout != dflt.relaxed_timeout) {
    put_duration(t, "relaxed_timeout", *c.relaxed_timeout);
  }
  put_duration_if(t, "post_handoff_relaxed", c.post_handoff_relaxed, dflt.post_handoff_relaxed);
  if (!c.user.empty()) {
    t.insert_or_assign("user", c.user);
  }
  if (!c.password.empty()) {
    t.insert_or_assign("password", c.password);
  }
  if (c.pool_size != dflt.pool_size) {
    t.insert_or_assign("pool_size", static_cast<std::int64_t>(c.pool_size));
  }
  return t;
}

// An integral number as a TOML integer ("rate = 50"), anything else as a float.
void put_number(toml::table& t, std::string_view key, double v) {
  if (v == static_cast<double>(static_cast<std::int64_t>(v))) {
    t.insert_or_assign(key, static_cast<std::int64_t>(v));
  } else {
    t.insert_or_assign(key, v);
  }
}

auto workload_section(const sc::workload& w) -> toml::table {
  const sc::workload dflt;
  toml::table t;
  if (w.rate != dflt.rate) {
    put_number(t, "rate", w.rate);
  }
  put_duration(t, "duration", w.duration);
  if (w.mix != dflt.mix) {
    toml::table mix;
    for (const auto& m : w.mix) {
      mix.insert_or_assign(m.command, static_cast<std::int64_t>(m.weight));
    }
    t.insert_or_assign("mix", inline_table(std::move(mix)));
  }
  if (w.keys != dflt.keys) {
    t.insert_or_assign("keys", static_cast<std::int64_t>(w.keys));
  }
  if (w.key_prefix != dflt.key_prefix) {
    t.insert_or_assign("key_prefix", w.key_prefix);
  }
  if (w.value_size != dflt.value_size) {
    t.insert_or_assign("value_size", static_cast<std::int64_t>(w.value_size));
  }
  if (w.probe) {
    toml::table probe;
    put_duration(probe, "interval", w.probe->interval);
    probe.insert_or_assign("command", w.probe->command);
    t.insert_or_assign("probe", inline_table(std::move(probe)));
  }
  if (w.pubsub) {
    const sc::pubsub_workload plain;
    toml::table pubsub{{"channels", static_cast<std::int64_t>(w.pubsub->channels)}};
    put_number(pubsub, "rate", w.pubsub->rate);
    if (w.pubsub->kind != plain.kind) {
      pubsub.insert_or_assign("kind", std::string(sc::to_string(w.pubsub->kind)));
    }
    t.insert_or_assign("pubsub", std::move(pubsub));
  }
  if (w.blocking) {
    const sc::blocking_workload plain;
    toml::table blocking{{"keys", static_cast<std::int64_t>(w.blocking->keys)}};
    put_number(blocking, "rate", w.blocking->rate);
    put_number(blocking, "timeout", w.blocking->timeout);
    if (w.blocking->command != plain.command) {
      blocking.insert_or_assign("command", std::string(sc::to_string(w.blocking->command)));
    }
    t.insert_or_assign("blocking", std::move(blocking));
  }
  if (w.transactions) {
    toml::table tx{{"size", static_cast<std::int64_t>(w.transactions->size)}};
    put_number(tx, "rate", w.transactions->rate);
    if (w.transactions->watch) {
      tx.insert_or_assign("watch", true);
    }
    t.insert_or_assign("transactions", std::move(tx));
  }
  return t;
}

auto expect_section(const sc::expectations& x) -> toml::table {
  const sc::expectations dflt;
  toml::table t;
  if (!x.checks.empty()) {
    t.insert_or_assign("checks", string_array(x.checks));
  }
  if (x.handshake != dflt.handshake) {
    t.insert_or_assign("handshake", std::string(sc::to_string(x.handshake)));
  }
  if (x.connect != dflt.connect) {
    t.insert_or_assign("connect", std::string(sc::to_string(x.connect)));
  }
  put_duration(t, "handoff_within", x.handoff_within);
  put_duration(t, "topology_refresh_within", x.topology_refresh_within);
  put_duration(t, "resubscribe_within", x.resubscribe_within);
  if (x.timeout_tolerance != dflt.timeout_tolerance) {
    put_number(t, "timeout_tolerance", x.timeout_tolerance);
  }
  put_duration(t, "max_latency", x.max_latency);
  if (x.max_error_rate != dflt.max_error_rate) {
    put_number(t, "max_error_rate", x.max_error_rate);
  }
  if (x.reconnects) {
    toml::table band{{"min", static_cast<std::int64_t>(x.reconnects->min)}};
    if (x.reconnects->max) {
      band.insert_or_assign("max", static_cast<std::int64_t>(*x.reconnects->max));
    }
    t.insert_or_assign("reconnects", inline_table(std::move(band)));
  }
  if (!x.final_endpoint.empty()) {
    t.insert_or_assign("final_endpoint", x.final_endpoint);
  }
  if (x.client_may_exit) {
    t.insert_or_assign("client_may_exit", true);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Steps

void put_trigger(toml::table& t, const sc::trigger& start) {
  if (const auto* at = std::get_if<sc::at_time>(&start)) {
    put_duration(t, "at", at->at);
  } else if (const auto* after = std::get_if<sc::after_step>(&start)) {
    if (after->delay.count() == 0) {
      t.insert_or_assign("after", after->step);
    } else {
      t.insert_or_assign(
          "after",
          inline_table(toml::table{{"step", after->step}, {"delay", duration_text(after->delay)}}));
    }
  } else if (const auto* w = std::get_if<sc::when_observed>(&start)) {
    toml::table when{{std::string(sc::to_string(w->counter)), static_cast<std::int64_t>(w->count)}};
    if (!w->endpoint.empty()) {
      when.insert_or_assign("endpoint", w->endpoint);
    }
    if (w->delay.count() != 0) {
      when.insert_or_assign("delay", duration_text(w->delay));
    }
    t.insert_or_assign("when", inline_table(std::move(when)));
  }
}

// `to`: the short spellings ("all", "node-a", "new") when they say everything, else a table.
void put_target(toml::table& t, const sc::target& to, sc::opt_in_filter default_filter) {
  const bool plain = to.filter == default_filter && to.opened_before.empty();
  if (plain && to.scope == sc::target_scope::all) {
    return;  // the default
  }
  if (plain && to.scope == sc::target_scope::endpoint) {
    t.insert_or_assign("to", to.endpoint);
    return;
  }
  if (plain && to.scope == sc::target_scope::new_connections && to.endpoint.empty()) {
    t.insert_or_assign("to", "new");
    return;
  }
  toml::table tt;
  if (!to.endpoint.empty()) {
    tt.insert_or_assign("endpoint", to.endpoint);
  }
  if (to.scope == sc::target_scope::connection) {
    switch (to.pick) {
      case sc::connection_pick::ordinal:
        tt.insert_or_assign("connection", static_cast<std::int64_t>(to.ordinal));
        break;
      case sc::connection_pick::last:
        tt.insert_or_assign("connection", "last");
        break;
      case sc::connection_pick::random:
        tt.insert_or_assign("connection", "random");
        break;
    }
  }
  if (to.scope == sc::target_scope::new_connections) {
    tt.insert_or_assign("new", true);
  }
  if (to.filter != default_filter) {
    tt.insert_or_assign("opted_in", to.filter == sc::opt_in_filter::opted_in);
  }
  if (!to.opened_before.empty()) {
    tt.insert_or_assign("opened_before", to.opened_before);
  }
  t.insert_or_assign("to", inline_table(std::move(tt)));
}

void put_notification_fields(toml::table& t, const maint::notification& n) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (requires { x.time_s; }) {
          t.insert_or_assign("time", x.time_s);
        }
        if constexpr (std::is_same_v<T, maint::moving>) {
          t.insert_or_assign("endpoint", x.endpoint.value_or("none"));
        } else if constexpr (std::is_same_v<T, maint::smigrating>) {
          t.insert_or_assign("slots", maint::format_slot_list(x.slots));
        } else if constexpr (std::is_same_v<T, maint::smigrated>) {
          toml::array entries;
          for (const auto& e : x.entries) {
            entries.push_back(
                inline_table(toml::table{{"source", e.source},
                                         {"destination", e.destination},
                                         {"slots", maint::format_slot_list(e.slots)}}));
          }
          t.insert_or_assign("entries", std::move(entries));
        } else {
          t.insert_or_assign("shards", string_array(x.shard_ids));
        }
      },
      n);
}

void put_send(toml::table& t, const sc::send_action& a) {
  t.insert_or_assign("action", "send");
  t.insert_or_assign("notification", std::string(maint::to_string(maint::kind_of(a.notification))));
  put_notification_fields(t, a.notification);
  put_target(t, a.to, sc::opt_in_filter::opted_in);
  if (a.seq) {
    t.insert_or_assign("seq", *a.seq);
  }
  if (!a.same_seq_as.empty()) {
    t.insert_or_assign("same_seq_as", a.same_seq_as);
  }
  if (a.replay != sc::replay_policy::by_kind) {
    t.insert_or_assign("replay", a.replay == sc::replay_policy::always);
  }
  put_duration(t, "active_for", a.active_for);
  put_dialect(t, a.dialect);
}

// Printable ASCII (TOML escapes \r, \n, ...) stays readable as `bytes`; anything else as hex.
void put_raw(toml::table& t, const sc::raw_action& a) {
  t.insert_or_assign("action", "raw");
  put_target(t, a.to, sc::opt_in_filter::any);
  bool ascii = true;
  for (const char c : a.bytes) {
    ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  }
  if (ascii) {
    t.insert_or_assign("bytes", a.bytes);
    return;
  }
  static constexpr std::string_view digits = "0123456789abcdef";
  std::string hex;
  for (const char c : a.bytes) {
    const auto b = static_cast<unsigned char>(c);
    hex += hex.empty() ? "" : " ";
    hex += digits[b >> 4U];
    hex += digits[b & 0xfU];
  }
  t.insert_or_assign("hex", hex);
}

auto accept_action_name(sc::endpoint_state s) -> std::string_view {
  switch (s) {
    case sc::endpoint_state::up:
      return "bring_up";
    case sc::endpoint_state::down:
      return "refuse";
    case sc::endpoint_state::not_accepting:
      return "stop_accepting";
    case sc::endpoint_state::blackhole:
      return "blackhole";
  }
  return "bring_up";
}

void put_close_how(toml::table& t, std::string_view key, sc::close_mode how) {
  if (how != sc::close_mode::fin) {
    t.insert_or_assign(key, std::string(sc::to_string(how)));
  }
}

void put_shards(toml::table& t, const std::vector<std::string>& shards) {
  if (!shards.empty()) {
    t.insert_or_assign("shards", string_array(shards));
  }
}

void put_fields(toml::table& t, const sc::send_action& a) { put_send(t, a); }
void put_fields(toml::table& t, const sc::raw_action& a) { put_raw(t, a); }

void put_fields(toml::table& t, const sc::latency_action& a) {
  t.insert_or_assign("action", "latency");
  t.insert_or_assign("endpoint", a.endpoint);
  put_duration(t, "delay", a.delay);
  put_duration(t, "window", a.window);
}

void put_fields(toml::table& t, const sc::stall_action& a) {
  t.insert_or_assign("action", "stall");
  t.insert_or_assign("endpoint", a.endpoint);
  put_duration(t, "window", a.window);
}

void put_fields(toml::table& t, const sc::release_action& a) {
  t.insert_or_assign("action", "release");
  t.insert_or_assign("endpoint", a.endpoint);
}

void put_fields(toml::table& t, const sc::fragment_action& a) {
  t.insert_or_assign("action", "fragment");
  t.insert_or_assign("endpoint", a.endpoint);
  t.insert_or_assign("chunk", static_cast<std::int64_t>(a.chunk_bytes));
  put_duration(t, "pause", a.pause);
  put_duration(t, "window", a.window);
}

void put_fields(toml::table& t, const sc::close_action& a) {
  t.insert_or_assign("action", "close");
  put_target(t, a.to, sc::opt_in_filter::any);
  put_close_how(t, "how", a.how);
  if (a.point != sc::close_point::between_frames) {
    t.insert_or_assign("point", std::string(sc::to_string(a.point)));
  }
  if (!a.reason.empty()) {
    t.insert_or_assign("reason", a.reason);
  }
}

void put_fields(toml::table& t, const sc::accept_action& a) {
  t.insert_or_assign("action", std::string(accept_action_name(a.state)));
  t.insert_or_assign("endpoint", a.endpoint);
}

void put_fields(toml::table& t, const sc::clear_active_action& a) {
  t.insert_or_assign("action", "clear_active");
  if (a.kind) {
    t.insert_or_assign("notification", std::string(maint::to_string(*a.kind)));
  }
  if (!a.endpoint.empty()) {
    t.insert_or_assign("endpoint", a.endpoint);
  }
}

void put_fields(toml::table& t, const sc::begin_slot_migration_action& a) {
  t.insert_or_assign("action", "begin_slot_migration");
  t.insert_or_assign("from", a.from);
  t.insert_or_assign("to", a.to);
  t.insert_or_assign("slots", a.slots.to_string());
  put_duration(t, "migrate_for", a.migrate_for);
}

void put_fields(toml::table& t, const sc::complete_slot_migration_action& a) {
  t.insert_or_assign("action", "complete_slot_migration");
  t.insert_or_assign("from", a.from);
  t.insert_or_assign("to", a.to);
  t.insert_or_assign("slots", a.slots.to_string());
}

void put_fields(toml::table& t, const sc::moving_lifecycle_action& a) {
  t.insert_or_assign("action", "moving_lifecycle");
  t.insert_or_assign("from", a.from);
  t.insert_or_assign("to", a.to.value_or("none"));
  t.insert_or_assign("time", a.time_s);
  put_duration_if(t, "late_close", a.late_close, milliseconds{0});
  put_close_how(t, "close_how", a.close_how);
  if (a.retire_old) {
    t.insert_or_assign("retire_old", true);
  }
  if (a.seq) {
    t.insert_or_assign("seq", *a.seq);
  }
  put_dialect(t, a.dialect);
}

// The keys rolling_upgrade and maintenance_mode share after their own.
template <class A>
void put_moving_tail(toml::table& t, const A& a) {
  put_duration_if(t, "latency", a.latency, milliseconds{0});
  t.insert_or_assign("moving_time", a.moving_time_s);
  put_duration_if(t, "late_close", a.late_close, milliseconds{0});
  put_close_how(t, "close_how", a.close_how);
  put_dialect(t, a.dialect);
}

void put_fields(toml::table& t, const sc::rolling_upgrade_action& a) {
  t.insert_or_assign("action", "rolling_upgrade");
  t.insert_or_assign("from", a.from);
  t.insert_or_assign("to", a.to);
  put_shards(t, a.shards);
  t.insert_or_assign("migrating_time", a.migrating_time_s);
  put_duration(t, "migrate_for", a.migrate_for);
  put_moving_tail(t, a);
}

void put_fields(toml::table& t, const sc::maintenance_mode_action& a) {
  t.insert_or_assign("action", "maintenance_mode");
  t.insert_or_assign("from", a.from);
  t.insert_or_assign("to", a.to);
  put_shards(t, a.shards);
  t.insert_or_assign("time", a.time_s);
  put_duration(t, "failover_for", a.failover_for);
  put_duration(t, "migrate_for", a.migrate_for);
  put_moving_tail(t, a);
}

void put_fields(toml::table& t, const sc::in_place_upgrade_action& a) {
  t.insert_or_assign("action", "in_place_upgrade");
  t.insert_or_assign("endpoint", a.endpoint);
  put_shards(t, a.shards);
  t.insert_or_assign("notification", std::string(maint::to_string(a.opener)));
  t.insert_or_assign("time", a.time_s);
  put_duration(t, "restart_after", a.restart_after);
  put_duration(t, "downtime", a.downtime);
  put_duration(t, "window", a.window);
  put_duration_if(t, "latency", a.latency, milliseconds{0});
  put_close_how(t, "close_how", a.close_how);
  put_dialect(t, a.dialect);
}

// migrate and failover: the fault injector's window pairs.
template <class A>
void put_window_pair(toml::table& t, std::string_view action, const A& a) {
  t.insert_or_assign("action", action);
  t.insert_or_assign("endpoint", a.endpoint);
  put_shards(t, a.shards);
  t.insert_or_assign("time", a.time_s);
  put_duration(t, "duration", a.duration);
  put_duration_if(t, "latency", a.latency, milliseconds{0});
  put_dialect(t, a.dialect);
}

void put_fields(toml::table& t, const sc::migrate_action& a) { put_window_pair(t, "migrate", a); }
void put_fields(toml::table& t, const sc::failover_action& a) { put_window_pair(t, "failover", a); }

// The keys the cluster composites share.
template <class A>
void put_migration_keys(toml::table& t, const A& a) {
  put_duration(t, "migrate_for", a.migrate_for);
  if constexpr (requires { a.latency; }) {
    put_duration_if(t, "latency", a.latency, milliseconds{0});
  }
  if (a.smigrated_to != sc::smigrated_scope::source) {
    t.insert_or_assign("smigrated_to", std::string(sc::to_string(a.smigrated_to)));
  }
  put_dialect(t, a.dialect);
}

void put_fields(toml::table& t, const sc::slot_migration_action& a) {
  t.insert_or_assign("action", "slot_migration");
  t.insert_or_assign("from", a.from);
  t.insert_or_assign("to", a.to);
  t.insert_or_assign("slots", a.slots.to_string());
  put_migration_keys(t, a);
  put_duration(t, "redeliver_after", a.redeliver_after);
}

void put_fields(toml::table& t, const sc::remove_node_action& a) {
  t.insert_or_assign("action", "remove_node");
  t.insert_or_assign("node", a.node);
  t.insert_or_assign("to", string_array(a.to));
  put_migration_keys(t, a);
  put_duration(t, "retire_after", a.retire_after);
}

void put_fields(toml::table& t, const sc::add_node_action& a) {
  t.insert_or_assign("action", "add_node");
  t.insert_or_assign("node", a.node);
  t.insert_or_assign("from", string_array(a.from));
  t.insert_or_assign("slots", a.slots.to_string());
  put_migration_keys(t, a);
}

void put_fields(toml::table& t, const sc::slot_shuffle_action& a) {
  t.insert_or_assign("action", "slot_shuffle");
  toml::array moves;
  for (const auto& m : a.moves) {
    moves.push_back(
        inline_table(toml::table{{"from", m.from}, {"to", m.to}, {"slots", m.slots.to_string()}}));
  }
  t.insert_or_assign("moves", std::move(moves));
  put_migration_keys(t, a);
}

auto step_table(const sc::step& st) -> toml::table {
  toml::table t;
  t.insert_or_assign("id", st.id);
  put_trigger(t, st.start);
  std::visit([&](const auto& a) { put_fields(t, a); }, st.what);
  return t;
}

// One section under its name, e.g. "[client]\ntimeout = ...": an empty one is left out.
void append_section(std::string& out, std::string_view name, toml::table body) {
  if (body.empty()) {
    return;
  }
  out += format(toml::table{{name, std::move(body)}});
  out += "\n\n";
}

}  // namespace

auto to_toml(const scenario::scenario& s) -> std::string {
  std::string out;
  append_section(out, "scenario", scenario_section(s));
  append_section(out, "topology", topology_section(s.topo));
  append_section(out, "client", client_section(s.client));
  append_section(out, "workload", workload_section(s.load));
  append_section(out, "expect", expect_section(s.expect));
  for (const auto& st : s.steps) {
    toml::array one;
    one.push_back(step_table(st));
    out += format(toml::table{{"step", std::move(one)}});
    out += "\n\n";
  }
  while (out.ends_with("\n\n")) {
    out.pop_back();
  }
  return out;
}

}  // namespace schsim::scenario_io
