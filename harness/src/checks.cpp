#include <schsim/core/cluster/slots.hpp>
#include <schsim/core/overloaded.hpp>
#include <schsim/harness/checks.hpp>
#include <schsim/harness/workload.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "analysis.hpp"

namespace schsim::harness {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;
using namespace detail;

namespace {

using schsim::overloaded;

auto make_result(std::string_view id, std::string_view meaning) -> v::check_result {
  v::check_result r;
  r.id = std::string(id);
  r.meaning = std::string(meaning);
  return r;
}

constexpr std::string_view zero_dropped_meaning =
    "every issued command completed successfully and the server executed each exactly once";
constexpr std::string_view handshake_meaning =
    "every connection, handoff connections included, opted in with the right command and "
    "endpoint type, on RESP3 only, and fell back silently where the mode allows";
constexpr std::string_view timeout_relaxation_meaning =
    "inside a maintenance window a reply delayed past the normal timeout but within the relaxed "
    "one succeeds; after the window the same delay times out within [T, (1+tol)T)";
constexpr std::string_view handoff_timing_meaning =
    "after MOVING the client opened and handshook a connection to the announced endpoint within "
    "the grace, moved its traffic, stopped writing to the old connection and closed it before "
    "the server had to; a null endpoint reconnects at time/2";
constexpr std::string_view no_leaks_meaning =
    "the number of open connections returns to its steady state after the event";
constexpr std::string_view latency_meaning =
    "p50/p99/max latency during the event vs the baseline, measured open-loop from each "
    "command's intended send time";
constexpr std::string_view topology_refresh_meaning =
    "after each SMIGRATED the client stopped sending commands for the moved slots to the source "
    "node (no -MOVED for them later than the tolerance)";
constexpr std::string_view removed_node_traffic_meaning =
    "after the SMIGRATED that left a node without slots, no command the client was handed once "
    "it could have read the push (50 ms) reached that node";

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

auto to_ms(std::chrono::milliseconds d) -> double { return static_cast<double>(d.count()); }

auto wire_type(scenario::endpoint_type t) -> std::string {
  return std::string(scenario::to_string(t));
}

auto has_capability(const driver_facts& d, std::string_view cap) -> bool {
  return std::find(d.client.capabilities.begin(), d.client.capabilities.end(), cap) !=
         d.client.capabilities.end();
}

/// MOVING pushes grouped by seq: one handoff event each.
struct moving_event {
  std::int64_t seq = 0;
  std::int64_t at = 0;
  std::int64_t time_s = 0;
  std::string step;
  std::vector<const tl::event*> pushes;
  std::set<std::uint64_t> conns;
  std::string from;                   ///< endpoint of the connections that got it
  std::optional<std::string> target;  ///< endpoint name; nullopt for a null endpoint
  bool target_known = true;           ///< false: a literal address the simulator does not serve
  std::string target_text;
  std::int64_t forced_close_at = forever;
  const tl::event* forced_close_event = nullptr;
};

auto find_moving_events(const check_input& in, const analysis& an) -> std::vector<moving_event> {
  std::map<std::int64_t, moving_event> by_seq;
  for (const auto& e : in.events) {
    const auto* p = std::get_if<tl::push_written>(&e.what);
    if (p == nullptr || p->name != "MOVING") {
      continue;
    }
    auto& m = by_seq[p->seq];
    if (m.pushes.empty()) {
      m.seq = p->seq;
      m.at = e.t_ns;
      m.time_s = p->time_s.value_or(0);
      m.step = p->step;
      m.from = e.endpoint;
    }
    m.pushes.push_back(&e);
    // Only connections that were open when the event began are "old": a replay to a connection
    // opened later (a late joiner, or the handed-off connection itself) is not.
    if (const auto c = an.conns.find(e.conn); c != an.conns.end() && c->second.opened <= m.at) {
      m.conns.insert(e.conn);
    }
  }
  std::vector<moving_event> out;
  for (auto& [seq, m] : by_seq) {
    const auto* st = in.scn.find_step(m.step);
    const auto* send = st != nullptr ? std::get_if<scenario::send_action>(&st->what) : nullptr;
    const auto* moving =
        send != nullptr ? std::get_if<maint::moving>(&send->notification) : nullptr;
    if (moving != nullptr && moving->endpoint) {
      m.target_text = *moving->endpoint;
      if (in.scn.topo.find(*moving->endpoint) != nullptr) {
        m.target = *moving->endpoint;
      } else {
        const auto ep = std::find_if(in.endpoints.begin(), in.endpoints.end(),
                                     [&](const auto& r) { return r.address == *moving->endpoint; });
        m.target_known = ep != in.endpoints.end();
        m.target = m.target_known ? ep->name : *moving->endpoint;
      }
    } else if (moving == nullptr) {
      // Unknown step (raw bytes, replays): the record cannot say where it pointed.
      m.target_known = false;
      m.target_text = "unknown";
      m.target = std::string("?");
    }
    // The lifecycle's forced close is the step "<id>.close"; otherwise the grace's end.
    m.forced_close_at = m.at + m.time_s * 1'000'000'000;
    if (const auto run = an.step_runs.find(m.step + ".close"); run != an.step_runs.end()) {
      m.forced_close_at = run->second->t_ns;
      m.forced_close_event = run->second;
    }
    out.push_back(std::move(m));
  }
  return out;
}

auto percentile(std::vector<double> values, double p) -> double {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())) - 1);
  return values[std::min(rank, values.size() - 1)];
}

/// When a connection was ready: its maintenance opt-in answered, else HELLO, else its first
/// command. nullopt when the expected handshake never happened.
auto handshaken_at(const conn_record& c, bool expect_maint) -> std::optional<std::int64_t> {
  if (expect_maint) {
    for (const auto* m : c.maints) {
      if (std::get<tl::maint_handshake>(m->what).enable) {
        return m->t_ns;
      }
    }
    return std::nullopt;
  }
  if (!c.hellos.empty()) {
    return c.hellos.front()->t_ns;
  }
  if (!c.data.empty()) {
    return c.data.front()->t_ns;
  }
  return std::nullopt;
}

/// What the handshake on a connection to `ep` should be.
struct handshake_rule {
  bool expect_hello = false;
  bool maint_required = false;   ///< must be sent
  bool maint_forbidden = false;  ///< must not be sent
  bool expect_accepted = false;
  bool must_abandon = false;       ///< enabled mode refused: no traffic may follow
  std::vector<std::string> types;  ///< acceptable endpoint types
  bool bare_allowed = false;       ///< `CLIENT MAINT_NOTIFICATIONS ON` without a type is fine
};

auto rule_for(const check_input& in, const scenario::endpoint* ep, bool hello_accepted)
    -> handshake_rule {
  handshake_rule r;
  const auto& s = in.scn.client;
  r.expect_hello = s.protocol == 3;
  const bool sch = ep == nullptr || ep->sch;
  if (s.protocol != 3 || s.mode == scenario::sch_mode::disabled || !hello_accepted) {
    r.maint_forbidden = true;
  } else {
    r.maint_required = true;
    r.expect_accepted = sch;
    r.must_abandon = !sch && s.mode == scenario::sch_mode::enabled;
  }
  if (s.moving_endpoint_type == scenario::endpoint_type::automatic) {
    r.types = {"internal-ip", "internal-fqdn", "external-ip", "external-fqdn"};
  } else {
    r.types = {wire_type(s.moving_endpoint_type)};
  }
  // Against an OSS Cluster API node the documented opt-in is the bare form (sch-protocol.md
  // §1.1); clients that send their endpoint type there are right too.
  r.bare_allowed = in.scn.topo.cluster;
  switch (in.scn.expect.handshake) {
    case scenario::handshake_outcome::any:
      break;
    case scenario::handshake_outcome::accepted:
      r.maint_required = true;
      r.maint_forbidden = false;
      r.expect_accepted = true;
      break;
    case scenario::handshake_outcome::rejected:
      r.maint_required = true;
      r.maint_forbidden = false;
      r.expect_accepted = false;
      break;
    case scenario::handshake_outcome::not_sent:
      r.maint_required = false;
      r.maint_forbidden = true;
      break;
  }
  return r;
}

