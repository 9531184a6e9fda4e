#pragma once

// A hand-made run on two standalone endpoints (node-a, node-b), shared by the check and episode
// tests: connections opened the way a correct RESP3 client does, INCRs, pushes and MOVING steps.

#include <chrono>
#include <optional>
#include <string>

#include "timeline_builder.hpp"

namespace schsim::harness::test_support {

constexpr std::int64_t standalone_t0 = 5'000'000'000;

/// Builds a run on two endpoints: a scenario, the server's record and the driver's results.
struct run_builder : timeline_builder {
  run_builder() : timeline_builder(standalone_t0) {
    endpoints = {{"node-a", "127.0.0.1:7001"}, {"node-b", "127.0.0.1:7002"}};
    scn.meta.id = "hand-made";
    scn.topo.endpoints.resize(2);
    scn.topo.endpoints[0].name = "node-a";
    scn.topo.endpoints[1].name = "node-b";
    scn.topo.start = "node-a";
    scn.client.timeout = std::chrono::milliseconds{500};
    scn.client.relaxed_timeout = std::chrono::milliseconds{3000};
    scn.client.post_handoff_relaxed = std::chrono::milliseconds{1000};
    driver.client.capabilities = {"maint_notifications", "relaxed_timeouts", "handoff",
                                  "moving_null_endpoint", "mode_auto"};
  }
  /// A connection opened and handshaken the way a correct RESP3 client does.
  void open(std::int64_t at_ms, const std::string& ep, std::uint64_t conn,
            const std::string& type = "internal-ip") {
    add(at_ms, ep, conn, timeline::connection_opened{"127.0.0.1:5000" + std::to_string(conn)});
    add(at_ms, ep, conn, timeline::command_received{0, {"HELLO", "3"}});
    add(at_ms, ep, conn, timeline::hello{3, true, "", ""});
    add(at_ms + 1, ep, conn,
        timeline::command_received{
            1, {"CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", type}});
    add(at_ms + 1, ep, conn, timeline::maint_handshake{true, type, true, "OK", 3});
  }
  void close(std::int64_t at_ms, const std::string& ep, std::uint64_t conn,
             timeline::close_initiator by = timeline::close_initiator::client) {
    add(at_ms, ep, conn, timeline::connection_closed{by, timeline::close_how::fin, ""});
  }
  /// An INCR issued by the driver at `at_ms`, received on `conn` (unless conn is 0) and answered
  /// `reply_after_ms` later; the driver's result says `ok`.
  void incr(std::uint64_t id, std::int64_t at_ms, const std::string& ep, std::uint64_t conn,
            std::int64_t done_after_ms = 1, bool ok = true, const std::string& error = "") {
    const std::vector<std::string> args{"INCR", "schsim:ctr:" + std::to_string(id)};
    if (conn != 0) {
      add(at_ms, ep, conn, timeline::command_received{id + 10, args});
      if (ok) {
        add(at_ms + done_after_ms, ep, conn, timeline::reply_written{id + 10, false, ":1"});
      }
    }
    outcome(id, args, at_ms, at_ms + done_after_ms, ok, error);
  }
  void push(std::int64_t at_ms, const std::string& ep, std::uint64_t conn, const std::string& name,
            std::int64_t seq, std::optional<std::int64_t> time_s, const std::string& step_id) {
    add(at_ms, ep, conn, timeline::push_written{name, seq, time_s, 40, "canonical", step_id});
  }
  /// The scenario step `id` that sends `n` at `at_ms`, and its push written then to connection
  /// `conn` of node-a.
  void notify(std::int64_t at_ms, const std::string& id, const maint::notification& n,
              std::uint64_t conn = 1) {
    scenario::send_action send;
    send.notification = n;
    step(at_ms, id, send);
    push(at_ms, "node-a", conn, std::string(maint::wire_name(maint::kind_of(n))), maint::seq_of(n),
         maint::time_of(n), id);
  }
  /// A MOVING step `id` from node-a to `to` (nullopt: null endpoint) sent at `at_ms` to `conn`.
  void moving(std::int64_t at_ms, std::uint64_t conn, std::optional<std::string> to,
              std::int64_t time_s = 2) {
    notify(at_ms, "m", maint::moving{7, time_s, to}, conn);
  }
};

/// A correct handoff: MOVING at 1000 ms to node-b, new connection handshaken, traffic moved,
/// old connection closed by the client.
inline auto good_handoff() -> run_builder {
  run_builder b;
  b.open(0, "node-a", 1);
  b.incr(1, 100, "node-a", 1);
  b.incr(2, 500, "node-a", 1);
  b.moving(1000, 1, "node-b");
  b.open(1005, "node-b", 2);
  b.incr(3, 1010, "node-b", 2);
  b.close(1020, "node-a", 1);
  b.incr(4, 1500, "node-b", 2);
  b.finish(4000);
  return b;
}

}  // namespace schsim::harness::test_support
