#include <schsim/core/overloaded.hpp>
#include <schsim/core/scenario/expand.hpp>
#include <schsim/engine/engine.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace schsim::engine {
namespace {

namespace sc = schsim::scenario;

using schsim::overloaded;

auto upper(std::string s) -> std::string {
  std::ranges::transform(s, s.begin(),
                         [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

auto plural(std::size_t n, std::string_view what) -> std::string {
  return std::to_string(n) + " " + std::string(what) + (n == 1 ? "" : "s");
}

}  // namespace

auto counts_as_command(const std::vector<std::string>& args) -> bool {
  if (args.empty()) {
    return false;
  }
  const auto name = upper(args.front());
  // Cluster clients' topology discovery (CLUSTER SLOTS) and redirection handshake (ASKING)
  // are connection housekeeping too.
  return name != "HELLO" && name != "AUTH" && name != "CLIENT" && name != "SELECT" &&
         name != "READONLY" && name != "READWRITE" && name != "ASKING" && name != "CLUSTER" &&
         name != "COMMAND" && name != "QUIT";
}

scenario_engine::scenario_engine(const sc::scenario& s, std::vector<endpoint_address> addresses,
                                 std::mt19937_64& rng)
    : steps_(sc::expand(s).steps),
      addresses_(std::move(addresses)),
      default_dialect_(s.dialect),
      rng_(rng),
      duration_(s.duration) {
  status_.resize(steps_.size());
  dependents_.resize(steps_.size());
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    index_of_.emplace(steps_[i].id, i);
  }
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (const auto* after = std::get_if<sc::after_step>(&steps_[i].start)) {
      const auto it = index_of_.find(after->step);
      if (it == index_of_.end()) {
        throw std::invalid_argument("step '" + steps_[i].id + "' waits for unknown step '" +
                                    after->step + "' (validate the scenario first)");
      }
      dependents_[it->second].push_back(i);
    }
  }
  // Seqs look like the fault injector's (it numbers from 1001); drawing the base from the seed
  // keeps runs reproducible while different seeds exercise different values.
  next_seq_ =
      s.seq_start ? *s.seq_start : std::uniform_int_distribution<std::int64_t>(1000, 99'999)(rng_);
}

void scenario_engine::adopt(const known_connection& c) {
  auto& st = conns_[c.id];
  st.id = c.id;
  st.endpoint = c.endpoint;
  st.opened_at = c.opened_at;
  st.ordinal = ++opened_total_;
  st.endpoint_ordinal = ++opened_by_endpoint_[c.endpoint];
  st.opted_in = c.maint_enabled;
  st.endpoint_type = c.endpoint_type;
  auto bump = [&](sc::observed_counter k) {
    ++counters_[k].total;
    ++counters_[k].by_endpoint[c.endpoint];
  };
  bump(sc::observed_counter::connections);
  if (c.maint_enabled) {
    bump(sc::observed_counter::handshakes);
  }
}

void scenario_engine::start(time_point now) {
  t0_ = now;
  started_ = true;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (const auto* at = std::get_if<sc::at_time>(&steps_[i].start)) {
      status_[i].scheduled = t0_ + at->at;
    }
  }
  // Conditions already met by adopted connections count as met at the start.
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const auto* w = std::get_if<sc::when_observed>(&steps_[i].start);
    if (w == nullptr) {
      continue;
    }
    const auto& c = counters_[w->counter];
    std::uint64_t n = c.total;
    if (!w->endpoint.empty()) {
      const auto it = c.by_endpoint.find(w->endpoint);
      n = it == c.by_endpoint.end() ? 0 : it->second;
    }
    if (n >= w->count) {
      status_[i].scheduled = now + w->delay;
    }
  }
}