/// The topology endpoint a SMIGRATED source or destination names: an endpoint name, or the
/// host:port the simulator serves it on. Empty when neither.
auto resolve_node(const check_input& in, std::string_view name_or_address) -> std::string {
  if (in.scn.topo.find(name_or_address) != nullptr) {
    return std::string(name_or_address);
  }
  const auto ep = std::find_if(in.endpoints.begin(), in.endpoints.end(),
                               [&](const auto& r) { return r.address == name_or_address; });
  return ep != in.endpoints.end() ? ep->name : std::string();
}

auto to_slot_set(const std::vector<maint::slot_range>& ranges) -> cluster::slot_set {
  cluster::slot_set out;
  for (const auto& r : ranges) {
    out.add(cluster::slot_range{r.first, r.last});
  }
  return out;
}

/// One triplet of a SMIGRATED, with its nodes resolved to endpoint names.
struct moved_slots {
  std::string source;
  std::string destination;
  std::string source_text;  ///< as the scenario wrote it, for findings when unresolved
  cluster::slot_set slots;
};

/// SMIGRATED pushes grouped by seq: one topology change each, however many connections (and
/// how many times) it was delivered to.
struct smigrated_event {
  std::int64_t seq = 0;
  const tl::event* first = nullptr;  ///< the first copy written
  std::size_t copies = 0;
  std::vector<moved_slots> moves;  ///< empty when the sending step is unknown (raw bytes)
};

auto find_smigrated_events(const check_input& in) -> std::vector<smigrated_event> {
  std::map<std::int64_t, smigrated_event> by_seq;
  for (const auto& e : in.events) {
    const auto* p = std::get_if<tl::push_written>(&e.what);
    if (p == nullptr || p->name != "SMIGRATED") {
      continue;
    }
    auto& m = by_seq[p->seq];
    ++m.copies;
    if (m.first != nullptr) {
      continue;
    }
    m.seq = p->seq;
    m.first = &e;
    const auto* st = in.scn.find_step(p->step);
    const auto* send = st != nullptr ? std::get_if<scenario::send_action>(&st->what) : nullptr;
    const auto* smigrated =
        send != nullptr ? std::get_if<maint::smigrated>(&send->notification) : nullptr;
    if (smigrated == nullptr) {
      continue;
    }
    for (const auto& entry : smigrated->entries) {
      m.moves.push_back({resolve_node(in, entry.source), resolve_node(in, entry.destination),
                         entry.source, to_slot_set(entry.slots)});
    }
  }
  std::vector<smigrated_event> out;
  for (auto& [seq, m] : by_seq) {
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first->t_ns < b.first->t_ns; });
  return out;
}

struct refresh_bound {
  std::chrono::milliseconds within = default_topology_refresh_within;
  std::string_view source = "default";
};

/// expect.topology_refresh_within when the scenario sets it, else the default.
auto refresh_tolerance(const scenario::expectations& expect) -> refresh_bound {
  if (expect.topology_refresh_within) {
    return {*expect.topology_refresh_within, "expect.topology_refresh_within"};
  }
  return {};
}

/// The driver command a received data command was, when the record can tell: by workload
/// identity, else the latest command with the same arguments the driver had sent by then.
auto sent_command_for(const check_input& in, const analysis& an, const tl::event& received)
    -> const v::command_outcome* {
  const auto& args = std::get<tl::command_received>(received.what).args;
  if (const auto identity = command_identity(args)) {
    const auto it = an.commands_by_identity.find(*identity);
    return it != an.commands_by_identity.end() ? it->second : nullptr;
  }
  const v::command_outcome* best = nullptr;
  for (const auto& cmd : in.driver.commands) {
    if (cmd.args == args && cmd.sent_ns != 0 && cmd.sent_ns <= received.t_ns &&
        (best == nullptr || cmd.sent_ns > best->sent_ns)) {
      best = &cmd;
    }
  }
  return best;
}

}  // namespace

auto all_check_ids() -> const std::vector<std::string_view>& {
  static const std::vector<std::string_view> ids{
      zero_dropped_id, handshake_id, timeout_relaxation_id, handoff_timing_id,
      no_leaks_id,     latency_id,   topology_refresh_id,   removed_node_traffic_id};
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
  };
  for (const auto& [alias, id] : aliases) {
    if (alias == name) {
      return id;
    }
  }
  for (const auto id : all_check_ids()) {
    if (id == name) {
      return id;
    }
  }
  return {};
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
    for (const auto& st : scn.steps) {
      if (std::holds_alternative<scenario::latency_action>(st.what) ||
          std::holds_alternative<scenario::stall_action>(st.what)) {
        chosen.insert(timeout_relaxation_id);
      }
      if (const auto* send = std::get_if<scenario::send_action>(&st.what);
          send != nullptr && std::holds_alternative<maint::moving>(send->notification)) {
        chosen.insert(handoff_timing_id);
      }
      if (const auto* send = std::get_if<scenario::send_action>(&st.what);
          send != nullptr && scn.topo.cluster &&
          std::holds_alternative<maint::smigrated>(send->notification)) {
        chosen.insert(topology_refresh_id);
        chosen.insert(removed_node_traffic_id);
      }
    }
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
  for (const auto& st : scn.steps) {
    const auto* send = std::get_if<scenario::send_action>(&st.what);
    if (send == nullptr) {
      continue;
    }
    if (const auto* m = std::get_if<maint::moving>(&send->notification)) {
      caps.insert(m->endpoint ? "handoff" : "moving_null_endpoint");
    }
    // SMIGRATING/SMIGRATED need no capability: a standalone client must survive them too.
  }
  return {caps.begin(), caps.end()};
}

auto check_capability(std::string_view check_id) -> std::string_view {
  return check_id == timeout_relaxation_id ? "relaxed_timeouts" : "";
}

// ---------------------------------------------------------------------------------------------

