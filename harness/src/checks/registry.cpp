#include "registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace schsim::harness {

namespace v = schsim::verdict;
using namespace detail;

namespace detail {

auto check_registry() -> const std::vector<check_entry>& {
  static const std::vector<check_entry> table{
      {zero_dropped_id,
       "every issued command completed successfully and the server executed each exactly once", "",
       true, judge_zero_dropped},
      {handshake_id,
       "every connection, handoff connections included, opted in with the right command and "
       "endpoint type, on RESP3 only, and fell back silently where the mode allows",
       "", true, judge_handshake},
      {timeout_relaxation_id,
       "inside a maintenance window a reply delayed past the normal timeout but within the "
       "relaxed one succeeds; after the window the same delay times out within [T, (1+tol)T)",
       "relaxed_timeouts", true, judge_timeout_relaxation},
      {handoff_timing_id,
       "after MOVING the client opened and handshook a connection to the announced endpoint "
       "within the grace, moved its traffic, stopped writing to the old connection and closed it "
       "before the server had to; a null endpoint reconnects at time/2",
       "", true, judge_handoff_timing},
      {no_leaks_id, "the number of open connections returns to its steady state after the event",
       "", true, judge_no_leaks},
      {latency_id,
       "p50/p99/max latency during the event vs the baseline, measured open-loop from each "
       "command's intended send time",
       "", false, judge_latency},
      {topology_refresh_id,
       "after each SMIGRATED the client stopped sending commands for the moved slots to the "
       "source node (no -MOVED for them later than the tolerance)",
       "", true, judge_topology_refresh},
      {removed_node_traffic_id,
       "after the SMIGRATED that left a node without slots, no command the client was handed "
       "once it could have read the push (50 ms) reached that node",
       "", true, judge_removed_node_traffic},
      {pubsub_continuity_id,
       "every message published while the client held its subscription reached the application "
       "exactly once and in order per channel; after MOVING, SMIGRATED or a server close the "
       "client subscribed again within expect.resubscribe_within",
       "", true, judge_pubsub_continuity},
      {blocking_commands_id,
       "every element the server pushed was popped and handed to the application exactly once, "
       "nothing unknown was reported, and no blocking call pending through maintenance stayed "
       "unanswered past its timeout plus the relaxed timeout",
       "", true, judge_blocking_commands},
      {transactions_id,
       "every MULTI/EXEC block ran whole on one connection or not at all, at most once; a block "
       "reported executed was executed by the server, and none was left without a result",
       "", true, judge_transactions},
  };
  return table;
}

auto find_check(std::string_view id) -> const check_entry* {
  const auto& table = check_registry();
  const auto it =
      std::find_if(table.begin(), table.end(), [&](const auto& c) { return c.id == id; });
  return it != table.end() ? &*it : nullptr;
}

auto start_result(std::string_view id) -> v::check_result {
  v::check_result r;
  r.id = std::string(id);
  if (const auto* entry = find_check(id)) {
    r.meaning = std::string(entry->meaning);
  }
  return r;
}

auto judged_nothing(v::check_result& r, std::string why) -> v::check_result& {
  r.outcome = v::status::not_judged;
  r.summary = "judged nothing: " + why;
  return r;
}

auto not_applicable(v::check_result& r, std::string why) -> v::check_result& {
  r.outcome = v::status::skipped;
  r.summary = "not applicable: " + why;
  return r;
}

auto client_opts_in(const scenario::scenario& scn) -> bool {
  if (scn.client.protocol != 3 || scn.client.mode == scenario::sch_mode::disabled) {
    return false;
  }
  // Only an endpoint that accepts HELLO 3 and answers CLIENT MAINT_NOTIFICATIONS takes the opt-in.
  const auto& eps = scn.topo.endpoints;
  return std::any_of(eps.begin(), eps.end(), [](const auto& e) { return e.sch && e.resp3; });
}

auto reaches_client(const scenario::scenario& scn, const scenario::send_action& send) -> bool {
  return send.to.filter == scenario::opt_in_filter::any || client_opts_in(scn);
}

auto scenario_delivers(const scenario::scenario& scn, maint::kind k) -> bool {
  return std::any_of(scn.steps.begin(), scn.steps.end(), [&](const auto& st) {
    const auto* send = std::get_if<scenario::send_action>(&st.what);
    return send != nullptr && maint::kind_of(send->notification) == k && reaches_client(scn, *send);
  });
}

auto none_delivered(v::check_result& r, const scenario::scenario& scn, maint::kind k)
    -> v::check_result& {
  const auto name = maint::wire_name(k);
  const bool sent = std::any_of(scn.steps.begin(), scn.steps.end(), [&](const auto& st) {
    const auto* send = std::get_if<scenario::send_action>(&st.what);
    return send != nullptr && maint::kind_of(send->notification) == k;
  });
  if (!sent) {
    return not_applicable(r, fmt::format("no step of the scenario sends {}", name));
  }
  if (!scenario_delivers(scn, k)) {
    return not_applicable(r, fmt::format("the client does not opt in, so no {} reaches it", name));
  }
  return judged_nothing(r, fmt::format("no {} was written to the client", name));
}

auto fail_or_pass(v::check_result& r, std::string pass_summary) -> v::check_result& {
  if (r.findings.empty()) {
    r.outcome = v::status::pass;
    r.summary = std::move(pass_summary);
  } else {
    r.outcome = v::status::fail;
    if (r.summary.empty()) {
      r.summary = r.findings.front();
      if (r.findings.size() > 1) {
        r.summary += fmt::format(" (and {} more)", r.findings.size() - 1);
      }
    }
  }
  return r;
}

}  // namespace detail

