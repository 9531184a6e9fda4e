#pragma once

#include <schsim/core/scenario/model.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

/**
 * @file
 * @brief Profiles: how `schsim suite` and `schsim matrix` run the built-in scenarios.
 *
 * `sch` (the default) runs each scenario as written. `legacy` answers "what does maintenance
 * cost a client without SCH?": every scenario runs with `mode = "disabled"` expectations. The
 * client is never expected to opt in, so no maintenance push reaches it, but the maintenance
 * itself still happens on the server (restarts, closes, reply latency, the forced close of the
 * old endpoint after a MOVING's grace), and the client is judged on errors, timeouts,
 * reconnects and commands executed twice against the budgets the scenario states.
 * docs/reports.md "Profiles" lists what changes and which scenarios are skipped.
 */
namespace schsim::harness {

enum class profile { sch, legacy };

/// "sch" or "legacy"; throws std::invalid_argument naming both for anything else.
auto parse_profile(std::string_view name) -> profile;
auto to_string(profile p) -> std::string_view;

/// Appended to a scenario's id in the legacy profile, so a report and a baseline can hold the
/// same scenario under both profiles ("moving-new-endpoint-legacy").
inline constexpr std::string_view legacy_id_suffix = "-legacy";
/// Added to the tags of every legacy case (`-f legacy` selects nothing: filters apply first).
inline constexpr std::string_view legacy_tag = "legacy";

/// A built-in scenario the legacy profile does not run, and why.
struct legacy_skip {
  std::string_view id;
  std::string_view reason;
};

/// The built-in scenarios that make no sense without SCH: their whole point is a push, its
/// payload or seq, or the opt-in itself, none of which a client that never opts in sees.
auto legacy_skips() -> const std::vector<legacy_skip>&;

/// What the legacy profile makes of a scenario: the transformed scenario, or why it is skipped.
struct legacy_case {
  std::optional<scenario::scenario> scn;
  std::string skipped_because;
};

/**
 * @brief The scenario with mode = "disabled" expectations (pure: no I/O, no clock).
 *
 * - id + legacy_id_suffix, tag legacy_tag; client.mode = disabled.
 * - Steps still run: a `when = { handshakes = N }` trigger (never met without an opt-in) counts
 *   accepted connections instead; every `send` goes to opted-in connections only (a server
 *   sends maintenance pushes to no one else), every `close` to any connection.
 * - expect.handshake = not_sent, expect.connect = succeeds; expect.final_endpoint,
 *   handoff_within and topology_refresh_within are dropped, and with them the checks judged
 *   against a push the client never got (handoff_timing, topology_refresh,
 *   removed_node_traffic). zero_dropped (max_error_rate, executed twice), no_leaks
 *   (reconnects), handshake and latency stay, with the scenario's own budgets, and
 *   timeout_relaxation (the normal timeout throughout) where a reply is held past the normal
 *   timeout. A scenario with no expect.checks gets the defaults spelled out, so the SCH checks
 *   its steps would add are not added.
 */
auto to_legacy(const scenario::scenario& scn) -> legacy_case;

}  // namespace schsim::harness