auto check_zero_dropped(const check_input& in) -> verdict::check_result {
  auto r = make_result(zero_dropped_id, zero_dropped_meaning);
  const auto an = analyze(in);
  const auto expected = expected_failures(in, an);
  std::size_t succeeded = 0;
  std::size_t failed = 0;
  std::size_t no_result = 0;
  std::size_t duplicates = 0;
  std::size_t phantom = 0;
  std::size_t applied_but_failed = 0;
  std::size_t tracked = 0;
  std::vector<std::string> drop_findings;
  std::vector<std::string> hard_findings;  // duplicates and phantoms: never within a budget
  std::vector<const tl::event*> evidence;
  for (const auto& cmd : in.driver.commands) {
    const auto identity = command_identity(cmd.args);
    const std::vector<const tl::event*>* receipts = nullptr;
    if (identity) {
      ++tracked;
      if (const auto it = an.receipts.find(*identity); it != an.receipts.end()) {
        receipts = &it->second;
      }
    }
    const std::size_t executions = receipts != nullptr ? receipts->size() : 0;
    const auto describe = [&] { return fmt::format("#{} {}", cmd.id, join(cmd.args)); };
    if (executions > 1) {
      ++duplicates;
      std::string where;
      std::set<std::string> endpoints;
      for (const auto* e : *receipts) {
        where += fmt::format("{}{} #{} at {}", where.empty() ? "" : ", ", e->endpoint, e->conn,
                             at(in, e->t_ns));
        endpoints.insert(e->endpoint);
        evidence.push_back(e);
      }
      hard_findings.push_back(fmt::format(
          "{} executed {} times{}: {}", describe(), executions,
          endpoints.size() > 1 ? " (on both the old and the new endpoint)" : "", where));
    }
    if (!cmd.completed) {
      if (expected.contains(cmd.id)) {
        continue;
      }
      ++no_result;
      drop_findings.push_back(fmt::format("{} got no result", describe()));
      continue;
    }
    if (cmd.ok) {
      ++succeeded;
      if (identity && executions == 0) {
        ++phantom;
        hard_findings.push_back(fmt::format("{} reported ok ({}) but the server never received it",
                                            describe(), cmd.reply));
      }
      // INCR on a key of its own answers 1, unless an earlier copy already ran.
      if (!cmd.args.empty() && (cmd.args[0] == "INCR" || cmd.args[0] == "incr") &&
          cmd.reply != "1" && executions <= 1) {
        ++duplicates;
        hard_findings.push_back(
            fmt::format("{} replied {}: the per-command counter was "
                        "incremented more than once",
                        describe(), cmd.reply));
      }
      continue;
    }
    if (const auto why = expected.find(cmd.id); why != expected.end()) {
      continue;
    }
    ++failed;
    if (executions > 0) {
      ++applied_but_failed;
      evidence.push_back(receipts->front());
    }
    drop_findings.push_back(fmt::format(
        "{} failed after {:.1f} ms ({}: {}){}", describe(), ms_between(cmd.sent_ns, cmd.done_ns),
        cmd.error_class, cmd.message,
        executions > 0
            ? fmt::format(" although the server executed it at {}", at(in, receipts->front()->t_ns))
            : ""));
  }
  const std::size_t issued = in.driver.commands.size();
  const auto budget = static_cast<std::size_t>(
      std::floor(in.scn.expect.max_error_rate * static_cast<double>(issued)));
  r.figures = {{"issued", static_cast<double>(issued), ""},
               {"succeeded", static_cast<double>(succeeded), ""},
               {"failed", static_cast<double>(failed), ""},
               {"no_result", static_cast<double>(no_result), ""},
               {"failed_on_purpose", static_cast<double>(expected.size()), ""},
               {"executed_more_than_once", static_cast<double>(duplicates), ""},
               {"ok_but_never_executed", static_cast<double>(phantom), ""},
               {"executed_but_reported_failed", static_cast<double>(applied_but_failed), ""},
               {"tracked_on_server", static_cast<double>(tracked), ""}};
  r.tolerances = {
      {"failed + no_result", 0.0, static_cast<double>(budget) + 1, "",
       fmt::format("at most max_error_rate {} x {} issued", in.scn.expect.max_error_rate, issued)},
      {"executed_more_than_once", 0.0, 1.0, "", "never"}};
  r.excerpt = excerpt(evidence);
  r.findings = hard_findings;
  const bool over_budget = failed + no_result > budget;
  if (over_budget) {
    r.findings.insert(r.findings.end(), drop_findings.begin(), drop_findings.end());
  }
  if (issued == 0) {
    r.outcome = v::status::skipped;
    r.summary = "the workload issued no command";
    return r;
  }
  if (!hard_findings.empty() || over_budget) {
    r.summary = fmt::format(
        "{} of {} commands ok; {} failed, {} without result, {} executed "
        "more than once, {} ok but never executed",
        succeeded, issued, failed, no_result, duplicates, phantom);
  }
  return fail_or_pass(
      r, fmt::format("{} of {} commands ok{}, each executed exactly once "
                     "({} tracked on the server)",
                     succeeded, issued,
                     expected.empty() ? std::string()
                                      : fmt::format(", {} failed on purpose", expected.size()),
                     tracked));
}

// ---------------------------------------------------------------------------------------------

auto check_handshake(const check_input& in) -> verdict::check_result {
  auto r = make_result(handshake_id, handshake_meaning);
  const auto an = analyze(in);
  std::size_t judged = 0;
  std::size_t opted_in = 0;
  std::vector<const tl::event*> evidence;
  for (const auto& [id, c] : an.conns) {
    if (c.commands.empty()) {
      continue;  // opened and closed without a word: nothing to judge
    }
    ++judged;
    const auto* ep = in.scn.topo.find(c.endpoint);
    // Only a refused HELLO 3 excuses a missing opt-in (nothing may be sent on RESP2); a client
    // that never sent HELLO still owed both.
    bool hello_refused = !c.hellos.empty();
    for (const auto* h : c.hellos) {
      hello_refused = hello_refused && !std::get<tl::hello>(h->what).accepted;
    }
    const auto rule = rule_for(in, ep, !hello_refused);
    const std::int64_t first_data = c.data.empty() ? forever : c.data.front()->t_ns;
    const auto label = fmt::format("#{} to {} (opened {})", c.id, c.endpoint, at(in, c.opened));
    auto add = [&](std::string text, const tl::event* e) {
      r.findings.push_back(label + ": " + text);
      if (e != nullptr) {
        evidence.push_back(e);
      }
      evidence.push_back(c.opened_event != nullptr ? c.opened_event : c.commands.front());
    };
    if (rule.expect_hello) {
      const auto hello3 = std::find_if(c.hellos.begin(), c.hellos.end(), [](const auto* h) {
        return std::get<tl::hello>(h->what).protover == 3;
      });
      if (hello3 == c.hellos.end()) {
        add("no HELLO 3 (the client is configured for RESP3)", c.commands.front());
      } else if ((*hello3)->t_ns > first_data) {
        add("HELLO 3 came after the first command", *hello3);
      }
    }
    const tl::event* on = nullptr;
    for (const auto* m : c.maints) {
      if (std::get<tl::maint_handshake>(m->what).enable) {
        on = m;
        break;
      }
    }
    if (on != nullptr) {
      const auto& hs = std::get<tl::maint_handshake>(on->what);
      if (rule.maint_forbidden) {
        add(fmt::format("sent CLIENT MAINT_NOTIFICATIONS ON{} although it must not ({})",
                        hs.protocol != 3 ? " on RESP2" : "",
                        in.scn.client.protocol != 3 ? "RESP2 client"
                        : in.scn.client.mode == scenario::sch_mode::disabled
                            ? "mode disabled"
                            : "HELLO 3 was refused"),
            on);
      } else {
        ++opted_in;
        if (hs.protocol != 3) {
          add("CLIENT MAINT_NOTIFICATIONS sent on a RESP2 connection", on);
        }
        const std::string type = hs.endpoint_type.value_or("");
        if (!(rule.bare_allowed && !hs.endpoint_type) &&
            std::find(rule.types.begin(), rule.types.end(), type) == rule.types.end()) {
          add(fmt::format("moving-endpoint-type \"{}\", expected {}",
                          hs.endpoint_type ? type : std::string("(none: bare ON)"),
                          fmt::format("\"{}\"", fmt::join(rule.types, "\" or \""))),
              on);
        }
        if (on->t_ns > first_data) {
          add("CLIENT MAINT_NOTIFICATIONS came after the first command", on);
        }
        if (hs.accepted != rule.expect_accepted &&
            in.scn.expect.handshake != scenario::handshake_outcome::any) {
          add(fmt::format("the server {} it, the scenario expects it {}",
                          hs.accepted ? "accepted" : "rejected",
                          rule.expect_accepted ? "accepted" : "rejected"),
              on);
        }
        if (!hs.accepted && rule.must_abandon && !c.data.empty()) {
          add("mode enabled and the server refused, yet the connection carried commands",
              c.data.front());
        }
        if (!hs.accepted && !rule.must_abandon &&
            in.scn.client.mode == scenario::sch_mode::automatic && c.data.empty() &&
            c.closed_event != nullptr &&
            std::get<tl::connection_closed>(c.closed_event->what).by ==
                tl::close_initiator::client) {
          add("auto mode: the client gave up the connection after the refusal instead of "
              "carrying on silently",
              c.closed_event);
        }
      }
    } else if (rule.maint_required && !(in.scn.topo.cluster && c.data.empty())) {
      // A cluster client may read the topology on a connection that carries no workload
      // (node-redis discovers with SCH disabled): without data it has nothing to protect.
      add("no CLIENT MAINT_NOTIFICATIONS ON before its commands", c.commands.front());
    }
  }
  // The connection as a whole must succeed or fail as the mode says.
  auto expected_connect = in.scn.expect.connect;
  if (expected_connect == scenario::connect_outcome::any && in.scn.client.protocol == 3 &&
      in.scn.client.mode == scenario::sch_mode::automatic) {
    expected_connect = scenario::connect_outcome::succeeds;  // auto mode must stay silent
  }
  if (expected_connect == scenario::connect_outcome::succeeds &&
      in.driver.connect == connect_result::failed) {
    r.findings.push_back(fmt::format("the client's connect failed ({}: {}) but must succeed",
                                     in.driver.connect_error_class, in.driver.connect_message));
  }
  if (expected_connect == scenario::connect_outcome::fails &&
      in.driver.connect == connect_result::connected) {
    r.findings.push_back(
        "the client's connect succeeded but must fail (mode enabled against a "
        "server that refuses CLIENT MAINT_NOTIFICATIONS)");
  }
  r.figures = {{"connections_judged", static_cast<double>(judged), ""},
               {"opted_in", static_cast<double>(opted_in), ""}};
  r.excerpt = excerpt(evidence);
  if (judged == 0 && r.findings.empty()) {
    if (expected_connect == scenario::connect_outcome::fails &&
        in.driver.connect == connect_result::failed) {
      r.outcome = v::status::pass;
      r.summary = "connect failed as required and no connection carried commands";
      return r;
    }
    r.outcome = v::status::skipped;
    r.summary = "no connection sent any command";
    return r;
  }
  return fail_or_pass(r, fmt::format("{} connection{} handshaken correctly, {} opted in", judged,
                                     judged == 1 ? "" : "s", opted_in));
}