namespace {

auto has_capability(const driver_facts& d, std::string_view cap) -> bool {
  return std::find(d.client.capabilities.begin(), d.client.capabilities.end(), cap) !=
         d.client.capabilities.end();
}

/// Runs one check's predicate on a fresh set of episodes (the public single-check entry points).
auto judge_alone(std::string_view id, const check_input& in) -> v::check_result {
  return find_check(id)->judge(in, build_episodes(in));
}

/// The checks a default scenario (no expect.checks) gets from its steps.
void add_checks_for_steps(const scenario::scenario& scn, std::set<std::string_view>& chosen) {
  for (const auto& st : scn.steps) {
    if (std::holds_alternative<scenario::latency_action>(st.what) ||
        std::holds_alternative<scenario::stall_action>(st.what)) {
      chosen.insert(timeout_relaxation_id);
    }
    const auto* send = std::get_if<scenario::send_action>(&st.what);
    if (send != nullptr && std::holds_alternative<maint::moving>(send->notification)) {
      chosen.insert(handoff_timing_id);
    }
    if (send != nullptr && scn.topo.cluster &&
        std::holds_alternative<maint::smigrated>(send->notification)) {
      chosen.insert(topology_refresh_id);
      chosen.insert(removed_node_traffic_id);
    }
  }
}

}  // namespace

auto all_check_ids() -> const std::vector<std::string_view>& {
  static const std::vector<std::string_view> ids = [] {
    std::vector<std::string_view> out;
    for (const auto& c : check_registry()) {
      out.push_back(c.id);
    }
    return out;
  }();
  return ids;
}

auto check_for_expectation(std::string_view name) -> std::string_view {
  static const std::vector<std::pair<std::string_view, std::string_view>> aliases{
      {"no_errors", zero_dropped_id},
      {"no_lost_commands", zero_dropped_id},
      {"error_rate", zero_dropped_id},
      {"handshake", handshake_id},
      {"silent_fallback", handshake_id},
      {"relaxed_timeouts", timeout_relaxation_id},
      {"handoff", handoff_timing_id},
      {"final_endpoint", handoff_timing_id},
      {"seq_handling", handoff_timing_id},
      {"reconnects", no_leaks_id},
      {"idle_connections", no_leaks_id},
      {"latency", latency_id},
      {"removed_node", removed_node_traffic_id},
      {"pubsub", pubsub_continuity_id},
      {"blocking", blocking_commands_id},
      {"transactions", transactions_id},
  };
  for (const auto& [alias, id] : aliases) {
    if (alias == name) {
      return id;
    }
  }
  const auto* entry = find_check(name);
  return entry != nullptr ? entry->id : std::string_view{};
}

auto applicable_checks(const scenario::scenario& scn) -> std::vector<std::string_view> {
  std::set<std::string_view> chosen;
  if (!scn.expect.checks.empty()) {
    for (const auto& name : scn.expect.checks) {
      if (const auto id = check_for_expectation(name); !id.empty()) {
        chosen.insert(id);
      }
    }
    // An expectation with a value is meant to be checked even when its check is not listed.
    if (scn.expect.reconnects) {
      chosen.insert(no_leaks_id);
    }
    if (!scn.expect.final_endpoint.empty()) {
      chosen.insert(handoff_timing_id);
    }
    // Latency is always reported; it only fails against expect.max_latency.
    chosen.insert(latency_id);
  } else {
    chosen = {zero_dropped_id, handshake_id, no_leaks_id, latency_id};
    add_checks_for_steps(scn, chosen);
  }
  // A subscription in the workload is always judged.
  if (scn.load.pubsub) {
    chosen.insert(pubsub_continuity_id);
  }
  // So is a blocking consumer.
  if (scn.load.blocking) {
    chosen.insert(blocking_commands_id);
  }
  // So are transactions.
  if (scn.load.transactions) {
    chosen.insert(transactions_id);
  }
  std::vector<std::string_view> out;
  for (const auto id : all_check_ids()) {
    if (chosen.contains(id)) {
      out.push_back(id);
    }
  }
  return out;
}

