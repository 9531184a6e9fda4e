#pragma once
// A hand-made run for the report tests: two cases, one passing with a MOVING handoff and one
// failing with a crashed driver. Stamps are fixed so golden files are stable.

#include <schsim/core/verdict.hpp>

namespace schsim::reports::test {

inline constexpr std::int64_t t0 = 1'000'000'000'000;  // an arbitrary CLOCK_MONOTONIC origin
inline constexpr std::int64_t ms = 1'000'000;

inline auto make_event(std::int64_t at_ms, std::string endpoint, std::uint64_t conn,
                       timeline::detail what) -> timeline::event {
  return timeline::event{t0 + at_ms * ms, std::move(endpoint), conn, std::move(what)};
}

inline auto sample_passing_case() -> verdict::case_result {
  namespace tl = schsim::timeline;
  verdict::case_result c;
  c.scenario_id = "moving-basic";
  c.title = "MOVING to a new endpoint under load";
  c.description = "A MOVING with an endpoint; the client hands off within the grace.";
  c.tags = {"moving", "handoff"};
  c.scenario_file = "scenarios/moving_basic.toml";
  c.seed = 42;
  c.client = {
      "reference", "schsim-refclient",       "0.1.0", "c++", {"maint_notifications", "handoff"},
      "command",   "schsim-refclient-driver"};
  c.outcome = verdict::case_outcome::passed;
  c.start_ns = t0;
  c.end_ns = t0 + 3000 * ms;
  c.endpoints = {{"node-a", "127.0.0.1:40001"}, {"node-b", "127.0.0.1:40002"}};
  c.timeline = {
      make_event(10, "node-a", 1, tl::connection_opened{"127.0.0.1:50000"}),
      make_event(11, "node-a", 1, tl::hello{3, true, "", ""}),
      make_event(12, "node-a", 1, tl::maint_handshake{true, "internal-ip", true, "OK", 3}),
      make_event(100, "node-a", 1, tl::command_received{2, {"INCR", "schsim:ctr:1"}}),
      make_event(101, "node-a", 1, tl::reply_written{2, false, ":1"}),
      make_event(1000, "", 0,
                 tl::step_executed{"s1", "send", t0 + 999 * ms, "MOVING to 1 connection"}),
      make_event(1000, "node-a", 1, tl::push_written{"MOVING", 7, 2, 45, "canonical", "s1"}),
      make_event(1005, "node-b", 2, tl::connection_opened{"127.0.0.1:50001"}),
      make_event(1006, "node-b", 2, tl::hello{3, true, "", ""}),
      make_event(1007, "node-b", 2, tl::maint_handshake{true, "internal-ip", true, "OK", 3}),
      make_event(1010, "node-b", 2, tl::command_received{2, {"INCR", "schsim:ctr:2"}}),
      make_event(1011, "node-b", 2, tl::reply_written{2, false, ":1"}),
      make_event(1012, "node-a", 1,
                 tl::connection_closed{tl::close_initiator::client, tl::close_how::fin, ""}),
      make_event(
          2900, "node-b", 2,
          tl::connection_closed{tl::close_initiator::client, tl::close_how::fin, "shutdown"}),
  };
  c.windows = {{"moving", "MOVING seq 7 grace 2 s", t0 + 1000 * ms, t0 + 3000 * ms, "node-a"}};
  verdict::command_outcome first;
  first.id = 1;
  first.args = {"INCR", "schsim:ctr:1"};
  first.purpose = "load";
  first.intended_ns = t0 + 99 * ms;
  first.issued_ns = t0 + 99 * ms;
  first.sent_ns = t0 + 99 * ms;
  first.done_ns = t0 + 102 * ms;
  first.completed = true;
  first.ok = true;
  first.reply = "1";
  verdict::command_outcome second = first;
  second.id = 2;
  second.args = {"INCR", "schsim:ctr:2"};
  second.intended_ns = t0 + 1002 * ms;
  second.issued_ns = t0 + 1002 * ms;
  second.sent_ns = t0 + 1002 * ms;
  second.done_ns = t0 + 1012 * ms;
  c.commands = {first, second};
  verdict::check_result zero;
  zero.id = "zero_dropped";
  zero.meaning = "every command succeeded and the server executed each exactly once";
  zero.outcome = verdict::status::pass;
  zero.summary = "2/2 commands ok, each executed once";
  zero.figures = {{"issued", 2, ""}, {"succeeded", 2, ""}};
  verdict::check_result handoff;
  handoff.id = "handoff_timing";
  handoff.meaning = "the client moved to the announced endpoint within the grace";
  handoff.outcome = verdict::status::pass;
  handoff.summary = "new connection #2 handshaken 7 ms after MOVING";
  handoff.figures = {{"handshaken_after_ms", 7, "ms"}};
  handoff.tolerances = {{"handshaken_after_ms", 0.0, 2000.0, "ms", "[0, grace) with grace = 2 s"}};
  handoff.excerpt = {c.timeline[6], c.timeline[7], c.timeline[9]};
  c.checks = {zero, handoff};
  return c;
}

inline auto sample_crashed_case() -> verdict::case_result {
  verdict::case_result c;
  c.scenario_id = "moving-null-endpoint";
  c.tags = {"moving"};
  c.seed = 7;
  c.repetition = 1;
  c.client = {"node <x> & \"y\"", "node-redis",    "6.3.1", "javascript", {},
              "socket_idle",      "node driver.js"};
  c.outcome = verdict::case_outcome::crashed;
  c.outcome_detail = "driver exited with status 1 before bye";
  c.start_ns = t0;
  c.end_ns = t0 + 1500 * ms;
  c.process.started = true;
  c.process.exit_code = 1;
  c.process.stderr_tail = "AssertionError [ERR_ASSERTION]: <null endpoint>\n    at #onMoving\n";
  verdict::check_result zero;
  zero.id = "zero_dropped";
  zero.meaning = "every command succeeded and the server executed each exactly once";
  zero.outcome = verdict::status::fail;
  zero.summary = "3 of 10 commands got no result";
  zero.findings = {"#8 no result", "#9 no result", "#10 no result"};
  zero.violations = {"no_result"};
  verdict::check_result timeout;
  timeout.id = "timeout_relaxation";
  timeout.meaning = "timeouts relaxed inside the window and restored after it";
  timeout.outcome = verdict::status::unsupported;
  timeout.summary = "the client declares no relaxed_timeouts capability";
  c.checks = {zero, timeout};
  return c;
}

inline auto sample_run() -> verdict::run_result {
  verdict::run_result run;
  run.schsim_version = "0.1.0";
  run.suite_version = "1";
  run.started_at = "2026-11-22T02:00:00Z";
  run.command_line = "schsim suite --client reference";
  run.cases = {sample_passing_case(), sample_crashed_case()};
  return run;
}

}  // namespace schsim::reports::test
