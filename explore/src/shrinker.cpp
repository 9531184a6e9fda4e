#include <schsim/core/scenario/validate.hpp>
#include <schsim/explore/generator.hpp>
#include <schsim/explore/shrinker.hpp>

#include <algorithm>
#include <type_traits>
#include <utility>

namespace schsim::explore {
namespace {

namespace sc = schsim::scenario;
using ms = std::chrono::milliseconds;
using namespace std::chrono_literals;

// Tail the shrinker leaves after the timeline when it cuts the run's duration.
constexpr ms duration_tail = 1000ms;

void renumber(sc::scenario& s) {
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    s.steps[i].origin = i;
  }
}

// `delay` after `base`: the trigger a step had when it followed a step that is now removed.
auto shifted(const sc::trigger& base, ms delay) -> sc::trigger {
  return std::visit(
      [&](auto t) -> sc::trigger {
        using T = std::decay_t<decltype(t)>;
        if constexpr (std::is_same_v<T, sc::at_time>) {
          t.at += delay;
        } else {
          t.delay += delay;
        }
        return t;
      },
      base);
}

auto without_step(const sc::scenario& s, std::size_t index) -> sc::scenario {
  sc::scenario out = s;
  const auto removed = out.steps[index];
  out.steps.erase(out.steps.begin() + static_cast<std::ptrdiff_t>(index));
  for (auto& st : out.steps) {
    if (const auto* after = std::get_if<sc::after_step>(&st.start);
        after && after->step == removed.id) {
      st.start = shifted(removed.start, after->delay);
    }
    if (auto* send = std::get_if<sc::send_action>(&st.what)) {
      if (send->same_seq_as == removed.id) {
        send->same_seq_as.clear();
      }
      if (send->to.opened_before == removed.id) {
        send->to.opened_before.clear();
      }
    }
    if (auto* close = std::get_if<sc::close_action>(&st.what);
        close && close->to.opened_before == removed.id) {
      close->to.opened_before.clear();
    }
  }
  renumber(out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Payload simplifications: each returns true when it changed something.

using simplification = bool (*)(sc::action&);

template <class F>
auto on_dialect(sc::action& a, F&& f) -> bool {
  return std::visit(
      [&](auto& x) -> bool {
        if constexpr (requires { x.dialect; }) {
          return f(x.dialect);
        } else {
          return false;
        }
      },
      a);
}

auto canonical_dialect(sc::action& a) -> bool {
  return on_dialect(a, [](std::optional<maint::dialect>& d) {
    const bool changed = d.has_value();
    d.reset();
    return changed;
  });
}

auto automatic_seq(sc::action& a) -> bool {
  return std::visit(
      [](auto& x) -> bool {
        if constexpr (requires { x.seq; }) {
          const bool changed = x.seq.has_value();
          x.seq.reset();
          return changed;
        } else {
          return false;
        }
      },
      a);
}

auto no_inner_latency(sc::action& a) -> bool {
  return std::visit(
      [](auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (requires { x.latency; } && !std::is_same_v<T, sc::latency_action>) {
          const bool changed = x.latency != ms{0};
          x.latency = ms{0};
          return changed;
        } else {
          return false;
        }
      },
      a);
}

auto plain_close(sc::action& a) -> bool {
  if (auto* c = std::get_if<sc::close_action>(&a)) {
    const bool changed =
        c->how != sc::close_mode::fin || c->point != sc::close_point::between_frames;
    c->how = sc::close_mode::fin;
    c->point = sc::close_point::between_frames;
    return changed;
  }
  return std::visit(
      [](auto& x) -> bool {
        if constexpr (requires { x.close_how; }) {
          const bool changed = x.close_how != sc::close_mode::fin;
          x.close_how = sc::close_mode::fin;
          return changed;
        } else {
          return false;
        }
      },
      a);
}

auto default_send_options(sc::action& a) -> bool {
  auto* s = std::get_if<sc::send_action>(&a);
  if (s == nullptr) {
    return false;
  }
  const bool changed = s->replay != sc::replay_policy::by_kind || s->active_for.has_value();
  s->replay = sc::replay_policy::by_kind;
  s->active_for.reset();
  return changed;
}

auto simpler_moving(sc::action& a) -> bool {
  auto* m = std::get_if<sc::moving_lifecycle_action>(&a);
  if (m == nullptr) {
    return false;
  }
  const bool changed = m->retire_old || m->late_close != ms{0};
  m->retire_old = false;
  m->late_close = ms{0};
  return changed;
}

auto simpler_cluster(sc::action& a) -> bool {
  if (auto* m = std::get_if<sc::slot_migration_action>(&a)) {
    const bool changed =
        m->redeliver_after.has_value() || m->smigrated_to != sc::smigrated_scope::source;
    m->redeliver_after.reset();
    m->smigrated_to = sc::smigrated_scope::source;
    return changed;
  }
  return std::visit(
      [](auto& x) -> bool {
        if constexpr (requires { x.smigrated_to; }) {
          const bool changed = x.smigrated_to != sc::smigrated_scope::source;
          x.smigrated_to = sc::smigrated_scope::source;
          return changed;
        } else {
          return false;
        }
      },
      a);
}

constexpr std::array<std::pair<std::string_view, simplification>, 7> simplifications{{
    {"canonical dialect", &canonical_dialect},
    {"automatic seq", &automatic_seq},
    {"no latency inside", &no_inner_latency},
    {"FIN between frames", &plain_close},
    {"default replay", &default_send_options},
    {"no late close or retirement", &simpler_moving},
    {"SMIGRATED once, to the source", &simpler_cluster},
}};

// ---------------------------------------------------------------------------------------------
// Times

// Every duration a step holds: its trigger's delay and its action's lengths.
auto durations_of(sc::step& st) -> std::vector<std::pair<std::string, ms*>> {
  std::vector<std::pair<std::string, ms*>> out;
  std::visit(
      [&](auto& t) {
        using T = std::decay_t<decltype(t)>;
        if constexpr (std::is_same_v<T, sc::at_time>) {
          out.emplace_back("start", &t.at);
        } else {
          out.emplace_back("start", &t.delay);
        }
      },
      st.start);
  auto add = [&](std::string_view name, auto& field) {
    if constexpr (std::is_same_v<std::decay_t<decltype(field)>, ms>) {
      out.emplace_back(std::string(name), &field);
    } else if (field) {
      out.emplace_back(std::string(name), &*field);
    }
  };
  std::visit(
      [&](auto& x) {
        if constexpr (requires { x.window; }) {
          add("window", x.window);
        }
        if constexpr (requires { x.delay; }) {
          add("delay", x.delay);
        }
        if constexpr (requires { x.duration; }) {
          add("duration", x.duration);
        }
        if constexpr (requires { x.latency; }) {
          add("latency", x.latency);
        }
        if constexpr (requires { x.late_close; }) {
          add("late_close", x.late_close);
        }
        if constexpr (requires { x.migrate_for; }) {
          add("migrate_for", x.migrate_for);
        }
        if constexpr (requires { x.failover_for; }) {
          add("failover_for", x.failover_for);
        }
        if constexpr (requires { x.restart_after; }) {
          add("restart_after", x.restart_after);
        }
        if constexpr (requires { x.downtime; }) {
          add("downtime", x.downtime);
        }
        if constexpr (requires { x.retire_after; }) {
          add("retire_after", x.retire_after);
        }
        if constexpr (requires { x.redeliver_after; }) {
          add("redeliver_after", x.redeliver_after);
        }
        if constexpr (requires { x.active_for; }) {
          add("active_for", x.active_for);
        }
      },
      st.what);
  return out;
}

// Shorter values worth trying for `d`, largest change first: none at all, rounded down to a
// whole second, half second or 100 ms, then halved.
auto shorter(ms d) -> std::vector<ms> {
  std::vector<ms> out;
  auto offer = [&](ms v) {
    if (v < d && v >= ms{0} && std::ranges::find(out, v) == out.end()) {
      out.push_back(v);
    }
  };
  offer(ms{0});
  for (const ms grid : {1000ms, 500ms, 100ms}) {
    offer(d / grid * grid);
  }
  offer(d / 100 * 50);  // half, on a 50 ms grid
  return out;
}

auto time_fields(sc::action& a) -> std::vector<std::pair<std::string, std::int64_t*>> {
  std::vector<std::pair<std::string, std::int64_t*>> out;
  std::visit(
      [&](auto& x) {
        if constexpr (requires { x.time_s; }) {
          out.emplace_back("time", &x.time_s);
        }
        if constexpr (requires { x.moving_time_s; }) {
          out.emplace_back("moving_time", &x.moving_time_s);
        }
        if constexpr (requires { x.migrating_time_s; }) {
          out.emplace_back("migrating_time", &x.migrating_time_s);
        }
      },
      a);
  if (auto* s = std::get_if<sc::send_action>(&a)) {
    std::visit(
        [&](auto& n) {
          if constexpr (requires { n.time_s; }) {
            out.emplace_back("time", &n.time_s);
          }
        },
        s->notification);
  }
  return out;
}

void add_step_candidates(const sc::scenario& s, std::vector<candidate>& out) {
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    out.push_back({"remove step " + s.steps[i].id, without_step(s, i)});
  }
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    for (const auto& [name, simplify] : simplifications) {
      auto c = s;
      if (simplify(c.steps[i].what)) {
        out.push_back({std::string(name) + " in " + s.steps[i].id, std::move(c)});
      }
    }
  }
}

void add_context_candidates(const sc::scenario& s, std::vector<candidate>& out) {
  if (s.load.probe) {
    auto c = s;
    c.load.probe.reset();
    out.push_back({"no latency probe", std::move(c)});
  }
  if (s.load.mix.size() > 1) {
    auto c = s;
    c.load.mix = {{s.load.mix.front().command, 1}};
    out.push_back({"workload of " + s.load.mix.front().command + " only", std::move(c)});
  }
  if (s.dialect != maint::dialect{}) {
    auto c = s;
    c.dialect = {};
    out.push_back({"canonical dialect", std::move(c)});
  }
  for (std::size_t i = 0; i < s.topo.endpoints.size(); ++i) {
    if (s.topo.endpoints[i].name != s.topo.start) {
      auto c = s;
      c.topo.endpoints.erase(c.topo.endpoints.begin() + static_cast<std::ptrdiff_t>(i));
      out.push_back({"remove endpoint " + s.topo.endpoints[i].name, std::move(c)});
    }
  }
}

// The run's duration cut to what its timeline needs: last, once the steps are as short as
// they get.
void add_duration_candidate(const sc::scenario& s, std::vector<candidate>& out) {
  const auto needed = required_duration(s, duration_tail);
  if (needed < s.duration) {
    auto c = s;
    c.duration = needed;
    out.push_back({"duration " + std::to_string(needed.count()) + " ms", std::move(c)});
  }
}

void add_time_candidates(const sc::scenario& s, std::vector<candidate>& out) {
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    auto probe = s;
    const auto fields = durations_of(probe.steps[i]);
    for (std::size_t f = 0; f < fields.size(); ++f) {
      for (const auto v : shorter(*fields[f].second)) {
        auto c = s;
        *durations_of(c.steps[i])[f].second = v;
        out.push_back(
            {fields[f].first + " of " + s.steps[i].id + " " + std::to_string(v.count()) + " ms",
             std::move(c)});
      }
    }
    const auto times = time_fields(probe.steps[i].what);
    for (std::size_t f = 0; f < times.size(); ++f) {
      if (*times[f].second > 1) {
        auto c = s;
        *time_fields(c.steps[i].what)[f].second = 1;
        out.push_back({times[f].first + " of " + s.steps[i].id + " 1", std::move(c)});
      }
    }
  }
}

}  // namespace