// ---------------------------------------------------------------------------------------------

auto check_timeout_relaxation(const check_input& in) -> verdict::check_result {
  auto r = make_result(timeout_relaxation_id, timeout_relaxation_meaning);
  const auto an = analyze(in);
  const auto judged = judge_delays(in, an);
  const auto& settings = in.scn.client;
  const double tol = in.scn.expect.timeout_tolerance;
  const std::string& kind = in.driver.client.reply_timeout;
  if (kind == "none") {
    r.outcome = v::status::unsupported;
    r.summary = "the client has no timeout bounding the wait for a reply (timeouts.reply = none)";
    return r;
  }
  const double normal = to_ms(settings.timeout);
  const double relaxed =
      settings.relaxed_timeout ? std::max(normal, to_ms(*settings.relaxed_timeout)) : normal;
  std::size_t relaxed_ok = 0;
  std::size_t normal_timeouts = 0;
  std::size_t unjudged = 0;
  std::vector<double> relaxed_waits;
  std::vector<double> timeout_waits;
  std::vector<const tl::event*> evidence;
  for (const auto& j : judged) {
    const auto& cmd = *j.command;
    const auto label =
        fmt::format("#{} {} (received {} on {} #{}, reply delayed {})", cmd.id, join(cmd.args),
                    at(in, j.received->t_ns), j.conn->endpoint, j.conn->id,
                    std::isinf(j.delay_ms) ? std::string("until released")
                                           : fmt::format("{:.0f} ms", j.delay_ms));
    const double waited = cmd.completed ? ms_between(cmd.sent_ns, cmd.done_ns) : 0;
    const char* zone_name =
        j.where == zone::relaxed ? "inside a maintenance window" : "outside any window";
    switch (j.expect) {
      case expectation::unjudged:
        ++unjudged;
        break;
      case expectation::succeed:
        if (!cmd.completed || !cmd.ok) {
          r.findings.push_back(fmt::format(
              "{}: {} after {:.1f} ms {}, but the {} timeout {:.0f} ms exceeds the delay", label,
              cmd.completed ? "failed (" + cmd.error_class + ")" : "no result", waited, zone_name,
              j.where == zone::relaxed ? "relaxed" : "normal", j.bound_ms));
          evidence.push_back(j.received);
        } else if (j.where == zone::relaxed) {
          ++relaxed_ok;
          relaxed_waits.push_back(waited);
        }
        break;
      case expectation::time_out: {
        if (cmd.completed && cmd.ok) {
          r.findings.push_back(fmt::format(
              "{}: succeeded after {:.1f} ms {}, but the {} timeout {:.0f} ms should have ended "
              "the wait",
              label, waited, zone_name, j.where == zone::relaxed ? "relaxed" : "normal",
              j.bound_ms));
          evidence.push_back(j.received);
          break;
        }
        if (!cmd.completed) {
          r.findings.push_back(fmt::format(
              "{}: no result; it should have timed out after {:.0f} ms", label, j.bound_ms));
          evidence.push_back(j.received);
          break;
        }
        ++normal_timeouts;
        timeout_waits.push_back(waited);
        if (waited < j.bound_ms || waited >= j.bound_ms * (1 + tol)) {
          r.findings.push_back(
              fmt::format("{}: gave up after {:.1f} ms ({}), outside [{:.0f}, "
                          "{:.0f}) ms",
                          label, waited, cmd.error_class, j.bound_ms, j.bound_ms * (1 + tol)));
          evidence.push_back(j.received);
        }
        // What the server saw: the client closing the connection while the reply was held.
        if (j.conn->closed_event != nullptr && j.conn->closed_at() > j.received->t_ns) {
          const auto& closed = std::get<tl::connection_closed>(j.conn->closed_event->what);
          const double server_wait = ms_between(j.received->t_ns, j.conn->closed_at());
          if (closed.by == tl::close_initiator::client && server_wait < j.delay_ms &&
              server_wait >= j.bound_ms * (1 + tol) + 50) {
            r.findings.push_back(fmt::format(
                "{}: the server saw the client give up only {:.1f} ms after the command", label,
                server_wait));
            evidence.push_back(j.conn->closed_event);
          }
        }
        break;
      }
    }
  }
  r.figures = {{"normal_timeout", normal, "ms"},
               {"relaxed_timeout", relaxed, "ms"},
               {"relaxed_successes", static_cast<double>(relaxed_ok), ""},
               {"normal_timeouts", static_cast<double>(normal_timeouts), ""},
               {"not_judged", static_cast<double>(unjudged), ""}};
  if (!relaxed_waits.empty()) {
    r.figures.push_back({"max_wait_inside_window",
                         *std::max_element(relaxed_waits.begin(), relaxed_waits.end()), "ms"});
  }
  if (!timeout_waits.empty()) {
    r.figures.push_back(
        {"min_timeout_wait", *std::min_element(timeout_waits.begin(), timeout_waits.end()), "ms"});
    r.figures.push_back(
        {"max_timeout_wait", *std::max_element(timeout_waits.begin(), timeout_waits.end()), "ms"});
  }
  r.tolerances = {{"timeout_wait", normal, normal * (1 + tol), "ms",
                   fmt::format("[T, {}T) with T = {:.0f} ms (client's reply timeout kind: {})",
                               1 + tol, normal, kind.empty() ? "command" : kind)}};
  r.excerpt = excerpt(evidence);
  if (relaxed_ok + normal_timeouts == 0 && r.findings.empty()) {
    // Without a reply delay the server cannot tell a relaxed timeout from a normal one.
    r.outcome = v::status::skipped;
    r.summary = "no command was delayed past a timeout where the outcome could be judged";
    return r;
  }
  return fail_or_pass(
      r, fmt::format("{} delayed repl{} succeeded inside the window, {} timed out in [{:.0f}, "
                     "{:.0f}) ms after it",
                     relaxed_ok, relaxed_ok == 1 ? "y" : "ies", normal_timeouts, normal,
                     normal * (1 + tol)));
}

// ---------------------------------------------------------------------------------------------

