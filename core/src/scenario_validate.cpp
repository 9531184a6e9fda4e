#include <schsim/core/scenario/expand.hpp>
#include <schsim/core/scenario/limits.hpp>
#include <schsim/core/scenario/validate.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <type_traits>
#include <utility>

namespace schsim::scenario {
namespace {

auto step_path(std::size_t origin) -> std::string { return "step[" + std::to_string(origin) + "]"; }

auto join(const std::vector<std::string>& names) -> std::string {
  std::string out;
  for (const auto& n : names) {
    out += out.empty() ? "" : ", ";
    out += n;
  }
  return out;
}

// "7.5s", "250ms": how durations are written in scenario files.
auto format_duration(milliseconds d) -> std::string {
  const auto ms = d.count();
  if (ms % 1000 == 0) {
    return std::to_string(ms / 1000) + "s";
  }
  if (ms > 1000) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  return std::to_string(ms) + "ms";
}

// Which kind of step a target belongs to: only notifications can wait for new connections.
enum class target_use { notification, other };

class checker {
 public:
  explicit checker(const scenario& s) : s_(s) {
    for (const auto& e : s.topo.endpoints) {
      endpoint_names_.push_back(e.name);
    }
  }

  auto run() -> std::vector<problem> {
    check_metadata();
    check_topology();
    check_client();
    check_workload();
    check_expectations();
    check_expectations_against_setup();
    check_steps_as_written();
    if (problems_.empty()) {
      check_slot_ownership();
    }
    // Timing and references are checked on the expanded timeline, where composites have become
    // the steps that will actually run.
    if (problems_.empty()) {
      check_expanded(expand(s_));
    }
    return std::move(problems_);
  }

 private:
  void add(std::string path, std::string message, std::string hint = {}) {
    problems_.push_back(problem{std::move(path), std::move(message), std::move(hint)});
  }

  // Reports a reference to an endpoint that is not in the topology.
  void check_endpoint_ref(const std::string& name, const std::string& path,
                          std::string_view role = "endpoint") {
    if (s_.topo.find(name) != nullptr) {
      return;
    }
    if (name.empty()) {
      add(path, std::string(role) + " is missing",
          "name one of the topology's endpoints: " + join(endpoint_names_));
      return;
    }
    add(path, "unknown " + std::string(role) + " \"" + name + "\"",
        "add it under [[topology.endpoint]] or use one of: " + join(endpoint_names_));
  }

  void check_non_negative(milliseconds d, const std::string& path) {
    if (d.count() < 0) {
      add(path, "negative duration " + std::to_string(d.count()) + "ms",
          "durations are lengths of time, e.g. \"500ms\"");
    }
  }

  void check_metadata() {
    const auto& id = s_.meta.id;
    if (id.empty()) {
      add("scenario.id", "missing scenario id", "add id = \"my-scenario\" under [scenario]");
    } else if (!std::ranges::all_of(id, [](char c) {
                 return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
               })) {
      add("scenario.id", "scenario id \"" + id + "\" has characters other than a-z, 0-9, - and _",
          "use a kebab-case id such as \"moving-basic\"");
    }
    if (s_.meta.title.empty()) {
      add("scenario.title", "missing scenario title", "add title = \"...\" under [scenario]");
    }
    if (s_.duration.count() <= 0) {
      add("scenario.duration", "the scenario duration must be positive",
          "set duration = \"5s\" under [scenario]");
    }
  }

