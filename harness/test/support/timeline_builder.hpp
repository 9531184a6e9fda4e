#pragma once

// The parts of a hand-made run that the check tests share: a scenario, the server's record and
// the driver's results, built in milliseconds from a fixed start.

#include <schsim/harness/checks.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace schsim::harness::test_support {

constexpr std::int64_t ms = 1'000'000;

struct timeline_builder {
  std::int64_t run_start_ns;  ///< CLOCK_MONOTONIC ns of the run's start: every at_ms counts from it
  scenario::scenario scn;
  std::vector<timeline::event> events;
  driver_facts driver;
  std::vector<verdict::endpoint_ref> endpoints;

  explicit timeline_builder(std::int64_t start_ns) : run_start_ns(start_ns) {
    driver.client.name = "test";
    driver.client.reply_timeout = "command";
    driver.connect = connect_result::connected;
  }

  void add(std::int64_t at_ms, const std::string& ep, std::uint64_t conn, timeline::detail what) {
    events.push_back({run_start_ns + at_ms * ms, ep, conn, std::move(what)});
  }
  /// A scenario step `id` at `at_ms`, and the engine's record of running it then.
  void step(std::int64_t at_ms, const std::string& id, scenario::action what) {
    scn.steps.push_back(scenario::step{id, scenario::at_time{std::chrono::milliseconds{at_ms}},
                                       std::move(what), 0});
    add(at_ms, "", 0,
        timeline::step_executed{id, std::string(scenario::action_name(scn.steps.back().what)),
                                run_start_ns + at_ms * ms, ""});
  }
  /// The latency step `id` at `at_ms`: node-a holds its replies `held_ms` from then (0 ends it).
  void latency(std::int64_t at_ms, const std::string& id, std::int64_t held_ms) {
    step(at_ms, id,
         scenario::latency_action{"node-a", std::chrono::milliseconds{held_ms}, std::nullopt});
  }
  /// The driver's account of workload command `id`: handed to the client at `sent_ms`, done at
  /// `done_ms`, ok (reply "1") or failed with `error`.
  void outcome(std::uint64_t id, std::vector<std::string> args, std::int64_t sent_ms,
               std::int64_t done_ms, bool ok, const std::string& error) {
    verdict::command_outcome c;
    c.id = id;
    c.args = std::move(args);
    c.purpose = "load";
    c.intended_ns = c.issued_ns = c.sent_ns = run_start_ns + sent_ms * ms;
    c.done_ns = run_start_ns + done_ms * ms;
    c.completed = true;
    c.ok = ok;
    c.reply = ok ? "1" : "";
    c.error_class = error;
    driver.commands.push_back(std::move(c));
  }
  void finish(std::int64_t at_ms) { driver.shutdown_ns = run_start_ns + at_ms * ms; }

  [[nodiscard]] auto input() const -> check_input {
    return check_input{scn, events, driver, endpoints, run_start_ns};
  }
};

inline auto has_finding(const verdict::check_result& r, const std::string& text) -> bool {
  return std::any_of(r.findings.begin(), r.findings.end(),
                     [&](const auto& f) { return f.find(text) != std::string::npos; });
}

inline auto figure(const verdict::check_result& r, const std::string& name)
    -> std::optional<double> {
  for (const auto& f : r.figures) {
    if (f.name == name) {
      return f.value;
    }
  }
  return std::nullopt;
}

}  // namespace schsim::harness::test_support