auto required_capabilities(const scenario::scenario& scn) -> std::vector<std::string> {
  std::set<std::string> caps;
  const auto& s = scn.client;
  if (s.mode == scenario::sch_mode::enabled) {
    caps.insert("mode_enabled");
  }
  if (s.mode == scenario::sch_mode::automatic) {
    caps.insert("mode_auto");
  }
  if (s.mode != scenario::sch_mode::disabled && s.protocol == 3) {
    caps.insert("maint_notifications");
  }
  if (s.protocol == 2) {
    caps.insert("resp2");
  }
  if (!s.password.empty()) {
    caps.insert("auth");
  }
  if (scn.topo.cluster) {
    caps.insert("cluster");  // a standalone client cannot follow slots across nodes
  }
  if (const auto* start = scn.topo.find(scn.topo.start); start != nullptr && start->tls) {
    caps.insert("tls");  // configure's tls: the CA, the name to verify, a client certificate
  }
  if (scn.load.transactions) {
    caps.insert("transactions");  // the driver answers `transaction` messages
  }
  if (scn.load.pubsub) {
    caps.insert(scn.load.pubsub->kind == scenario::subscribe_kind::shard ? "sharded_pubsub"
                                                                         : "pubsub");
  }
  if (scn.load.blocking) {
    caps.insert("blocking");  // the driver's `block` message: a consumer loop of BLPOP/BRPOP
  }
  for (const auto& st : scn.steps) {
    const auto* send = std::get_if<scenario::send_action>(&st.what);
    if (send == nullptr) {
      continue;
    }
    // Gate on what the client is asked to do: a MOVING that reaches no connection of the client
    // (it does not opt in, e.g. mode = "disabled") asks for no handoff.
    const auto* m = std::get_if<maint::moving>(&send->notification);
    if (m != nullptr && reaches_client(scn, *send)) {
      caps.insert(m->endpoint ? "handoff" : "moving_null_endpoint");
    }
    // SMIGRATING/SMIGRATED need no capability: a standalone client must survive them too.
  }
  return {caps.begin(), caps.end()};
}

auto check_capability(std::string_view check_id) -> std::string_view {
  const auto* entry = find_check(check_id);
  return entry != nullptr ? entry->capability : std::string_view{};
}

auto check_zero_dropped(const check_input& in) -> v::check_result {
  return judge_alone(zero_dropped_id, in);
}
auto check_handshake(const check_input& in) -> v::check_result {
  return judge_alone(handshake_id, in);
}
auto check_timeout_relaxation(const check_input& in) -> v::check_result {
  return judge_alone(timeout_relaxation_id, in);
}
auto check_handoff_timing(const check_input& in) -> v::check_result {
  return judge_alone(handoff_timing_id, in);
}
auto check_no_leaks(const check_input& in) -> v::check_result {
  return judge_alone(no_leaks_id, in);
}
auto check_latency(const check_input& in) -> v::check_result { return judge_alone(latency_id, in); }
auto check_topology_refresh(const check_input& in) -> v::check_result {
  return judge_alone(topology_refresh_id, in);
}
auto check_removed_node_traffic(const check_input& in) -> v::check_result {
  return judge_alone(removed_node_traffic_id, in);
}
auto check_pubsub_continuity(const check_input& in) -> v::check_result {
  return judge_alone(pubsub_continuity_id, in);
}
auto check_blocking_commands(const check_input& in) -> v::check_result {
  return judge_alone(blocking_commands_id, in);
}
auto check_transactions(const check_input& in) -> v::check_result {
  return judge_alone(transactions_id, in);
}

auto run_checks(const check_input& in) -> std::vector<v::check_result> {
  const auto applicable = applicable_checks(in.scn);
  const auto ep = build_episodes(in);
  std::vector<v::check_result> out;
  for (const auto& check : check_registry()) {
    auto r = start_result(check.id);
    if (std::find(applicable.begin(), applicable.end(), check.id) == applicable.end()) {
      r.outcome = v::status::skipped;
      r.summary = "not applicable to this scenario";
    } else if (!check.capability.empty() && client_opts_in(in.scn) &&
               !has_capability(in.driver, check.capability)) {
      // A client that is not told about maintenance relaxes nothing: timeout_relaxation then
      // judges only its normal timeout, which needs no capability (mode = "disabled", RESP2).

      r.outcome = v::status::unsupported;
      r.summary = fmt::format("the client does not declare the {} capability", check.capability);
    } else {
      r = check.judge(in, ep);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace schsim::harness