  void check_topology() {
    if (s_.topo.endpoints.empty()) {
      add("topology", "the topology has no endpoint",
          "add a [[topology.endpoint]] table with name = \"node-a\"");
      return;
    }
    std::set<std::string> seen;
    // An address is host and port: Redis Enterprise nodes share the endpoint's port on
    // different IPs, which 127.0.0.2, 127.0.0.3, ... reproduce on loopback.
    std::set<std::pair<std::string, std::uint16_t>> addresses;
    for (std::size_t i = 0; i < s_.topo.endpoints.size(); ++i) {
      const auto& e = s_.topo.endpoints[i];
      const auto base = "topology.endpoint[" + std::to_string(i) + "]";
      if (e.name.empty()) {
        add(base + ".name", "endpoint without a name", "add name = \"node-a\"");
      } else if (e.name.find(':') != std::string::npos || e.name == "all" || e.name == "new" ||
                 e.name == "none") {
        add(base + ".name", "\"" + e.name + "\" cannot name an endpoint",
            "names may not contain ':' (that marks a literal host:port) and \"all\", \"new\" "
            "and \"none\" are reserved; use e.g. \"node-a\"");
      } else if (!seen.insert(e.name).second) {
        add(base + ".name", "duplicate endpoint name \"" + e.name + "\"",
            "give every endpoint its own name");
      }
      if (!e.same_port_as.empty()) {
        const auto earlier = std::find_if(
            s_.topo.endpoints.begin(), s_.topo.endpoints.begin() + static_cast<std::ptrdiff_t>(i),
            [&](const endpoint& other) { return other.name == e.same_port_as; });
        if (earlier == s_.topo.endpoints.begin() + static_cast<std::ptrdiff_t>(i)) {
          add(base + ".same_port_as",
              "same_port_as names \"" + e.same_port_as + "\", which is not an earlier endpoint",
              "list the endpoint whose port is shared first");
        } else if (earlier->host == e.host) {
          add(base + ".same_port_as",
              "same_port_as \"" + e.same_port_as + "\" on the same host " + e.host +
                  ": both cannot listen there",
              "give this endpoint its own loopback address, e.g. host = \"127.0.0.2\"");
        } else if (e.port != 0) {
          add(base + ".port", "port and same_port_as are both set",
              "keep one: same_port_as takes the other endpoint's port");
        }
      }
      if (e.port != 0 && !addresses.insert({e.host, e.port}).second) {
        add(base + ".port", e.host + ":" + std::to_string(e.port) + " is used twice",
            "use distinct ports or hosts (127.0.0.2, ...), or port = 0 to let the OS choose");
      }
      if (e.host.empty()) {
        add(base + ".host", "empty host", "use host = \"127.0.0.1\"");
      }
    }
    check_cluster_slots();
    if (s_.topo.start.empty()) {
      add("topology.start", "missing start endpoint",
          "add start = \"" + s_.topo.endpoints.front().name + "\" under [topology]");
    } else {
      check_endpoint_ref(s_.topo.start, "topology.start", "start endpoint");
    }
  }

  // Cluster mode: every slot has exactly one owner. Standalone: nobody owns slots.
  void check_cluster_slots() {
    schsim::cluster::slot_set covered;
    for (std::size_t i = 0; i < s_.topo.endpoints.size(); ++i) {
      const auto& e = s_.topo.endpoints[i];
      const auto path = "topology.endpoint[" + std::to_string(i) + "].slots";
      if (!s_.topo.cluster) {
        if (!e.slots.empty()) {
          add(path, "slots on a standalone topology",
              "set cluster = true under [topology], or remove slots");
        }
        continue;
      }
      if (e.slots.intersects(covered)) {
        add(path,
            "slots " + e.slots.intersection(covered).to_string() + " of \"" + e.name +
                "\" are owned by another node too",
            "every slot has exactly one owner; make the slot sets disjoint");
      }
      covered.add(e.slots);
    }
    if (s_.topo.cluster && covered.size() != schsim::cluster::slot_count) {
      schsim::cluster::slot_set missing = schsim::cluster::slot_set::of(0, 16383);
      missing.remove(covered);
      // Point at the last node that owns slots: that is where the gap is usually closed.
      std::size_t at = 0;
      for (std::size_t i = 0; i < s_.topo.endpoints.size(); ++i) {
        if (!s_.topo.endpoints[i].slots.empty()) {
          at = i;
        }
      }
      add("topology.endpoint[" + std::to_string(at) + "].slots",
          "slots " + missing.to_string() + " have no owner",
          "the nodes' slots must together cover 0-16383");
    }
  }

  void check_client() {
    const auto& c = s_.client;
    if (c.protocol != 2 && c.protocol != 3) {
      add("client.protocol", "protocol must be 2 or 3, not " + std::to_string(c.protocol),
          "RESP3 (3) is required for SCH; 2 tests the RESP2 fallback");
    }
    if (c.timeout.count() <= 0) {
      add("client.timeout", "the client timeout must be positive", "e.g. timeout = \"1s\"");
    }
    if (c.relaxed_timeout && c.relaxed_timeout->count() <= 0) {
      add("client.relaxed_timeout", "the relaxed timeout must be positive",
          "use relaxed_timeout = \"10s\", or \"disabled\" to turn relaxation off");
    }
    check_non_negative(c.post_handoff_relaxed, "client.post_handoff_relaxed");
    if (c.pool_size == 0) {
      add("client.pool_size", "pool_size must be at least 1", "pool_size = 1 is one connection");
    }
  }

  void check_workload() {
    const auto& w = s_.load;
    if (w.rate < 0) {
      add("workload.rate", "negative rate", "rate is commands per second; 0 means no traffic");
    }
    if (w.duration) {
      check_non_negative(*w.duration, "workload.duration");
      if (*w.duration > s_.duration) {
        add("workload.duration",
            "the workload runs for " + format_duration(*w.duration) +
                ", longer than the scenario (" + format_duration(s_.duration) + ")",
            "shorten the workload or raise [scenario] duration");
      }
    }
    if (w.rate > 0 && w.mix.empty()) {
      add("workload.mix", "the command mix is empty",
          "add e.g. mix = { set = 1, get = 1 } or set rate = 0");
    }
    std::vector<std::string> known;
    for (auto c : known_commands()) {
      known.emplace_back(c);
    }
    for (const auto& cw : w.mix) {
      const auto path = "workload.mix." + cw.command;
      if (std::ranges::find(known_commands(), cw.command) == known_commands().end()) {
        add(path, "unknown workload command \"" + cw.command + "\"",
            "the workload can issue: " + join(known));
      } else if (cw.weight == 0) {
        add(path, "weight 0", "remove the command or give it a positive weight");
      }
    }
    if (w.keys == 0) {
      add("workload.keys", "the key space is empty", "use keys = 1000");
    }
    if (w.probe && w.probe->interval.count() <= 0) {
      add("workload.probe.interval", "the probe interval must be positive", "e.g. \"100ms\"");
    }
    check_command_count();
    check_pubsub();
    check_blocking();
    check_transactions();
  }

