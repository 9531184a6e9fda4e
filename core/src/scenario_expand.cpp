#include <schsim/core/scenario/expand.hpp>

#include <type_traits>
#include <utility>

namespace schsim::scenario {
namespace {

using std::chrono::seconds;

// Collects generated steps; all of them keep the composite's origin for diagnostics.
class builder {
 public:
  builder(std::vector<step>& out, std::size_t origin) : out_(out), origin_(origin) {}

  void add(std::string id, trigger start, action what) {
    out_.push_back(step{std::move(id), std::move(start), std::move(what), origin_});
  }
  void add_after(std::string id, const std::string& ref, milliseconds delay, action what) {
    add(std::move(id), after_step{ref, delay}, std::move(what));
  }

 private:
  std::vector<step>& out_;
  std::size_t origin_;
};

auto endpoint_target(const std::string& name) -> target {
  target t;
  t.scope = target_scope::endpoint;
  t.endpoint = name;
  return t;
}

auto notify(maint::notification n, const std::string& endpoint,
            const std::optional<maint::dialect>& dialect,
            std::optional<std::int64_t> seq = std::nullopt) -> send_action {
  send_action a;
  a.notification = std::move(n);
  a.seq = seq;
  a.to = endpoint_target(endpoint);
  a.dialect = dialect;
  return a;
}

auto shards_or_default(const scenario& s, const std::vector<std::string>& shards,
                       const std::string& endpoint) -> std::vector<std::string> {
  if (!shards.empty()) {
    return shards;
  }
  if (const auto* e = s.topo.find(endpoint); e != nullptr && !e->shards.empty()) {
    return e->shards;
  }
  return {"1"};
}

auto grace(std::int64_t time_s, milliseconds late) -> milliseconds {
  return std::chrono::duration_cast<milliseconds>(seconds{time_s}) + late;
}

struct moving_parts {
  std::string id;
  trigger start;
  std::string from;
  std::optional<std::string> to;
  std::int64_t time_s = 0;
  milliseconds late_close{0};
  close_mode close_how = close_mode::fin;
  bool retire_old = false;
  bool bring_up = true;
  std::optional<std::int64_t> seq = std::nullopt;
  std::optional<maint::dialect> dialect = std::nullopt;
};

void add_moving(builder& b, const moving_parts& m) {
  if (m.bring_up && m.to) {
    b.add(m.id + ".up", m.start, accept_action{*m.to, endpoint_state::up});
  }
  b.add(m.id, m.start,
        notify(maint::moving{.time_s = m.time_s, .endpoint = m.to}, m.from, m.dialect, m.seq));
  auto who = endpoint_target(m.from);
  who.filter = opt_in_filter::any;
  // With a null endpoint clients come back to the same address after time/2; those new
  // connections are "on the new node" and must survive the close.
  if (!m.to) {
    who.opened_before = m.id;
  }
  b.add_after(m.id + ".close", m.id, grace(m.time_s, m.late_close),
              close_action{who, m.close_how, close_point::between_frames, "MOVING grace over"});
  if (m.retire_old) {
    b.add_after(m.id + ".retire", m.id + ".close", milliseconds{0},
                accept_action{m.from, endpoint_state::down});
  }
}

void add_latency(builder& b, const std::string& id, const std::string& endpoint,
                 milliseconds latency, milliseconds window) {
  if (latency.count() <= 0) {
    return;
  }
  b.add_after(id + ".latency", id, milliseconds{0}, latency_action{endpoint, latency, {}});
  b.add_after(id + ".latency_end", id, window, latency_action{endpoint, milliseconds{0}, {}});
}

void expand_step(const scenario& s, const step& st, std::vector<step>& out) {
  builder b(out, st.origin);
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, latency_action>) {
          b.add(st.id, st.start, latency_action{a.endpoint, a.delay, {}});
          if (a.window) {
            b.add_after(st.id + ".end", st.id, *a.window,
                        latency_action{a.endpoint, milliseconds{0}, {}});
          }
        } else if constexpr (std::is_same_v<T, stall_action>) {
          b.add(st.id, st.start, stall_action{a.endpoint, {}});
          if (a.window) {
            b.add_after(st.id + ".end", st.id, *a.window, release_action{a.endpoint});
          }
        } else if constexpr (std::is_same_v<T, fragment_action>) {
          b.add(st.id, st.start, fragment_action{a.endpoint, a.chunk_bytes, a.pause, {}});
          if (a.window) {
            b.add_after(st.id + ".end", st.id, *a.window,
                        fragment_action{a.endpoint, 0, milliseconds{0}, {}});
          }
        } else if constexpr (std::is_same_v<T, moving_lifecycle_action>) {
          add_moving(b, moving_parts{.id = st.id,
                                     .start = st.start,
                                     .from = a.from,
                                     .to = a.to,
                                     .time_s = a.time_s,
                                     .late_close = a.late_close,
                                     .close_how = a.close_how,
                                     .retire_old = a.retire_old,
                                     .seq = a.seq,
                                     .dialect = a.dialect});
        } else if constexpr (std::is_same_v<T, rolling_upgrade_action>) {
          const auto shards = shards_or_default(s, a.shards, a.from);
          b.add(st.id + ".up", st.start, accept_action{a.to, endpoint_state::up});
          b.add(st.id, st.start,
                notify(maint::migrating{.time_s = a.migrating_time_s, .shard_ids = shards}, a.from,
                       a.dialect));
          add_latency(b, st.id, a.from, a.latency, a.migrate_for);
          b.add_after(st.id + ".migrated", st.id, a.migrate_for,
                      notify(maint::migrated{.shard_ids = shards}, a.from, a.dialect));
          add_moving(b, moving_parts{.id = st.id + ".moving",
                                     .start = after_step{st.id + ".migrated", milliseconds{0}},
                                     .from = a.from,
                                     .to = a.to,
                                     .time_s = a.moving_time_s,
                                     .late_close = a.late_close,
                                     .close_how = a.close_how,
                                     .bring_up = false,
                                     .dialect = a.dialect});
        } else if constexpr (std::is_same_v<T, maintenance_mode_action>) {
          const auto shards = shards_or_default(s, a.shards, a.from);
          b.add(st.id + ".up", st.start, accept_action{a.to, endpoint_state::up});
          b.add(st.id, st.start,
                notify(maint::failing_over{.time_s = a.time_s, .shard_ids = shards}, a.from,
                       a.dialect));
          add_latency(b, st.id, a.from, a.latency, a.failover_for + a.migrate_for);
          b.add_after(st.id + ".failed_over", st.id, a.failover_for,
                      notify(maint::failed_over{.shard_ids = shards}, a.from, a.dialect));
          b.add_after(
              st.id + ".migrating", st.id + ".failed_over", milliseconds{0},
              notify(maint::migrating{.time_s = a.time_s, .shard_ids = shards}, a.from, a.dialect));
          b.add_after(st.id + ".migrated", st.id + ".migrating", a.migrate_for,
                      notify(maint::migrated{.shard_ids = shards}, a.from, a.dialect));
          add_moving(b, moving_parts{.id = st.id + ".moving",
                                     .start = after_step{st.id + ".migrated", milliseconds{0}},
                                     .from = a.from,
                                     .to = a.to,
                                     .time_s = a.moving_time_s,
                                     .late_close = a.late_close,
                                     .close_how = a.close_how,
                                     .bring_up = false,
                                     .dialect = a.dialect});
        } else if constexpr (std::is_same_v<T, in_place_upgrade_action>) {
          const auto shards = shards_or_default(s, a.shards, a.endpoint);
          maint::notification opener = maint::migrating{.time_s = a.time_s, .shard_ids = shards};
          maint::notification closer = maint::migrated{.shard_ids = shards};
          if (a.opener == maint::kind::failing_over) {
            opener = maint::failing_over{.time_s = a.time_s, .shard_ids = shards};
            closer = maint::failed_over{.shard_ids = shards};
          }
          b.add(st.id, st.start, notify(opener, a.endpoint, a.dialect));
          add_latency(b, st.id, a.endpoint, a.latency, a.window);
          auto everyone = endpoint_target(a.endpoint);
          everyone.filter = opt_in_filter::any;
          b.add_after(st.id + ".restart", st.id, a.restart_after,
                      close_action{everyone, a.close_how, close_point::between_frames,
                                   "process replaced (in-place upgrade)"});
          b.add_after(st.id + ".down", st.id + ".restart", milliseconds{0},
                      accept_action{a.endpoint, endpoint_state::down});
          b.add_after(st.id + ".up", st.id + ".restart", a.downtime,
                      accept_action{a.endpoint, endpoint_state::up});
          b.add_after(st.id + ".end", st.id, a.window, notify(closer, a.endpoint, a.dialect));
        } else if constexpr (std::is_same_v<T, migrate_action> ||
                             std::is_same_v<T, failover_action>) {
          const auto shards = shards_or_default(s, a.shards, a.endpoint);
          maint::notification opener = maint::migrating{.time_s = a.time_s, .shard_ids = shards};
          maint::notification closer = maint::migrated{.shard_ids = shards};
          if constexpr (std::is_same_v<T, failover_action>) {
            opener = maint::failing_over{.time_s = a.time_s, .shard_ids = shards};
            closer = maint::failed_over{.shard_ids = shards};
          }
          b.add(st.id, st.start, notify(opener, a.endpoint, a.dialect));
          add_latency(b, st.id, a.endpoint, a.latency, a.duration);
          b.add_after(st.id + ".end", st.id, a.duration, notify(closer, a.endpoint, a.dialect));
        } else {
          b.add(st.id, st.start, a);
        }
      },
      st.what);
}

auto has_window(const action& a) -> bool {
  if (const auto* l = std::get_if<latency_action>(&a)) {
    return l->window.has_value();
  }
  if (const auto* st = std::get_if<stall_action>(&a)) {
    return st->window.has_value();
  }
  if (const auto* f = std::get_if<fragment_action>(&a)) {
    return f->window.has_value();
  }
  return false;
}

}  // namespace

auto expand(const scenario& s) -> scenario {
  scenario out = s;
  out.steps.clear();
  out.steps.reserve(s.steps.size() * 2);
  for (const auto& st : s.steps) {
    expand_step(s, st, out.steps);
  }
  return out;
}

auto is_expanded(const scenario& s) -> bool {
  for (const auto& st : s.steps) {
    if (is_composite(st.what) || has_window(st.what)) {
      return false;
    }
  }
  return true;
}

}  // namespace schsim::scenario