auto runnable(const scenario::scenario& s) -> bool {
  return sc::validate(s).empty() && required_duration(s, ms{0}) <= s.duration;
}

auto candidates(const scenario::scenario& s) -> std::vector<candidate> {
  std::vector<candidate> all;
  add_step_candidates(s, all);
  add_context_candidates(s, all);
  add_time_candidates(s, all);
  add_duration_candidate(s, all);
  std::erase_if(all, [](const candidate& c) { return !runnable(c.scn); });
  return all;
}

auto shrink(const scenario::scenario& failing, const batch_predicate& still_fails,
            const shrink_options& options) -> shrink_result {
  shrink_result result;
  result.minimal = failing;
  const std::size_t batch = std::max<std::size_t>(options.batch, 1);
  bool changed_in_pass = true;
  while (changed_in_pass) {
    changed_in_pass = false;
    std::size_t next = 0;
    for (;;) {
      auto cands = candidates(result.minimal);
      if (next >= cands.size()) {
        break;
      }
      if (result.attempts >= options.max_attempts) {
        result.budget_exhausted = true;
        return result;
      }
      const auto take =
          std::min({batch, cands.size() - next, options.max_attempts - result.attempts});
      const std::span<const candidate> judged(cands.data() + next, take);
      const auto verdicts = still_fails(judged);
      result.attempts += take;
      const auto hit = std::ranges::find(verdicts, true);
      if (hit == verdicts.end()) {
        next += take;
        continue;
      }
      // The list is rebuilt from the new scenario; its candidate at the same position is the
      // next one of the same kind, so the pass goes on from there.
      const auto& accepted = judged[static_cast<std::size_t>(hit - verdicts.begin())];
      next += static_cast<std::size_t>(hit - verdicts.begin());
      result.changes.push_back(accepted.change);
      result.minimal = accepted.scn;
      changed_in_pass = true;
      if (options.on_accept) {
        options.on_accept(accepted, result.attempts);
      }
    }
  }
  return result;
}

auto shrink(const scenario::scenario& failing,
            const std::function<bool(const scenario::scenario&)>& still_fails,
            const shrink_options& options) -> shrink_result {
  return shrink(
      failing,
      [&](std::span<const candidate> batch) {
        std::vector<bool> out;
        for (const auto& c : batch) {
          out.push_back(still_fails(c.scn));
        }
        return out;
      },
      options);
}

}  // namespace schsim::explore