  // The harness keeps every element the driver reports popped, so the pushes are bounded like
  // the commands.
  void check_blocking() {
    const auto& b = s_.load.blocking;
    if (!b) {
      return;
    }
    const double run_s = static_cast<double>(s_.duration.count()) / 1000.0;
    if (b->rate * run_s > static_cast<double>(limits::max_commands_per_run)) {
      add("workload.blocking.rate",
          "the server would push " + std::to_string(static_cast<std::uint64_t>(b->rate * run_s)) +
              " elements, more than the " + std::to_string(limits::max_commands_per_run) +
              " one run can keep",
          "lower the rate or shorten the scenario");
    }
  }

  // The harness keeps every transaction with its outcome and the server records every command
  // of it (WATCH, MULTI, the INCRs, EXEC): bounded like the commands.
  void check_transactions() {
    const auto& t = s_.load.transactions;
    if (!t) {
      return;
    }
    const double run_seconds = static_cast<double>(s_.duration.count()) / 1000.0;
    const double per_block = static_cast<double>(t->size) + (t->watch ? 3.0 : 2.0);
    const double commands = t->rate * run_seconds * per_block;
    if (commands > static_cast<double>(limits::max_commands_per_run)) {
      add("workload.transactions.rate",
          "the transactions would send " + std::to_string(static_cast<std::uint64_t>(commands)) +
              " commands, more than the " + std::to_string(limits::max_commands_per_run) +
              " one run can keep",
          "lower the rate or the size, or shorten the scenario");
    }
  }

  // The harness keeps every message the driver reports, so the publications are bounded like
  // the commands; shard channels exist only in a cluster.
  void check_pubsub() {
    const auto& p = s_.load.pubsub;
    if (!p) {
      return;
    }
    if (p->kind == subscribe_kind::shard && !s_.topo.cluster) {
      add("workload.pubsub.kind", "shard channels need a cluster topology",
          "set [topology] cluster = true, or use kind = \"channel\"");
    }
    const double seconds = static_cast<double>(s_.duration.count()) / 1000.0;
    if (p->rate * seconds > static_cast<double>(limits::max_commands_per_run)) {
      add("workload.pubsub.rate",
          "the server would publish " +
              std::to_string(static_cast<std::uint64_t>(p->rate * seconds)) +
              " messages, more than the " + std::to_string(limits::max_commands_per_run) +
              " one run can keep",
          "lower the rate or shorten the scenario");
    }
  }

  // One run keeps every command it issues with its outcome: the schedule must stay bounded
  // however the rate and the durations combine.
  void check_command_count() {
    const auto& w = s_.load;
    if (w.rate < 0 || (w.probe && w.probe->interval.count() <= 0)) {
      return;  // reported above
    }
    const auto length = w.duration ? std::min(*w.duration, s_.duration) : s_.duration;
    const double seconds = static_cast<double>(length.count()) / 1000.0;
    const double load = w.rate * seconds;
    const double probes = w.probe ? static_cast<double>(length.count()) /
                                        static_cast<double>(w.probe->interval.count())
                                  : 0.0;
    if (load + probes > static_cast<double>(limits::max_commands_per_run)) {
      char figures[160];
      std::snprintf(figures, sizeof figures, "%.0f commands (%.0f load, %.0f probe) in %s",
                    load + probes, load, probes, format_duration(length).c_str());
      add(w.rate * seconds >= probes ? "workload.rate" : "workload.probe.interval",
          std::string("the workload schedules ") + figures + ", more than the " +
              std::to_string(limits::max_commands_per_run) + " one run can keep",
          "lower rate, shorten [workload] duration, or lengthen the probe interval");
    }
  }