auto check_handoff_timing(const check_input& in) -> verdict::check_result {
  auto r = make_result(handoff_timing_id, handoff_timing_meaning);
  const auto an = analyze(in);
  const auto events = find_moving_events(in, an);
  if (events.empty() && in.scn.expect.final_endpoint.empty()) {
    r.outcome = v::status::skipped;
    r.summary = "no MOVING was sent";
    return r;
  }
  const double tol = in.scn.expect.timeout_tolerance;
  const bool expect_maint =
      in.scn.client.protocol == 3 && in.scn.client.mode != scenario::sch_mode::disabled;
  // An in-flight command may reach the old socket just after the first one reached the new
  // endpoint; later than this is a command written after the client had moved.
  constexpr std::int64_t old_write_slack_ns = 50'000'000;
  std::vector<const tl::event*> evidence;
  std::vector<std::string> notes;  // observations that do not fail the check
  for (const auto& m : events) {
    evidence.push_back(m.pushes.front());
    const auto label = fmt::format("MOVING seq {} at {}", m.seq, at(in, m.at));
    const std::string target = m.target ? *m.target : m.from;
    if (m.target && !m.target_known) {
      notes.push_back(fmt::format("{}: target {} is not a simulated endpoint; not judged", label,
                                  m.target_text));
      continue;
    }
    // New connections to the target opened after the push.
    std::vector<const conn_record*> fresh;
    for (const auto& [id, c] : an.conns) {
      if (c.endpoint == target && c.opened > m.at && !m.conns.contains(id)) {
        fresh.push_back(&c);
      }
    }
    const double grace_ms = in.scn.expect.handoff_within ? to_ms(*in.scn.expect.handoff_within)
                                                         : static_cast<double>(m.time_s) * 1000.0;
    if (m.target) {
      std::optional<std::int64_t> ready;
      const conn_record* ready_conn = nullptr;
      for (const auto* c : fresh) {
        const auto t = handshaken_at(*c, expect_maint);
        if (t && (!ready || *t < *ready)) {
          ready = t;
          ready_conn = c;
        }
      }
      if (fresh.empty()) {
        r.findings.push_back(fmt::format("{}: no connection to {} was opened", label, target));
      } else if (!ready) {
        r.findings.push_back(
            fmt::format("{}: connection #{} to {} was opened but never "
                        "handshaken{}",
                        label, fresh.front()->id, target,
                        expect_maint ? " (no CLIENT MAINT_NOTIFICATIONS ON)" : ""));
        evidence.push_back(fresh.front()->opened_event);
      } else {
        const double after = ms_between(m.at, *ready);
        r.figures.push_back({fmt::format("seq{}.handshaken_after", m.seq), after, "ms"});
        r.tolerances.push_back({fmt::format("seq{}.handshaken_after", m.seq), 0.0, grace_ms, "ms",
                                fmt::format("within the grace: {:.0f} ms", grace_ms)});
        if (after >= grace_ms) {
          r.findings.push_back(
              fmt::format("{}: connection #{} to {} handshaken {:.1f} ms after "
                          "MOVING, past the grace of {:.0f} ms",
                          label, ready_conn->id, target, after, grace_ms));
        }
        for (const auto* e : ready_conn->maints) {
          evidence.push_back(e);
        }
        if (ready_conn->opened_event != nullptr) {
          evidence.push_back(ready_conn->opened_event);
        }
      }
    } else {
      // Null endpoint: reconnect to the same address after time/2.
      const double half_ms = static_cast<double>(m.time_s) * 1000.0 / 2;
      const conn_record* first = nullptr;
      for (const auto* c : fresh) {
        if (first == nullptr || c->opened < first->opened) {
          first = c;
        }
      }
      r.tolerances.push_back({fmt::format("seq{}.reconnect_after", m.seq), half_ms * (1 - tol),
                              half_ms * (1 + tol), "ms",
                              fmt::format("time/2 = {:.0f} ms +-{:.0f}%", half_ms, tol * 100)});
      if (first == nullptr) {
        r.findings.push_back(
            fmt::format("{} (null endpoint): no new connection to {} was opened", label, target));
      } else {
        const double after = ms_between(m.at, first->opened);
        r.figures.push_back({fmt::format("seq{}.reconnect_after", m.seq), after, "ms"});
        if (!v::within(r.tolerances.back(), after)) {
          r.findings.push_back(fmt::format(
              "{} (null endpoint): reconnected {:.1f} ms after MOVING, expected time/2 = {:.0f} "
              "ms +-{:.0f}%",
              label, after, half_ms, tol * 100));
        }
        if (first->opened_event != nullptr) {
          evidence.push_back(first->opened_event);
        }
      }
    }
    // Traffic moved, and nothing was written to the old connections afterwards.
    std::optional<std::int64_t> moved_at;
    for (const auto* c : fresh) {
      if (!c->data.empty() && (!moved_at || c->data.front()->t_ns < *moved_at)) {
        moved_at = c->data.front()->t_ns;
      }
    }
    const bool traffic_after =
        std::any_of(in.driver.commands.begin(), in.driver.commands.end(), [&](const auto& cmd) {
          return cmd.intended_ns > m.at && cmd.intended_ns < m.forced_close_at;
        });
    if (moved_at) {
      r.figures.push_back(
          {fmt::format("seq{}.traffic_moved_after", m.seq), ms_between(m.at, *moved_at), "ms"});
    } else if (traffic_after && (m.target || !fresh.empty())) {
      r.findings.push_back(
          fmt::format("{}: no command reached {} on a new connection", label, target));
    }
    for (const auto conn_id : m.conns) {
      const auto& c = an.conns.at(conn_id);
      if (moved_at) {
        for (const auto* e : c.data) {
          if (e->t_ns > *moved_at + old_write_slack_ns) {
            r.findings.push_back(fmt::format(
                "{}: command [{}] written to the old connection #{} at {}, after traffic had "
                "moved at {}",
                label, join(std::get<tl::command_received>(e->what).args), c.id, at(in, e->t_ns),
                at(in, *moved_at)));
            evidence.push_back(e);
            break;
          }
        }
      }
      if (c.closed_event == nullptr) {
        if (c.opened < m.at && an.end_ns >= m.forced_close_at) {
          r.findings.push_back(fmt::format("{}: old connection #{} was never closed", label, c.id));
        }
        continue;
      }
      const auto& closed = std::get<tl::connection_closed>(c.closed_event->what);
      evidence.push_back(c.closed_event);
      if (closed.by == tl::close_initiator::server) {
        r.findings.push_back(
            fmt::format("{}: the server had to force-close the old connection "
                        "#{} at {}; the client never closed it",
                        label, c.id, at(in, c.closed_at())));
      } else {
        r.figures.push_back({fmt::format("seq{}.old_conn{}_closed_after", m.seq, c.id),
                             ms_between(m.at, c.closed_at()), "ms"});
      }
    }
    if (m.forced_close_event != nullptr) {
      evidence.push_back(m.forced_close_event);
    }
  }
  if (!in.scn.expect.final_endpoint.empty()) {
    const tl::event* last = nullptr;
    for (const auto& [id, c] : an.conns) {
      if (!c.data.empty() && (last == nullptr || c.data.back()->t_ns > last->t_ns)) {
        last = c.data.back();
      }
    }
    // With no traffic at all (idle connections), where the connections are at the end counts.
    std::set<std::string> final_endpoints;
    if (last != nullptr) {
      final_endpoints.insert(last->endpoint);
    } else {
      for (const auto& [id, c] : an.conns) {
        if (c.open_at(an.end_ns)) {
          final_endpoints.insert(c.endpoint);
        }
      }
    }
    if (final_endpoints.size() != 1 || *final_endpoints.begin() != in.scn.expect.final_endpoint) {
      r.findings.push_back(fmt::format(
          "{} ended on {}, expected {}", last != nullptr ? "traffic" : "the open connections",
          final_endpoints.empty() ? std::string("no endpoint")
                                  : fmt::format("{}", fmt::join(final_endpoints, " and ")),
          in.scn.expect.final_endpoint));
    }
  }
  r.excerpt = excerpt(evidence, 24);
  fail_or_pass(r, fmt::format("{} MOVING event{} handled within the grace", events.size(),
                              events.size() == 1 ? "" : "s"));
  r.findings.insert(r.findings.end(), notes.begin(), notes.end());
  return r;
}

// ---------------------------------------------------------------------------------------------

