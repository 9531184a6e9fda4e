#include <schsim/core/scenario/expand.hpp>
#include <schsim/harness/checks.hpp>
#include <schsim/harness/profile.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <variant>

namespace schsim::harness {

namespace {

namespace sc = schsim::scenario;

constexpr std::string_view lone_push =
    "a lone notification to the opted-in connections is the whole scenario: a client that never "
    "opts in gets nothing, and nothing else happens";
constexpr std::string_view seq_rule =
    "its point is how the client treats the seq of repeated or out-of-order notifications, which "
    "a client that never opts in does not get";
constexpr std::string_view opt_in_refused =
    "its point is the opt-in and its refusal by a server without SCH; a client that never opts in "
    "is that server's ordinary client";

/// The checks judged against a push the client was sent: meaningless when none is.
auto needs_a_push(std::string_view check_id) -> bool {
  return check_id == handoff_timing_id || check_id == topology_refresh_id ||
         check_id == removed_node_traffic_id;
}

/// Whether some reply is held past the client's normal timeout (a stall, or a latency at least
/// that long, composites' latencies included): the only delays whose outcome tells anything
/// when nothing is relaxed. Shorter ones must simply succeed, which zero_dropped judges.
auto delays_past_timeout(const sc::scenario& scn) -> bool {
  const auto expanded = sc::expand(scn);
  return std::any_of(expanded.steps.begin(), expanded.steps.end(), [&](const sc::step& st) {
    const auto* latency = std::get_if<sc::latency_action>(&st.what);
    return std::holds_alternative<sc::stall_action>(st.what) ||
           (latency != nullptr && latency->delay >= scn.client.timeout);
  });
}

/// The checks the legacy case names, in the scenario file's vocabulary (so it still validates):
/// the scenario's own, or the defaults, less those that need a push.
auto legacy_checks(const sc::scenario& scn) -> std::vector<std::string> {
  std::vector<std::string> names = scn.expect.checks;
  if (names.empty()) {
    names = {"no_lost_commands", "handshake", "reconnects", "latency", "relaxed_timeouts"};
  }
  const bool judges_timeouts = delays_past_timeout(scn);
  std::erase_if(names, [&](const std::string& name) {
    const auto id = check_for_expectation(name);
    return needs_a_push(id) || (id == timeout_relaxation_id && !judges_timeouts);
  });
  return names;
}

/// The maintenance still happens without an opt-in: triggers that wait for one count
/// connections, pushes go only where a server sends them, closes reach every connection.
void keep_maintenance(sc::step& st) {
  if (auto* when = std::get_if<sc::when_observed>(&st.start);
      when != nullptr && when->counter == sc::observed_counter::handshakes) {
    when->counter = sc::observed_counter::connections;
  }
  if (auto* send = std::get_if<sc::send_action>(&st.what)) {
    send->to.filter = sc::opt_in_filter::opted_in;
  } else if (auto* close = std::get_if<sc::close_action>(&st.what)) {
    close->to.filter = sc::opt_in_filter::any;
  }
}

void expect_no_sch(sc::scenario& scn) {
  auto& e = scn.expect;
  e.checks = legacy_checks(scn);
  e.handshake = sc::handshake_outcome::not_sent;
  e.connect = sc::connect_outcome::succeeds;
  e.final_endpoint.clear();
  e.handoff_within.reset();
  e.topology_refresh_within.reset();
}

}  // namespace

auto parse_profile(std::string_view name) -> profile {
  if (name == "sch") {
    return profile::sch;
  }
  if (name == "legacy") {
    return profile::legacy;
  }
  throw std::invalid_argument(
      fmt::format("unknown profile \"{}\" (sch: the scenarios as written; legacy: SCH disabled "
                  "in the client, docs/reports.md \"Profiles\")",
                  name));
}

auto to_string(profile p) -> std::string_view { return p == profile::sch ? "sch" : "legacy"; }

auto legacy_skips() -> const std::vector<legacy_skip>& {
  static const std::vector<legacy_skip> skips{
      {"dialect-drift",
       "its point is the payload dialect of the notifications, which a client that never opts in "
       "does not get"},
      {"no-sch-auto", opt_in_refused},
      {"no-sch-enabled", opt_in_refused},
      {"notification-failed-over", lone_push},
      {"notification-failing-over", lone_push},
      {"notification-migrated", lone_push},
      {"notification-migrating", lone_push},
      {"notification-moving", lone_push},
      {"notification-smigrated", lone_push},
      {"notification-smigrating", lone_push},
      {"sch-disabled",
       "it already runs with mode = \"disabled\": its sch-profile case is the legacy case"},
      {"seq-duplicate", seq_rule},
      {"seq-non-monotonic", seq_rule},
      {"seq-overlapping", seq_rule},
      {"tls-auto-endpoint-type",
       "its point is the endpoint type the client asks for when it opts in over TLS"},
      {"tls-moving-wrong-certificate",
       "its point is the certificate of the endpoint a MOVING announces, which a client that gets "
       "no MOVING never dials"},
  };
  return skips;
}

auto to_legacy(const scenario::scenario& scn) -> legacy_case {
  const auto& skips = legacy_skips();
  const auto skip = std::find_if(skips.begin(), skips.end(),
                                 [&](const legacy_skip& s) { return s.id == scn.meta.id; });
  if (skip != skips.end()) {
    return {std::nullopt, std::string(skip->reason)};
  }
  auto out = scn;
  out.meta.id += legacy_id_suffix;
  out.meta.title = "[legacy] " + out.meta.title;
  out.meta.description += fmt::format(
      "\nLegacy profile: the client runs with SCH disabled (mode = \"disabled\"), so no "
      "maintenance notification reaches it; the maintenance still happens and the client is "
      "judged on errors, timeouts and reconnects against the scenario's budgets.\n");
  if (std::find(out.meta.tags.begin(), out.meta.tags.end(), legacy_tag) == out.meta.tags.end()) {
    out.meta.tags.emplace_back(legacy_tag);
  }
  out.client.mode = sc::sch_mode::disabled;
  for (auto& st : out.steps) {
    keep_maintenance(st);
  }
  expect_no_sch(out);
  return {std::move(out), {}};
}

}  // namespace schsim::harness