  void check_expectations() {
    const auto& x = s_.expect;
    std::vector<std::string> known;
    for (auto c : known_checks()) {
      known.emplace_back(c);
    }
    for (std::size_t i = 0; i < x.checks.size(); ++i) {
      if (std::ranges::find(known_checks(), x.checks[i]) == known_checks().end()) {
        add("expect.checks[" + std::to_string(i) + "]", "unknown check \"" + x.checks[i] + "\"",
            "known checks: " + join(known));
      }
    }
    if (x.timeout_tolerance <= 0 || x.timeout_tolerance >= 1) {
      add("expect.timeout_tolerance", "the timeout tolerance is a fraction between 0 and 1",
          "0.2 accepts timeouts within +-20%");
    }
    if (x.max_error_rate < 0 || x.max_error_rate > 1) {
      add("expect.max_error_rate", "the error rate is a fraction between 0 and 1",
          "0.05 accepts 5% failed commands");
    }
    if (x.reconnects && x.reconnects->max && *x.reconnects->max < x.reconnects->min) {
      add("expect.reconnects", "max is below min", "e.g. reconnects = { min = 1, max = 2 }");
    }
    if (!x.final_endpoint.empty()) {
      check_endpoint_ref(x.final_endpoint, "expect.final_endpoint");
    }
  }

  // Expectations no correct client can meet with this client and start endpoint: a scenario
  // that asks for them would fail every correct client (or pass only broken ones).
  void check_expectations_against_setup() {
    const auto& c = s_.client;
    const auto& x = s_.expect;
    const auto* start = s_.topo.find(s_.topo.start);
    if (start == nullptr) {
      return;  // reported by check_topology
    }
    const bool sends_handshake = c.mode != sch_mode::disabled && c.protocol == 3 && start->resp3;
    const bool sent_expected =
        x.handshake == handshake_outcome::accepted || x.handshake == handshake_outcome::rejected;
    if (sent_expected && !sends_handshake) {
      add("expect.handshake",
          "expect.handshake = \"" + std::string(to_string(x.handshake)) +
              "\" but the client never sends CLIENT MAINT_NOTIFICATIONS: " +
              (c.mode == sch_mode::disabled ? std::string("its mode is \"disabled\"")
               : c.protocol != 3
                   ? std::string("it speaks RESP2 (protocol = 2)")
                   : "the start endpoint " + start->name + " rejects HELLO 3 (resp3 = false)"),
          "use handshake = \"not_sent\", or change client.mode / client.protocol");
    } else if (x.handshake == handshake_outcome::not_sent && sends_handshake) {
      add("expect.handshake",
          "expect.handshake = \"not_sent\" but a client in mode \"" +
              std::string(to_string(c.mode)) + "\" on RESP3 opts in on every connection",
          "use mode = \"disabled\" or protocol = 2, or expect \"accepted\"/\"rejected\"");
    } else if (x.handshake == handshake_outcome::accepted && !start->sch) {
      add("expect.handshake",
          "expect.handshake = \"accepted\" but the start endpoint " + start->name +
              " has sch = false: it answers CLIENT MAINT_NOTIFICATIONS with an error",
          "expect \"rejected\", or set sch = true on " + start->name);
    } else if (x.handshake == handshake_outcome::rejected && start->sch) {
      add("expect.handshake",
          "expect.handshake = \"rejected\" but the start endpoint " + start->name +
              " supports SCH (sch = true) and answers +OK",
          "expect \"accepted\", or set sch = false on " + start->name);
    }
    check_connect_expectation(*start);
  }

  void check_connect_expectation(const endpoint& start) {
    const auto& c = s_.client;
    const auto& x = s_.expect;
    // What can make a correct client's connect fail: an endpoint it cannot reach or log in to,
    // or SCH refused to a client that insists on it.
    const bool reachable_without_auth = start.initial_state == endpoint_state::up &&
                                        start.requirepass.empty() && start.users.empty();
    const bool sch_refused = c.protocol == 3 && (!start.sch || !start.resp3);
    const bool insists_and_refused = c.mode == sch_mode::enabled && sch_refused;
    if (x.connect == connect_outcome::fails && reachable_without_auth && !insists_and_refused) {
      add("expect.connect",
          "expect.connect = \"fails\" but nothing can fail the connection: the start endpoint " +
              start.name + " is up without a password and " +
              (c.mode == sch_mode::enabled
                   ? std::string("supports what a client in mode \"enabled\" insists on")
                   : "a client in mode \"" + std::string(to_string(c.mode)) +
                         "\" does not insist on SCH"),
          "use connect = \"succeeds\", or mode = \"enabled\" against an endpoint with "
          "sch = false");
    }
    if (x.connect == connect_outcome::succeeds && insists_and_refused) {
      add("expect.connect",
          "expect.connect = \"succeeds\" but a client in mode \"enabled\" must fail when the "
          "start endpoint " +
              start.name + " cannot do SCH (" + (start.resp3 ? "sch = false" : "resp3 = false") +
              ")",
          "use connect = \"fails\", or mode = \"auto\"");
    }
  }