void scenario_engine::add_steps(std::vector<sc::step> steps, time_point now) {
  std::map<std::string, std::size_t, std::less<>> new_ids;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& st = steps[i];
    if (sc::is_composite(st.what)) {
      throw std::invalid_argument("step '" + st.id + "' is composite: expand it first");
    }
    if (std::holds_alternative<sc::when_observed>(st.start)) {
      throw std::invalid_argument("step '" + st.id + "' waits for a counter: not addable");
    }
    if (index_of_.contains(st.id) || !new_ids.emplace(st.id, steps_.size() + i).second) {
      throw std::invalid_argument("step id '" + st.id + "' is already used");
    }
  }
  for (const auto& st : steps) {
    if (const auto* after = std::get_if<sc::after_step>(&st.start);
        after && !index_of_.contains(after->step) && !new_ids.contains(after->step)) {
      throw std::invalid_argument("step '" + st.id + "' waits for unknown step '" + after->step +
                                  "'");
    }
  }
  const auto first = steps_.size();
  for (auto& st : steps) {
    index_of_.emplace(st.id, steps_.size());
    steps_.push_back(std::move(st));
  }
  status_.resize(steps_.size());
  dependents_.resize(steps_.size());
  for (std::size_t i = first; i < steps_.size(); ++i) {
    if (const auto* at = std::get_if<sc::at_time>(&steps_[i].start)) {
      status_[i].scheduled = now + at->at;
    } else if (const auto* after = std::get_if<sc::after_step>(&steps_[i].start)) {
      const auto dep = index_of_.at(after->step);
      dependents_[dep].push_back(i);
      if (status_[dep].done) {
        status_[i].scheduled = *status_[dep].scheduled + after->delay;
      }
    }
  }
}

auto scenario_engine::all_steps_done() const -> bool {
  return std::ranges::all_of(status_, &step_status::done);
}

void scenario_engine::count(sc::observed_counter k, const std::string& endpoint, time_point at) {
  auto& c = counters_[k];
  ++c.total;
  const auto on_endpoint = ++c.by_endpoint[endpoint];
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const auto* w = std::get_if<sc::when_observed>(&steps_[i].start);
    if (w == nullptr || w->counter != k || status_[i].scheduled) {
      continue;
    }
    const auto n = w->endpoint.empty() ? c.total : (w->endpoint == endpoint ? on_endpoint : 0);
    if (n >= w->count) {
      status_[i].scheduled = at + w->delay;
    }
  }
}

void scenario_engine::observe(const timeline::event& e, std::vector<action>& out) {
  const auto at = from_ns(e.t_ns);
  std::visit(overloaded{[&](const timeline::connection_opened&) {
                          auto& c = conns_[e.conn];
                          c.id = e.conn;
                          c.endpoint = e.endpoint;
                          c.opened_at = at;
                          c.ordinal = ++opened_total_;
                          c.endpoint_ordinal = ++opened_by_endpoint_[e.endpoint];
                          count(sc::observed_counter::connections, e.endpoint, at);
                        },
                        [&](const timeline::connection_closed&) {
                          if (auto it = conns_.find(e.conn); it != conns_.end()) {
                            it->second.open = false;
                          }
                        },
                        [&](const timeline::maint_handshake& h) {
                          if (!h.accepted) {
                            return;
                          }
                          auto& c = conns_[e.conn];
                          if (c.id == 0) {  // opened before we were watching
                            c.id = e.conn;
                            c.endpoint = e.endpoint;
                            c.opened_at = at;
                            c.ordinal = ++opened_total_;
                            c.endpoint_ordinal = ++opened_by_endpoint_[e.endpoint];
                          }
                          c.opted_in = h.enable;
                          c.endpoint_type = h.endpoint_type;
                          if (h.enable) {
                            count(sc::observed_counter::handshakes, e.endpoint, at);
                            replay_to(c, at, out);
                          }
                        },
                        [&](const timeline::command_received& cmd) {
                          if (counts_as_command(cmd.args)) {
                            count(sc::observed_counter::commands, e.endpoint, at);
                          }
                        },
                        [](const auto&) {}},
             e.what);
}