auto check_no_leaks(const check_input& in) -> verdict::check_result {
  auto r = make_result(no_leaks_id, no_leaks_meaning);
  const auto an = analyze(in);
  if (an.conns.empty()) {
    r.outcome = v::status::skipped;
    r.summary = "no connection was opened";
    return r;
  }
  const auto open_at = [&](std::int64_t t) {
    return static_cast<double>(std::count_if(an.conns.begin(), an.conns.end(),
                                             [&](const auto& kv) { return kv.second.open_at(t); }));
  };
  // Steady state: just before the first scenario step ran (else once the first command ran).
  std::int64_t baseline_at = forever;
  for (const auto& [id, e] : an.step_runs) {
    baseline_at = std::min(baseline_at, e->t_ns - 1);
  }
  if (baseline_at == forever) {
    for (const auto& [id, c] : an.conns) {
      if (!c.data.empty()) {
        baseline_at = std::min(baseline_at, c.data.front()->t_ns);
      }
    }
  }
  if (baseline_at == forever) {
    baseline_at = an.conns.begin()->second.opened;
  }
  const double baseline = std::max(open_at(baseline_at), 1.0);
  const double peak = [&] {
    double p = 0;
    for (const auto& [id, c] : an.conns) {
      p = std::max(p, open_at(c.opened));
    }
    return p;
  }();
  const std::int64_t end = an.end_ns;
  const double at_end = open_at(end);
  const auto opened = static_cast<double>(an.conns.size());
  r.figures = {{"steady_state_open", baseline, ""},
               {"peak_open", peak, ""},
               {"open_at_end", at_end, ""},
               {"connections_opened", opened, ""}};
  r.tolerances = {
      {"open_at_end", std::nullopt, baseline + 1, "",
       fmt::format("at most the steady state ({} at {})", baseline, at(in, baseline_at))}};
  std::vector<const tl::event*> evidence;
  if (at_end > baseline) {
    std::string which;
    for (const auto& [id, c] : an.conns) {
      if (c.open_at(end)) {
        which += fmt::format("{}#{} ({}, opened {})", which.empty() ? "" : ", ", id, c.endpoint,
                             at(in, c.opened));
        if (c.opened_event != nullptr) {
          evidence.push_back(c.opened_event);
        }
      }
    }
    r.findings.push_back(fmt::format("{} connections open at the end ({}), steady state was {}",
                                     at_end, which, baseline));
  }
  if (const auto& band = in.scn.expect.reconnects) {
    const double reconnects = opened - baseline;
    r.figures.push_back({"reconnects", reconnects, ""});
    r.tolerances.push_back(
        {"reconnects", static_cast<double>(band->min),
         band->max ? std::optional<double>(static_cast<double>(*band->max) + 1) : std::nullopt, "",
         "expect.reconnects"});
    if (!v::within(r.tolerances.back(), reconnects)) {
      r.findings.push_back(fmt::format("{} reconnects, expected {}..{}", reconnects, band->min,
                                       band->max ? std::to_string(*band->max) : "any"));
    }
  }
  r.excerpt = excerpt(evidence);
  return fail_or_pass(
      r, fmt::format("{} open at the end, steady state {}, peak {}", at_end, baseline, peak));
}

// ---------------------------------------------------------------------------------------------

auto check_latency(const check_input& in) -> verdict::check_result {
  auto r = make_result(latency_id, latency_meaning);
  const auto an = analyze(in);
  std::int64_t event_start = forever;
  for (const auto& [id, e] : an.step_runs) {
    event_start = std::min(event_start, e->t_ns);
  }
  std::vector<double> baseline;
  std::vector<double> during;
  std::size_t failed = 0;
  for (const auto& cmd : in.driver.commands) {
    if (!cmd.completed || !cmd.ok) {
      failed += 1;
      continue;
    }
    const double ms = ms_between(cmd.intended_ns, cmd.done_ns);
    (cmd.intended_ns < event_start ? baseline : during).push_back(ms);
  }
  auto add = [&](const char* prefix, const std::vector<double>& values) {
    r.figures.push_back({fmt::format("{}.count", prefix), static_cast<double>(values.size()), ""});
    if (values.empty()) {
      return;
    }
    r.figures.push_back({fmt::format("{}.p50", prefix), percentile(values, 50), "ms"});
    r.figures.push_back({fmt::format("{}.p99", prefix), percentile(values, 99), "ms"});
    r.figures.push_back(
        {fmt::format("{}.max", prefix), *std::max_element(values.begin(), values.end()), "ms"});
  };
  add("baseline", baseline);
  add("event", during);
  r.figures.push_back({"not_ok", static_cast<double>(failed), ""});
  if (baseline.empty() && during.empty()) {
    r.outcome = v::status::skipped;
    r.summary = "no command completed";
    return r;
  }
  std::vector<double> all = baseline;
  all.insert(all.end(), during.begin(), during.end());
  const double worst = *std::max_element(all.begin(), all.end());
  if (const auto bound = in.scn.expect.max_latency) {
    r.tolerances.push_back(
        {"max", std::nullopt, to_ms(*bound), "ms", "expect.max_latency, open-loop"});
    if (worst >= to_ms(*bound)) {
      r.findings.push_back(
          fmt::format("max latency {:.1f} ms reached the bound {:.0f} ms", worst, to_ms(*bound)));
    }
  } else {
    r.critical = false;  // reported, not bounded
  }
  const auto summary = fmt::format(
      "baseline p50 {:.2f} / p99 {:.2f} ms; during the event p50 {:.2f} / p99 {:.2f} / max "
      "{:.1f} ms",
      percentile(baseline, 50), percentile(baseline, 99), percentile(during, 50),
      percentile(during, 99),
      during.empty() ? 0.0 : *std::max_element(during.begin(), during.end()));
  r.summary = r.findings.empty() ? "" : summary;
  return fail_or_pass(r, summary);
}

// ---------------------------------------------------------------------------------------------