  void check_target(const target& t, const std::string& path, target_use use) {
    if (t.scope == target_scope::endpoint ||
        (!t.endpoint.empty() && t.scope != target_scope::all)) {
      check_endpoint_ref(t.endpoint, path + ".endpoint");
    }
    if (t.scope == target_scope::connection && t.pick == connection_pick::ordinal &&
        t.ordinal == 0) {
      add(path + ".connection", "connections are numbered from 1",
          "connection = 1 is the first connection opened");
    }
    if (t.scope == target_scope::new_connections && use != target_use::notification) {
      add(path, "only notifications can target connections opened later",
          "use to = \"all\" or an endpoint name");
    }
  }

  // A MOVING endpoint or SMIGRATED source/destination: a topology name or a literal host:port.
  void check_address_ref(const std::string& value, const std::string& path) {
    if (value.find(':') != std::string::npos) {
      return;
    }
    check_endpoint_ref(value, path);
  }

  void check_send(const send_action& a, const std::string& path) {
    check_target(a.to, path + ".to", target_use::notification);
    if (a.active_for) {
      check_non_negative(*a.active_for, path + ".active_for");
    }
    if (const auto* m = std::get_if<maint::moving>(&a.notification); m && m->endpoint) {
      check_address_ref(*m->endpoint, path + ".endpoint");
    }
    if (const auto* sm = std::get_if<maint::smigrated>(&a.notification)) {
      for (std::size_t j = 0; j < sm->entries.size(); ++j) {
        const auto entry = path + ".entries[" + std::to_string(j) + "]";
        check_address_ref(sm->entries[j].source, entry + ".source");
        check_address_ref(sm->entries[j].destination, entry + ".destination");
      }
    }
    if (a.to.scope == target_scope::new_connections && a.replay == replay_policy::never) {
      add(path + ".replay", "a notification for connections opened later must be replayed",
          "remove replay = false or send it to existing connections");
    }
  }

  void check_time_s(std::int64_t t, const std::string& path) {
    if (t < 1) {
      add(path, "time must be at least 1 second, not " + std::to_string(t),
          "the grace period is whole seconds on the wire, e.g. time = 4");
    }
  }

  void check_pair(const std::string& from, const std::string& to, const std::string& path) {
    check_endpoint_ref(from, path + ".from");
    check_endpoint_ref(to, path + ".to");
    if (!from.empty() && from == to) {
      add(path + ".to", "the endpoint moves to itself",
          "name another endpoint, or use a MOVING with endpoint = \"none\"");
    }
  }

  void check_steps_as_written() {
    std::set<std::string> ids;
    for (const auto& st : s_.steps) {
      const auto path = step_path(st.origin);
      if (st.id.empty()) {
        add(path + ".id", "step without an id", "add id = \"...\"");
      } else if (!ids.insert(st.id).second) {
        add(path + ".id", "duplicate step id \"" + st.id + "\"", "give every step its own id");
      }
      check_trigger_values(st, path);
      std::visit([&](const auto& a) { check_action(a, path); }, st.what);
    }
  }

  void check_trigger_values(const step& st, const std::string& path) {
    if (const auto* at = std::get_if<at_time>(&st.start)) {
      check_non_negative(at->at, path + ".at");
    } else if (const auto* after = std::get_if<after_step>(&st.start)) {
      check_non_negative(after->delay, path + ".after.delay");
      if (after->step == st.id) {
        add(path + ".after.step", "step \"" + st.id + "\" waits for itself",
            "refer to an earlier step, or use at = \"...\"");
      }
    } else if (const auto* when = std::get_if<when_observed>(&st.start)) {
      check_non_negative(when->delay, path + ".when.delay");
      if (when->count == 0) {
        add(path + ".when." + std::string(to_string(when->counter)),
            "a count of 0 is always reached", "use at = \"0s\" to run at the start");
      }
      if (!when->endpoint.empty()) {
        check_endpoint_ref(when->endpoint, path + ".when.endpoint");
      }
    }
  }

  // One overload per action type: a new action without its checks does not compile.
  void check_action(const send_action& a, const std::string& path) { check_send(a, path); }

  void check_action(const raw_action& a, const std::string& path) {
    check_target(a.to, path + ".to", target_use::other);
    if (a.bytes.empty()) {
      add(path + ".bytes", "no bytes to send", "give bytes = \"...\" or hex = \"...\"");
    }
  }

  void check_action(const latency_action& a, const std::string& path) {
    check_endpoint_ref(a.endpoint, path + ".endpoint");
    check_non_negative(a.delay, path + ".delay");
    check_window(a.window, path);
  }

  void check_action(const stall_action& a, const std::string& path) {
    check_endpoint_ref(a.endpoint, path + ".endpoint");
    check_window(a.window, path);
  }

  void check_action(const release_action& a, const std::string& path) {
    check_endpoint_ref(a.endpoint, path + ".endpoint");
  }

  void check_action(const fragment_action& a, const std::string& path) {
    check_endpoint_ref(a.endpoint, path + ".endpoint");
    check_non_negative(a.pause, path + ".pause");
    check_window(a.window, path);
  }