void scenario_engine::replay_to(const connection_state& c, time_point at,
                                std::vector<action>& out) {
  for (auto& r : active_.for_new_connection(c.endpoint, at)) {
    // A MOVING points away from the endpoint it was sent on: a connection already on its target
    // is where traffic moves to, and a real server announces nothing there. Replaying it would
    // tell the client to move to where it is, in a loop.
    if (const auto* m = std::get_if<maint::moving>(&r.notification);
        m && m->endpoint && names_endpoint(*m->endpoint, c.endpoint)) {
      continue;
    }
    auto n = render(r.notification, c);
    // A MOVING without endpoint tells the client to come back to the same address after
    // time/2, when that address reaches the new node; so from time/2 on a new connection is
    // talking to the new node, which announces nothing. Replaying it there would send a
    // client that obeys the notification round in a reconnect loop.
    if (const auto* m = std::get_if<maint::moving>(&n);
        m && !m->endpoint && r.original_time_s &&
        r.elapsed * 2 >= std::chrono::seconds{*r.original_time_s}) {
      continue;
    }
    std::string detail = std::string(maint::wire_name(maint::kind_of(n))) +
                         " seq=" + std::to_string(maint::seq_of(n));
    if (const auto t = maint::time_of(n)) {
      detail += " time=" + std::to_string(*t);
    }
    detail += " replayed to connection " + std::to_string(c.id);
    out.emplace_back(perform{r.origin_step + "#replay", "replay", at,
                             push_command{{delivery{c.id, std::move(n)}}, r.dialect, true},
                             std::move(detail)});
  }
}

auto scenario_engine::address_of(const std::string& ref,
                                 const std::optional<std::string>& endpoint_type) const
    -> std::optional<std::string> {
  if (ref.find(':') != std::string::npos) {
    return ref;  // a literal host:port
  }
  const auto it = std::ranges::find(addresses_, ref, &endpoint_address::name);
  if (it == addresses_.end()) {
    return ref;  // validated scenarios never get here; send what was written
  }
  if (endpoint_type == "none") {
    return std::nullopt;
  }
  const bool fqdn = endpoint_type && endpoint_type->ends_with("-fqdn") && !it->fqdn.empty();
  return (fqdn ? it->fqdn : it->host) + ":" + std::to_string(it->port);
}

auto scenario_engine::names_endpoint(const std::string& ref, const std::string& endpoint) const
    -> bool {
  if (ref == endpoint) {
    return true;
  }
  const auto it = std::ranges::find(addresses_, endpoint, &endpoint_address::name);
  if (it == addresses_.end()) {
    return false;
  }
  const auto port = ":" + std::to_string(it->port);
  return ref == it->host + port || (!it->fqdn.empty() && ref == it->fqdn + port);
}

auto scenario_engine::render(const maint::notification& proto, const connection_state& c) const
    -> maint::notification {
  auto n = proto;
  if (auto* m = std::get_if<maint::moving>(&n); m && m->endpoint) {
    m->endpoint = address_of(*m->endpoint, c.endpoint_type);
  } else if (auto* sm = std::get_if<maint::smigrated>(&n)) {
    // Cluster topology deltas always carry ip:port.
    for (auto& entry : sm->entries) {
      entry.source = address_of(entry.source, std::nullopt).value_or(entry.source);
      entry.destination = address_of(entry.destination, std::nullopt).value_or(entry.destination);
    }
  }
  return n;
}

auto scenario_engine::resolve(const sc::target& t) -> std::vector<conn_id> {
  if (t.scope == sc::target_scope::new_connections) {
    return {};
  }
  std::optional<time_point> before;
  if (!t.opened_before.empty()) {
    const auto it = index_of_.find(t.opened_before);
    if (it != index_of_.end() && status_[it->second].done) {
      before = status_[it->second].scheduled;
    }
  }
  const bool by_endpoint = !t.endpoint.empty() && t.scope != sc::target_scope::all;
  auto matches = [&](const connection_state& c) {
    return c.open && (!by_endpoint || c.endpoint == t.endpoint) &&
           (t.filter == sc::opt_in_filter::any || c.opted_in) && (!before || c.opened_at < *before);
  };
  std::vector<conn_id> out;
  if (t.scope == sc::target_scope::connection && t.pick == sc::connection_pick::ordinal) {
    for (const auto& [id, c] : conns_) {
      const auto ordinal = by_endpoint ? c.endpoint_ordinal : c.ordinal;
      if (ordinal == t.ordinal && (!by_endpoint || c.endpoint == t.endpoint) && matches(c)) {
        out.push_back(id);
      }
    }
    return out;
  }
  for (const auto& [id, c] : conns_) {
    if (matches(c)) {
      out.push_back(id);
    }
  }
  if (t.scope == sc::target_scope::connection && !out.empty()) {
    if (t.pick == sc::connection_pick::last) {
      const auto last = std::ranges::max_element(
          out, [&](conn_id a, conn_id b) { return conns_.at(a).ordinal < conns_.at(b).ordinal; });
      return {*last};
    }
    std::uniform_int_distribution<std::size_t> pick(0, out.size() - 1);
    return {out[pick(rng_)]};
  }
  return out;
}