auto check_topology_refresh(const check_input& in) -> verdict::check_result {
  auto r = make_result(topology_refresh_id, topology_refresh_meaning);
  const auto an = analyze(in);
  const auto events = find_smigrated_events(in);
  if (events.empty()) {
    r.outcome = v::status::skipped;
    r.summary = "no SMIGRATED was sent";
    return r;
  }
  const auto bound = refresh_tolerance(in.scn.expect);
  const auto tolerance_ns = std::chrono::nanoseconds(bound.within).count();
  const double tolerance_ms = to_ms(bound.within);
  r.tolerances.push_back({"moved_after_tolerance", 0.0, 1.0, "",
                          fmt::format("no -MOVED for a moved slot from its source later than "
                                      "{:.0f} ms after the SMIGRATED ({})",
                                      tolerance_ms, bound.source)});
  struct per_event {
    std::size_t within = 0;
    std::vector<const tl::event*> late;
    double last_after_ms = -1;
  };
  std::vector<per_event> tally(events.size());
  std::vector<const tl::event*> evidence;
  std::vector<std::string> notes;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].moves.empty()) {
      notes.push_back(
          fmt::format("SMIGRATED seq {} at {}: not sent by a scenario step; its slots "
                      "are unknown, not judged",
                      events[i].seq, at(in, events[i].first->t_ns)));
    }
    for (const auto& move : events[i].moves) {
      if (move.source.empty()) {
        notes.push_back(
            fmt::format("SMIGRATED seq {}: source {} is not a simulated node; not "
                        "judged",
                        events[i].seq, move.source_text));
      }
    }
  }
  // Each -MOVED for a slot is judged against the latest SMIGRATED that moved that slot away from
  // the node that answered it.
  for (const auto& [id, c] : an.conns) {
    for (const auto* e : c.redirected) {
      const auto redirect = an.redirects.find(e);
      if (redirect == an.redirects.end() || redirect->second.ask) {
        continue;  // -ASK is the right answer while a migration is in progress
      }
      std::optional<std::size_t> latest;
      for (std::size_t i = 0; i < events.size(); ++i) {
        if (events[i].first->t_ns > e->t_ns) {
          break;
        }
        for (const auto& move : events[i].moves) {
          if (move.source == c.endpoint && move.slots.contains(redirect->second.slot)) {
            latest = i;
          }
        }
      }
      if (!latest) {
        continue;  // a slot no SMIGRATED announced: initial discovery, not a stale refresh
      }
      auto& t = tally[*latest];
      const double after = ms_between(events[*latest].first->t_ns, e->t_ns);
      t.last_after_ms = std::max(t.last_after_ms, after);
      if (e->t_ns - events[*latest].first->t_ns <= tolerance_ns) {
        ++t.within;
      } else {
        t.late.push_back(e);
      }
    }
  }
  std::size_t late_total = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& ev = events[i];
    auto& t = tally[i];
    std::sort(t.late.begin(), t.late.end(),
              [](const auto* a, const auto* b) { return a->t_ns < b->t_ns; });
    r.figures.push_back(
        {fmt::format("seq{}.moved_within_tolerance", ev.seq), static_cast<double>(t.within), ""});
    r.figures.push_back({fmt::format("seq{}.moved_after_tolerance", ev.seq),
                         static_cast<double>(t.late.size()), ""});
    if (t.last_after_ms >= 0) {
      r.figures.push_back({fmt::format("seq{}.last_moved_after", ev.seq), t.last_after_ms, "ms"});
    }
    evidence.push_back(ev.first);
    if (t.late.empty()) {
      continue;
    }
    late_total += t.late.size();
    std::string moves;
    for (const auto& m : ev.moves) {
      moves += fmt::format("{}{} -> {} slots {}", moves.empty() ? "" : "; ", m.source,
                           m.destination, m.slots.to_string());
    }
    std::string examples;
    for (std::size_t k = 0; k < std::min<std::size_t>(t.late.size(), 3); ++k) {
      const auto* e = t.late[k];
      examples += fmt::format("{}[{}] on {} #{} at {}", examples.empty() ? "" : ", ",
                              join(std::get<tl::command_received>(e->what).args), e->endpoint,
                              e->conn, at(in, e->t_ns));
    }
    r.findings.push_back(fmt::format(
        "SMIGRATED seq {} at {} ({}): {} command{} for the moved slots still reached the source "
        "and were answered -MOVED more than {:.0f} ms later, the last {:.1f} ms after it; e.g. {}",
        ev.seq, at(in, ev.first->t_ns), moves, t.late.size(), t.late.size() == 1 ? "" : "s",
        tolerance_ms, t.last_after_ms, examples));
    for (std::size_t k = 0; k < std::min<std::size_t>(t.late.size(), 8); ++k) {
      evidence.push_back(t.late[k]);
      const auto& conn = an.conns.at(t.late[k]->conn);
      if (const auto* reply =
              conn.reply_to(std::get<tl::command_received>(t.late[k]->what).index)) {
        evidence.push_back(reply);
      }
    }
  }
  r.figures.push_back({"smigrated_events", static_cast<double>(events.size()), ""});
  r.excerpt = excerpt(evidence, 24);
  fail_or_pass(r, fmt::format("{} SMIGRATED event{}: no command for a moved slot reached its "
                              "source later than {:.0f} ms after the push",
                              events.size(), events.size() == 1 ? "" : "s", tolerance_ms));
  if (late_total > 0) {
    r.summary = fmt::format(
        "{} command{} for moved slots reached the old owner later than "
        "{:.0f} ms after SMIGRATED: the client did not refresh its slot map",
        late_total, late_total == 1 ? "" : "s", tolerance_ms);
  }
  r.findings.insert(r.findings.end(), notes.begin(), notes.end());
  return r;
}

// ---------------------------------------------------------------------------------------------

// How long after the SMIGRATED was written a command handed to the client is still excused: the
// push needs loopback transit plus a turn of the client's event loop before anyone can act on it.
// With no grace a correct client failed about one run in four (a command handed over 2-7 ms after
// the write, before its reader had the push); 50 ms still catches a client that keeps routing to
// the node (go-redis's lazy reload sent commands 91 ms after, the broken modes for seconds).
constexpr std::int64_t removed_node_read_grace_ns = 50'000'000;

auto check_removed_node_traffic(const check_input& in) -> verdict::check_result {
  auto r = make_result(removed_node_traffic_id, removed_node_traffic_meaning);
  const auto an = analyze(in);
  // Slot ownership replayed in recording order: the migrations as they completed, so at each
  // SMIGRATED the record says which source it left empty (the simulator completes a migration
  // before it writes the SMIGRATED).
  std::map<std::string, cluster::slot_set> owned;
  for (const auto& ep : in.scn.topo.endpoints) {
    owned[ep.name] = ep.slots;
  }
  struct removal {
    std::string node;
    std::int64_t seq = 0;
    const tl::event* push = nullptr;
    std::int64_t start = 0;
    std::int64_t end = forever;
    std::string end_reason;
  };
  std::vector<removal> removals;
  std::set<std::int64_t> seen_seqs;
  const auto open_removal = [&](const std::string& node) -> removal* {
    for (auto& rm : removals) {
      if (rm.node == node && rm.end == forever) {
        return &rm;
      }
    }
    return nullptr;
  };
  for (const auto& e : in.events) {
    if (const auto* step = std::get_if<tl::step_executed>(&e.what)) {
      const auto* st = in.scn.find_step(step->step);
      if (st == nullptr) {
        continue;
      }
      if (const auto* done = std::get_if<scenario::complete_slot_migration_action>(&st->what)) {
        owned[done->from].remove(done->slots);
        owned[done->to].add(done->slots);
        if (auto* rm = open_removal(done->to)) {
          rm->end = e.t_ns;
          rm->end_reason = fmt::format("step {} gave it slots again", step->step);
        }
      } else if (const auto* begin =
                     std::get_if<scenario::begin_slot_migration_action>(&st->what)) {
        // From here -ASK sends clients to it legitimately.
        if (auto* rm = open_removal(begin->to)) {
          rm->end = e.t_ns;
          rm->end_reason = fmt::format("step {} started migrating slots to it", step->step);
        }
      }
      continue;
    }
    const auto* p = std::get_if<tl::push_written>(&e.what);
    if (p == nullptr || p->name != "SMIGRATED" || !seen_seqs.insert(p->seq).second) {
      continue;
    }
    const auto* st = in.scn.find_step(p->step);
    const auto* send = st != nullptr ? std::get_if<scenario::send_action>(&st->what) : nullptr;
    const auto* smigrated =
        send != nullptr ? std::get_if<maint::smigrated>(&send->notification) : nullptr;
    if (smigrated == nullptr) {
      continue;
    }
    for (const auto& entry : smigrated->entries) {
      const auto node = resolve_node(in, entry.source);
      if (!node.empty() && owned[node].empty() && open_removal(node) == nullptr) {
        removals.push_back({node, p->seq, &e, e.t_ns, forever, {}});
      }
    }
  }
  if (removals.empty()) {
    r.outcome = v::status::skipped;
    r.summary = "no SMIGRATED left a node without slots";
    return r;
  }
  std::vector<const tl::event*> evidence;
  std::size_t violations = 0;
  std::size_t excused = 0;
  for (const auto& rm : removals) {
    const auto end = std::min(rm.end, an.end_ns);
    std::vector<const tl::event*> late;
    std::size_t in_flight = 0;
    std::size_t new_connections = 0;
    for (const auto& [id, c] : an.conns) {
      if (c.endpoint != rm.node) {
        continue;
      }
      if (c.opened > rm.start && c.opened < end) {
        ++new_connections;
      }
      for (const auto* e : c.data) {
        if (e->t_ns <= rm.start || e->t_ns >= end) {
          continue;
        }
        const auto* sent = sent_command_for(in, an, *e);
        if (sent != nullptr && sent->sent_ns != 0 &&
            sent->sent_ns < rm.start + removed_node_read_grace_ns) {
          ++in_flight;  // handed to the client before it could have read the push
          continue;
        }
        late.push_back(e);
      }
    }
    std::sort(late.begin(), late.end(),
              [](const auto* a, const auto* b) { return a->t_ns < b->t_ns; });
    const auto key = rm.node + ".seq" + std::to_string(rm.seq);
    r.figures.push_back({key + ".commands_after_removal", static_cast<double>(late.size()), ""});
    r.figures.push_back({key + ".in_flight_excused", static_cast<double>(in_flight), ""});
    r.figures.push_back(
        {key + ".connections_opened_after", static_cast<double>(new_connections), ""});
    evidence.push_back(rm.push);
    violations += late.size();
    excused += in_flight;
    if (late.empty()) {
      continue;
    }
    std::string examples;
    for (std::size_t k = 0; k < std::min<std::size_t>(late.size(), 3); ++k) {
      const auto* e = late[k];
      const auto& conn = an.conns.at(e->conn);
      const auto* reply = conn.reply_to(std::get<tl::command_received>(e->what).index);
      examples += fmt::format(
          "{}[{}] on #{} at {}{}", examples.empty() ? "" : ", ",
          join(std::get<tl::command_received>(e->what).args), e->conn, at(in, e->t_ns),
          reply != nullptr ? " -> " + std::get<tl::reply_written>(reply->what).summary : "");
    }
    r.findings.push_back(fmt::format(
        "{} left the topology with SMIGRATED seq {} at {}; {} command{} sent after that still "
        "reached it, the last at {}{}; e.g. {}",
        rm.node, rm.seq, at(in, rm.start), late.size(), late.size() == 1 ? "" : "s",
        at(in, late.back()->t_ns),
        rm.end != forever ? fmt::format(" (judged until {}: {})", at(in, rm.end), rm.end_reason)
                          : std::string(),
        examples));
    for (std::size_t k = 0; k < std::min<std::size_t>(late.size(), 8); ++k) {
      evidence.push_back(late[k]);
    }
  }
  r.tolerances.push_back(
      {"commands_after_removal", 0.0, 1.0, "",
       fmt::format("none handed to the client later than {} ms after the SMIGRATED was written",
                   removed_node_read_grace_ns / 1'000'000)});
  r.excerpt = excerpt(evidence, 24);
  std::string nodes;
  for (const auto& rm : removals) {
    nodes += fmt::format("{}{} (seq {} at {})", nodes.empty() ? "" : ", ", rm.node, rm.seq,
                         at(in, rm.start));
  }
  fail_or_pass(r, fmt::format("no command reached {} after it left the topology ({} in flight "
                              "at the push excused)",
                              nodes, excused));
  if (violations > 0) {
    r.summary = fmt::format("{} command{} reached a node after it left the topology: {}",
                            violations, violations == 1 ? "" : "s", r.findings.front());
  }
  return r;
}