  void check_action(const close_action& a, const std::string& path) {
    check_target(a.to, path + ".to", target_use::other);
  }

  void check_action(const accept_action& a, const std::string& path) {
    check_endpoint_ref(a.endpoint, path + ".endpoint");
  }

  void check_action(const clear_active_action& a, const std::string& path) {
    if (!a.endpoint.empty()) {
      check_endpoint_ref(a.endpoint, path + ".endpoint");
    }
  }

  void check_action(const moving_lifecycle_action& a, const std::string& path) {
    check_endpoint_ref(a.from, path + ".from");
    if (a.to) {
      check_pair(a.from, *a.to, path);
    }
    check_time_s(a.time_s, path + ".time");
    check_non_negative(a.late_close, path + ".late_close");
  }

  void check_action(const rolling_upgrade_action& a, const std::string& path) {
    check_pair(a.from, a.to, path);
    check_time_s(a.migrating_time_s, path + ".migrating_time");
    check_time_s(a.moving_time_s, path + ".moving_time");
    check_non_negative(a.migrate_for, path + ".migrate_for");
    check_non_negative(a.latency, path + ".latency");
    check_non_negative(a.late_close, path + ".late_close");
  }

  void check_action(const maintenance_mode_action& a, const std::string& path) {
    check_pair(a.from, a.to, path);
    check_time_s(a.time_s, path + ".time");
    check_time_s(a.moving_time_s, path + ".moving_time");
    check_non_negative(a.failover_for, path + ".failover_for");
    check_non_negative(a.migrate_for, path + ".migrate_for");
    check_non_negative(a.latency, path + ".latency");
    check_non_negative(a.late_close, path + ".late_close");
  }

  void check_action(const in_place_upgrade_action& a, const std::string& path) {
    check_endpoint_ref(a.endpoint, path + ".endpoint");
    check_time_s(a.time_s, path + ".time");
    if (a.opener != maint::kind::migrating && a.opener != maint::kind::failing_over) {
      add(path + ".notification",
          "an in-place upgrade opens its window with migrating or failing_over",
          "notification = \"migrating\"");
    }
    check_non_negative(a.restart_after, path + ".restart_after");
    check_non_negative(a.downtime, path + ".downtime");
    if (a.window <= a.restart_after + a.downtime) {
      add(path + ".window",
          "the window (" + format_duration(a.window) + ") ends before the endpoint is back (" +
              format_duration(a.restart_after + a.downtime) + ")",
          "make window longer than restart_after + downtime");
    }
  }

  void check_action(const begin_slot_migration_action& a, const std::string& path) {
    check_slot_move(a.from, a.to, a.slots, path);
    check_non_negative(a.migrate_for, path + ".migrate_for");
  }

  void check_action(const complete_slot_migration_action& a, const std::string& path) {
    check_slot_move(a.from, a.to, a.slots, path);
  }

  void check_action(const slot_migration_action& a, const std::string& path) {
    check_slot_move(a.from, a.to, a.slots, path);
    check_non_negative(a.migrate_for, path + ".migrate_for");
    check_non_negative(a.latency, path + ".latency");
    if (a.redeliver_after) {
      check_non_negative(*a.redeliver_after, path + ".redeliver_after");
    }
  }

  void check_action(const remove_node_action& a, const std::string& path) {
    check_cluster_mode(path);
    check_endpoint_ref(a.node, path + ".node", "node");
    if (a.to.empty()) {
      add(path + ".to", "no node to receive the slots", "to = [\"node-b\"]");
    }
    for (std::size_t j = 0; j < a.to.size(); ++j) {
      check_endpoint_ref(a.to[j], path + ".to[" + std::to_string(j) + "]", "node");
      if (a.to[j] == a.node) {
        add(path + ".to[" + std::to_string(j) + "]", "the node gives its slots to itself",
            "name the nodes that take over");
      }
    }
    check_non_negative(a.migrate_for, path + ".migrate_for");
    check_non_negative(a.retire_after, path + ".retire_after");
    check_non_negative(a.latency, path + ".latency");
  }

  void check_action(const add_node_action& a, const std::string& path) {
    check_cluster_mode(path);
    check_endpoint_ref(a.node, path + ".node", "node");
    if (a.from.empty()) {
      add(path + ".from", "no donor node", "from = [\"node-a\"]");
    }
    for (std::size_t j = 0; j < a.from.size(); ++j) {
      check_endpoint_ref(a.from[j], path + ".from[" + std::to_string(j) + "]", "node");
      if (a.from[j] == a.node) {
        add(path + ".from[" + std::to_string(j) + "]", "the new node cannot be its own donor",
            "list the nodes that give slots");
      }
    }
    if (a.slots.empty()) {
      add(path + ".slots", "no slots to move", "slots = \"0-99\"");
    }
    check_non_negative(a.migrate_for, path + ".migrate_for");
    check_non_negative(a.latency, path + ".latency");
  }