auto scenario_engine::make_push(const std::string& step, time_point scheduled,
                                const sc::send_action& a, time_point now) -> perform {
  auto proto = a.notification;
  std::int64_t seq = 0;
  if (const auto it = seq_of_step_.find(a.same_seq_as);
      !a.same_seq_as.empty() && it != seq_of_step_.end()) {
    seq = it->second;
  } else {
    seq = a.seq ? *a.seq : next_seq_++;
  }
  seq_of_step_[step] = seq;
  maint::set_seq(proto, seq);
  const auto dialect = a.dialect.value_or(default_dialect_);
  const auto k = maint::kind_of(proto);

  push_command cmd{{}, dialect, false};
  for (const auto id : resolve(a.to)) {
    cmd.deliveries.push_back(delivery{id, render(proto, conns_.at(id))});
  }

  // Replay scope: the endpoint the notification went to (or the one named for new
  // connections); a single-connection send is replayed only when asked to.
  const bool replay =
      a.replay == sc::replay_policy::always || a.to.scope == sc::target_scope::new_connections ||
      (a.replay == sc::replay_policy::by_kind && a.to.scope != sc::target_scope::connection &&
       (k == maint::kind::moving || maint::opens_window(k)));
  const std::string scope = a.to.scope == sc::target_scope::all ? std::string{} : a.to.endpoint;
  active_.on_sent(k, scope);
  if (replay) {
    active_notification n{step, proto, dialect, scope, now, std::nullopt};
    if (a.active_for) {
      n.expires_at = now + *a.active_for;
    } else if (k == maint::kind::moving) {
      // Clamped: a negative-payload test may announce an absurd grace.
      constexpr std::int64_t ten_years = 10LL * 365 * 24 * 3600;
      n.expires_at =
          now + seconds{std::clamp<std::int64_t>(maint::time_of(proto).value_or(0), 0, ten_years)};
    }
    active_.activate(std::move(n));
  }

  std::string detail =
      std::string(maint::wire_name(k)) + " seq=" + std::to_string(maint::seq_of(proto));
  if (const auto t = maint::time_of(proto)) {
    detail += " time=" + std::to_string(*t);
  }
  detail += " to " + plural(cmd.deliveries.size(), "connection");
  if (replay) {
    detail += ", replayed to new ones";
  }
  return perform{step, "send", scheduled, std::move(cmd), std::move(detail)};
}