// ---------------------------------------------------------------------------------------------

auto run_checks(const check_input& in) -> std::vector<verdict::check_result> {
  const auto applicable = applicable_checks(in.scn);
  std::vector<verdict::check_result> out;
  for (const auto id : all_check_ids()) {
    if (std::find(applicable.begin(), applicable.end(), id) == applicable.end()) {
      v::check_result skipped;
      skipped.id = std::string(id);
      skipped.outcome = v::status::skipped;
      skipped.summary = "not applicable to this scenario";
      out.push_back(skipped);
      continue;
    }
    if (const auto cap = check_capability(id); !cap.empty() && !has_capability(in.driver, cap)) {
      v::check_result unsupported;
      unsupported.id = std::string(id);
      unsupported.outcome = v::status::unsupported;
      unsupported.summary = fmt::format("the client does not declare the {} capability", cap);
      out.push_back(unsupported);
      continue;
    }
    if (id == zero_dropped_id) {
      out.push_back(check_zero_dropped(in));
    } else if (id == handshake_id) {
      out.push_back(check_handshake(in));
    } else if (id == timeout_relaxation_id) {
      out.push_back(check_timeout_relaxation(in));
    } else if (id == handoff_timing_id) {
      out.push_back(check_handoff_timing(in));
    } else if (id == no_leaks_id) {
      out.push_back(check_no_leaks(in));
    } else if (id == latency_id) {
      out.push_back(check_latency(in));
    } else if (id == topology_refresh_id) {
      out.push_back(check_topology_refresh(in));
    } else if (id == removed_node_traffic_id) {
      out.push_back(check_removed_node_traffic(in));
    }
  }
  // Meanings for skipped/unsupported entries too, so every report row reads on its own.
  const std::map<std::string_view, std::string_view> meanings{
      {zero_dropped_id, zero_dropped_meaning},
      {handshake_id, handshake_meaning},
      {timeout_relaxation_id, timeout_relaxation_meaning},
      {handoff_timing_id, handoff_timing_meaning},
      {no_leaks_id, no_leaks_meaning},
      {latency_id, latency_meaning},
      {topology_refresh_id, topology_refresh_meaning},
      {removed_node_traffic_id, removed_node_traffic_meaning}};
  for (auto& c : out) {
    if (c.meaning.empty()) {
      c.meaning = std::string(meanings.at(c.id));
    }
  }
  return out;
}

auto derive_windows(const check_input& in) -> std::vector<verdict::window> {
  std::vector<verdict::window> out;
  const auto an = analyze(in);
  // Maintenance windows per endpoint: the first opening push of a seq to the first closing push
  // on the same endpoint after it.
  struct open_window {
    std::string endpoint;
    std::string name;
    std::int64_t seq;
    std::int64_t start;
  };
  std::vector<open_window> open;
  std::set<std::pair<std::string, std::int64_t>> seen;
  for (const auto& e : in.events) {
    const auto* p = std::get_if<tl::push_written>(&e.what);
    if (p == nullptr || !seen.insert({e.endpoint + "/" + p->name, p->seq}).second) {
      continue;
    }
    if (p->name == "MIGRATING" || p->name == "FAILING_OVER" || p->name == "SMIGRATING") {
      open.push_back({e.endpoint, p->name, p->seq, e.t_ns});
    } else if (p->name == "MIGRATED" || p->name == "FAILED_OVER" || p->name == "SMIGRATED") {
      for (auto it = open.begin(); it != open.end();) {
        if (it->endpoint == e.endpoint) {
          out.push_back({"maintenance",
                         fmt::format("{} seq {} .. {} seq {}", it->name, it->seq, p->name, p->seq),
                         it->start, e.t_ns, e.endpoint});
          it = open.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  for (const auto& w : open) {
    out.push_back({"maintenance", fmt::format("{} seq {} (never closed)", w.name, w.seq), w.start,
                   an.end_ns, w.endpoint});
  }
  // Slot migrations (cluster): from the step that began one to the step that completed it.
  struct migration {
    const scenario::begin_slot_migration_action* begin;
    std::int64_t start;
  };
  std::vector<migration> migrating;
  const auto migration_label = [](const auto& a) {
    return fmt::format("slots {} {} -> {}", a.slots.to_string(), a.from, a.to);
  };
  for (const auto& e : in.events) {
    const auto* step = std::get_if<tl::step_executed>(&e.what);
    const auto* st = step != nullptr ? in.scn.find_step(step->step) : nullptr;
    if (st == nullptr) {
      continue;
    }
    if (const auto* begin = std::get_if<scenario::begin_slot_migration_action>(&st->what)) {
      migrating.push_back({begin, e.t_ns});
    } else if (const auto* done =
                   std::get_if<scenario::complete_slot_migration_action>(&st->what)) {
      const auto it = std::find_if(migrating.begin(), migrating.end(), [&](const auto& m) {
        return m.begin->from == done->from && m.begin->to == done->to &&
               m.begin->slots == done->slots;
      });
      if (it != migrating.end()) {
        out.push_back(
            {"slot_migration", migration_label(*it->begin), it->start, e.t_ns, it->begin->from});
        migrating.erase(it);
      }
    }
  }
  for (const auto& m : migrating) {
    out.push_back({"slot_migration", migration_label(*m.begin) + " (never completed)", m.start,
                   std::max(an.end_ns, m.start), m.begin->from});
  }
  for (const auto& m : find_moving_events(in, an)) {
    out.push_back({"moving",
                   fmt::format("MOVING seq {} ({} s) to {}", m.seq, m.time_s,
                               m.target ? *m.target : std::string("null: same endpoint")),
                   m.at, std::min(m.forced_close_at, std::max(an.end_ns, m.at)), m.from});
  }
  for (const auto& d : an.delays) {
    out.push_back({std::isinf(d.delay_ms) ? "stall" : "latency",
                   std::isinf(d.delay_ms)
                       ? fmt::format("replies stalled on {}", d.endpoint)
                       : fmt::format("replies delayed {:.0f} ms on {}", d.delay_ms, d.endpoint),
                   d.start, std::min(d.end, std::max(an.end_ns, d.start)), d.endpoint});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.start_ns < b.start_ns; });
  return out;
}

}  // namespace schsim::harness