  void check_action(const slot_shuffle_action& a, const std::string& path) {
    check_cluster_mode(path);
    if (a.moves.empty()) {
      add(path + ".moves", "no moves",
          "moves = [{ from = \"node-a\", to = \"node-b\", slots = \"0-99\" }]");
    }
    for (std::size_t j = 0; j < a.moves.size(); ++j) {
      check_slot_move(a.moves[j].from, a.moves[j].to, a.moves[j].slots,
                      path + ".moves[" + std::to_string(j) + "]", false);
    }
    check_non_negative(a.migrate_for, path + ".migrate_for");
  }

  template <class A>
  void check_window_action(const A& a, const std::string& path) {
    check_endpoint_ref(a.endpoint, path + ".endpoint");
    check_non_negative(a.duration, path + ".duration");
    check_non_negative(a.latency, path + ".latency");
  }

  void check_action(const migrate_action& a, const std::string& path) {
    check_window_action(a, path);
  }

  void check_action(const failover_action& a, const std::string& path) {
    check_window_action(a, path);
  }

  void check_cluster_mode(const std::string& path) {
    if (!s_.topo.cluster && !cluster_mode_reported_) {
      cluster_mode_reported_ = true;
      add(path + ".action", "slot actions need an OSS Cluster API topology",
          "set cluster = true under [topology] and give the nodes slots");
    }
  }

  void check_slot_move(const std::string& from, const std::string& to,
                       const schsim::cluster::slot_set& slots, const std::string& path,
                       bool check_mode = true) {
    if (check_mode) {
      check_cluster_mode(path);
    }
    check_endpoint_ref(from, path + ".from", "node");
    check_endpoint_ref(to, path + ".to", "node");
    if (!from.empty() && from == to) {
      add(path + ".to", "the slots move to the node they are on", "name another node");
    }
    if (slots.empty()) {
      add(path + ".slots", "no slots to move", "slots = \"0-99\"");
    }
  }

  // Who owns which slot at each cluster step, following the steps in file order (the order the
  // expansion uses too): a step that moves slots its source does not own at that point is
  // reported at its `slots`.
  void check_slot_ownership() {
    if (!s_.topo.cluster) {
      return;
    }
    std::map<std::string, schsim::cluster::slot_set, std::less<>> owned;
    for (const auto& e : s_.topo.endpoints) {
      owned[e.name] = e.slots;
    }
    auto move = [&](const std::string& from, const std::string& to,
                    const schsim::cluster::slot_set& slots, const std::string& path) {
      auto& source = owned[from];
      auto missing = slots;
      missing.remove(source);
      if (!missing.empty()) {
        add(path, "\"" + from + "\" does not own slots " + missing.to_string() + " at this step",
            from + " owns " + (source.empty() ? std::string("no slots") : source.to_string()) +
                " here (after the earlier steps in file order)");
        return false;
      }
      source.remove(slots);
      owned[to].add(slots);
      return true;
    };
    for (const auto& st : s_.steps) {
      const auto path = step_path(st.origin);
      if (const auto* b = std::get_if<begin_slot_migration_action>(&st.what)) {
        auto missing = b->slots;
        missing.remove(owned[b->from]);
        if (!missing.empty()) {
          add(path + ".slots",
              "\"" + b->from + "\" does not own slots " + missing.to_string() + " at this step",
              "migrate slots the source owns (after the earlier steps in file order)");
        }
      } else if (const auto* c = std::get_if<complete_slot_migration_action>(&st.what)) {
        move(c->from, c->to, c->slots, path + ".slots");
      } else if (const auto* m = std::get_if<slot_migration_action>(&st.what)) {
        move(m->from, m->to, m->slots, path + ".slots");
      } else if (const auto* sh = std::get_if<slot_shuffle_action>(&st.what)) {
        for (std::size_t j = 0; j < sh->moves.size(); ++j) {
          const auto& mv = sh->moves[j];
          move(mv.from, mv.to, mv.slots, path + ".moves[" + std::to_string(j) + "].slots");
        }
      } else if (const auto* r = std::get_if<remove_node_action>(&st.what)) {
        if (owned[r->node].empty()) {
          add(path + ".node", "\"" + r->node + "\" owns no slots at this step",
              "remove a node that owns slots");
        }
        for (const auto& [dest, share] : split_evenly(owned[r->node], r->to)) {
          move(r->node, dest, share, path + ".node");
        }
      } else if (const auto* a = std::get_if<add_node_action>(&st.what)) {
        auto missing = a->slots;
        for (const auto& donor : a->from) {
          auto share = a->slots.intersection(owned[donor]);
          missing.remove(share);
          if (!share.empty()) {
            move(donor, a->node, share, path + ".slots");
          }
        }
        if (!missing.empty()) {
          add(path + ".slots",
              "slots " + missing.to_string() + " are not owned by any of the donors in `from`",
              "list the nodes that own them in from = [...]");
        }
      }
    }
  }