void scenario_engine::run_step(std::size_t index, time_point now, std::vector<action>& out) {
  const auto& st = steps_[index];
  const auto scheduled = *status_[index].scheduled;
  status_[index].done = true;
  for (const auto dep : dependents_[index]) {
    const auto& after = std::get<sc::after_step>(steps_[dep].start);
    status_[dep].scheduled = scheduled + after.delay;
  }
  const std::string name(sc::action_name(st.what));
  auto emit = [&](command c, std::string detail) {
    out.emplace_back(perform{st.id, name, scheduled, std::move(c), std::move(detail)});
  };
  std::visit(
      overloaded{
          [&](const sc::send_action& a) { out.emplace_back(make_push(st.id, scheduled, a, now)); },
          [&](const sc::raw_action& a) {
            auto conns = resolve(a.to);
            auto detail =
                std::to_string(a.bytes.size()) + " bytes to " + plural(conns.size(), "connection");
            emit(raw_command{std::move(conns), a.bytes}, std::move(detail));
          },
          [&](const sc::latency_action& a) {
            emit(latency_command{a.endpoint, a.delay},
                 a.endpoint + " replies delayed by " + std::to_string(a.delay.count()) + "ms");
          },
          [&](const sc::stall_action& a) {
            emit(stall_command{a.endpoint}, a.endpoint + " replies held");
          },
          [&](const sc::release_action& a) {
            emit(release_command{a.endpoint}, a.endpoint + " replies released");
          },
          [&](const sc::fragment_action& a) {
            emit(fragment_command{a.endpoint, a.chunk_bytes, a.pause},
                 a.chunk_bytes == 0
                     ? a.endpoint + " writes whole frames again"
                     : a.endpoint + " writes in " + std::to_string(a.chunk_bytes) +
                           "-byte chunks, " + std::to_string(a.pause.count()) + "ms apart");
          },
          [&](const sc::close_action& a) {
            auto conns = resolve(a.to);
            auto detail = std::string(sc::to_string(a.how)) + " " +
                          std::string(sc::to_string(a.point)) + " on " +
                          plural(conns.size(), "connection");
            emit(close_command{std::move(conns), a.how, a.point,
                               a.reason.empty() ? "scenario step " + st.id : a.reason},
                 std::move(detail));
          },
          [&](const sc::accept_action& a) {
            emit(accept_command{a.endpoint, a.state},
                 a.endpoint + " " + std::string(sc::to_string(a.state)));
          },
          [&](const sc::begin_slot_migration_action& a) {
            emit(slot_migration_command{slot_migration_command::phase::begin, a.from, a.to, a.slots,
                                        a.migrate_for},
                 "slots " + a.slots.to_string() + " start moving " + a.from + " -> " + a.to);
          },
          [&](const sc::complete_slot_migration_action& a) {
            emit(slot_migration_command{slot_migration_command::phase::complete, a.from, a.to,
                                        a.slots, milliseconds{0}},
                 "slots " + a.slots.to_string() + " now owned by " + a.to + " (from " + a.from +
                     ")");
          },
          [&](const sc::clear_active_action& a) {
            active_.clear(a.kind, a.endpoint);
            emit(no_command{}, "active notifications cleared");
          },
          [&](const auto&) {
            // Composites and windows were expanded away in the constructor.
            emit(no_command{}, "not expanded");
          }},
      st.what);
}

auto scenario_engine::next(time_point now, std::span<const timeline::event> observed)
    -> std::vector<action> {
  std::vector<action> out;
  if (!started_) {
    out.emplace_back(finished{"the engine was not started"});
    return out;
  }
  for (const auto& e : observed) {
    observe(e, out);
  }
  // Run every due step in deadline order (file order among equals); running one can make
  // `after` steps due.
  for (;;) {
    std::optional<std::size_t> due;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      if (status_[i].done || !status_[i].scheduled || *status_[i].scheduled > now) {
        continue;
      }
      if (!due || *status_[i].scheduled < *status_[*due].scheduled) {
        due = i;
      }
    }
    if (!due) {
      break;
    }
    run_step(*due, now, out);
  }
  const auto end = end_time();
  if (now >= end) {
    std::string missing;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      if (!status_[i].done) {
        missing += missing.empty() ? "" : ", ";
        missing += steps_[i].id;
      }
    }
    out.emplace_back(
        finished{missing.empty() ? "" : "steps never ran before the scenario ended: " + missing});
    return out;
  }
  auto deadline = end;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (!status_[i].done && status_[i].scheduled && *status_[i].scheduled < deadline) {
      deadline = *status_[i].scheduled;
    }
  }
  out.emplace_back(wait_until{deadline});
  return out;
}

auto operator<<(std::ostream& os, const action& a) -> std::ostream& {
  std::visit(
      overloaded{[&](const perform& p) {
                   os << "perform{" << p.step << " " << p.action << " @" << to_ns(p.scheduled)
                      << " " << p.detail << "}";
                 },
                 [&](const wait_until& w) { os << "wait_until{" << to_ns(w.deadline) << "}"; },
                 [&](const finished& f) { os << "finished{" << f.error << "}"; }},
      a);
  return os;
}

}  // namespace schsim::engine