  void check_window(const std::optional<milliseconds>& window, const std::string& path) {
    if (window && window->count() <= 0) {
      add(path + ".window", "the window must be positive", "omit window to leave it on");
    }
  }

  // ------------------------------------------------------------------------------------------
  // After expansion: ids, references, cycles, and whether everything fits in the run.

  void check_expanded(const scenario& x) {
    std::map<std::string, const step*> by_id;
    for (const auto& st : x.steps) {
      if (!by_id.emplace(st.id, &st).second) {
        add(step_path(st.origin) + ".id",
            "step id \"" + st.id + "\" clashes with a step generated by a composite action",
            "rename the step; composites generate <id>.<part> steps");
        return;
      }
    }
    std::vector<std::string> ids;
    for (const auto& st : s_.steps) {
      ids.push_back(st.id);
    }
    for (const auto& st : x.steps) {
      const auto path = step_path(st.origin);
      if (const auto* after = std::get_if<after_step>(&st.start);
          after && !by_id.contains(after->step)) {
        add(path + ".after.step",
            "step \"" + st.id + "\" waits for unknown step \"" + after->step + "\"",
            "refer to one of: " + join(ids));
      }
      const target* t = nullptr;
      if (const auto* send = std::get_if<send_action>(&st.what)) {
        t = &send->to;
      } else if (const auto* raw = std::get_if<raw_action>(&st.what)) {
        t = &raw->to;
      } else if (const auto* close = std::get_if<close_action>(&st.what)) {
        t = &close->to;
      }
      if (const auto* send = std::get_if<send_action>(&st.what);
          send && !send->same_seq_as.empty()) {
        const auto it = by_id.find(send->same_seq_as);
        if (it == by_id.end() || !std::holds_alternative<send_action>(it->second->what)) {
          add(path + ".same_seq_as", "\"" + send->same_seq_as + "\" is not a send step",
              "name a send step that runs before this one");
        }
      }
      if (t != nullptr && !t->opened_before.empty() && !by_id.contains(t->opened_before)) {
        add(path + ".to.opened_before", "unknown step \"" + t->opened_before + "\"",
            "refer to one of: " + join(ids));
      }
    }
    if (!problems_.empty()) {
      return;
    }
    check_timing(x, by_id);
  }

  // Earliest offset from the start at which each step can run; nullopt when it depends on
  // observed client state. Cycles are reported.
  void check_timing(const scenario& x, const std::map<std::string, const step*>& by_id) {
    std::map<std::string, std::optional<milliseconds>> when;
    std::set<std::string> visiting;
    bool cycle = false;
    std::function<std::optional<milliseconds>(const step&)> resolve =
        [&](const step& st) -> std::optional<milliseconds> {
      if (auto it = when.find(st.id); it != when.end()) {
        return it->second;
      }
      if (!visiting.insert(st.id).second) {
        if (!cycle) {
          cycle = true;
          add(step_path(st.origin) + ".after.step",
              "steps wait for each other in a cycle (through \"" + st.id + "\")",
              "break the cycle: one of the steps needs at = \"...\" or when = {...}");
        }
        return std::nullopt;
      }
      std::optional<milliseconds> t;
      if (const auto* at = std::get_if<at_time>(&st.start)) {
        t = at->at;
      } else if (const auto* after = std::get_if<after_step>(&st.start)) {
        if (auto base = resolve(*by_id.at(after->step))) {
          t = *base + after->delay;
        }
      } else if (const auto* w = std::get_if<when_observed>(&st.start)) {
        // Unknown until the run, but never before its own delay.
        if (w->delay > x.duration) {
          t = w->delay;
        }
      }
      visiting.erase(st.id);
      when[st.id] = t;
      return t;
    };
    for (const auto& st : x.steps) {
      const auto t = resolve(st);
      if (cycle) {
        return;
      }
      if (t && *t > x.duration) {
        const bool generated = s_.find_step(st.id) == nullptr;
        std::string path = step_path(st.origin);
        if (!generated) {
          path += std::holds_alternative<at_time>(st.start)      ? ".at"
                  : std::holds_alternative<after_step>(st.start) ? ".after"
                                                                 : ".when";
        }
        add(path,
            "step \"" + st.id + "\" would run at " + format_duration(*t) +
                ", after the scenario ends at " + format_duration(x.duration),
            "raise duration under [scenario] to at least " + format_duration(*t) +
                " or schedule the step earlier");
      }
    }
  }

  const scenario& s_;
  std::vector<std::string> endpoint_names_;
  std::vector<problem> problems_;
  bool cluster_mode_reported_ = false;
};

}  // namespace

auto validate(const scenario& s) -> std::vector<problem> { return checker(s).run(); }

}  // namespace schsim::scenario
