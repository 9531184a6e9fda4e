// Proof that the checks can fail: each broken mode of the reference client is run through the
// harness and must fail exactly the check(s) meant for its bug (a consequence check may fail
// too, but nothing else), while the correct client passes the same scenario.
// The two halves are separate tests: the correct client's runs are the reference column of the
// conformance matrix as well, so scripts/test.sh and the ASan stage leave out
// Reference/CorrectClient.* when that column runs (each scenario here is a built-in one).
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "harness_support.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace harness_broken_test {
namespace {

using namespace schsim::harness_test;
namespace v = schsim::verdict;

struct broken_case {
  std::string mode;
  std::string scenario;  ///< built-in id
  std::set<std::string> must_fail;
  std::set<std::string> may_fail;  ///< consequences of the same bug
};

// Names the case in test output instead of gtest's byte dump.
[[maybe_unused]] void PrintTo(const broken_case& c, std::ostream* os) {
  *os << c.mode << " on " << c.scenario;
}

auto failed_checks(const v::case_result& c) -> std::set<std::string> {
  std::set<std::string> out;
  for (const auto& r : c.checks) {
    if (r.outcome == v::status::fail) {
      out.insert(r.id);
    }
  }
  return out;
}

auto describe(const v::case_result& c) -> std::string {
  std::string s = std::string(v::to_string(c.outcome)) + " " + c.outcome_detail + "\n";
  for (const auto& r : c.checks) {
    s += "  " + r.id + " " + std::string(v::to_string(r.outcome)) + ": " + r.summary + "\n";
  }
  return s;
}

class BrokenMode : public ::testing::TestWithParam<broken_case> {};

TEST_P(BrokenMode, IsCaughtByItsCheck) {
  const auto& p = GetParam();
  temp_dir dir("broken-" + p.mode);
  const auto bad_out = dir.path / "bad";
  const auto bad = run_schsim("run " + p.scenario + " --client reference --broken=" + p.mode +
                              " -o " + shell_quote(bad_out.string()));
  const auto bad_case = read_report(bad_out).cases.at(0);
  EXPECT_EQ(bad.exit_code, 1) << describe(bad_case);
  EXPECT_EQ(bad_case.outcome, v::case_outcome::failed) << describe(bad_case);
  const auto failed = failed_checks(bad_case);
  for (const auto& id : p.must_fail) {
    EXPECT_TRUE(failed.contains(id)) << p.mode << " must fail " << id << "\n" << describe(bad_case);
  }
  for (const auto& id : failed) {
    EXPECT_TRUE(p.must_fail.contains(id) || p.may_fail.contains(id))
        << p.mode << " failed " << id << ", a check not meant for this bug\n"
        << describe(bad_case);
  }
}

// Without this half a check that fails every client would pass the test above.
class CorrectClient : public ::testing::TestWithParam<std::string> {};

TEST_P(CorrectClient, PassesTheScenarioOfABrokenMode) {
  const auto& scenario = GetParam();
  temp_dir dir("correct-" + scenario);
  const auto out = dir.path / "good";
  const auto good =
      run_schsim("run " + scenario + " --client reference -o " + shell_quote(out.string()));
  const auto good_case = read_report(out).cases.at(0);
  EXPECT_EQ(good.exit_code, 0) << describe(good_case);
  EXPECT_TRUE(failed_checks(good_case).empty()) << describe(good_case);
}

auto broken_cases() -> std::vector<broken_case> {
  return {
      // No handoff: no connection to node-b; in-flight commands die with the forced close.
      broken_case{
          "ignore-moving", "moving-new-endpoint", {"handoff_timing"}, {"zero_dropped", "no_leaks"}},
      // Commands inside the window time out at the normal timeout, so they are also lost.
      broken_case{"no-relax", "migrating-latency", {"timeout_relaxation"}, {"zero_dropped"}},
      broken_case{"relax-forever", "relax-restored", {"timeout_relaxation"}, {}},
      // Every built-in scenario with a window delays replies after it too (docs/reports.md,
      // check coverage): a client that never restores its timeouts fails each of them.
      broken_case{"relax-forever", "migrating-latency", {"timeout_relaxation"}, {}},
      broken_case{"relax-forever", "failover", {"timeout_relaxation"}, {}},
      broken_case{"relax-forever", "maintenance-mode", {"timeout_relaxation"}, {}},
      broken_case{"relax-forever", "cluster-slot-migration", {"timeout_relaxation"}, {}},
      broken_case{"drop-buffered", "moving-inflight", {"zero_dropped"}, {}},
      // Executed on both endpoints.
      broken_case{"resend-written", "moving-inflight", {"zero_dropped"}, {}},
      // Past the grace the server force-closes the old connection, and the client reconnects
      // once more than expected.
      broken_case{"late-reconnect",
                  "moving-new-endpoint",
                  {"handoff_timing"},
                  {"zero_dropped", "no_leaks"}},
      // The handoff connection is also "never handshaken" for the handoff check.
      broken_case{
          "skip-handoff-handshake", "moving-new-endpoint", {"handshake"}, {"handoff_timing"}},
      broken_case{"ignore-null-delay", "moving-null-endpoint", {"handoff_timing"}, {}},
      // Cluster: without the SMIGRATED reload only -MOVED repairs the slot map, slot by slot,
      // so the source keeps answering -MOVED long after the push.
      broken_case{"ignore-smigrated", "cluster-slot-migration", {"topology_refresh"}, {}},
      // ...and a node that left keeps getting traffic until each of its slots was redirected.
      // When the node then closes with one of those commands still on it (a slow run, e.g.
      // under TSan, stretches the redirects past the close), that command fails: the same
      // bug, seen by zero_dropped.
      broken_case{"ignore-smigrated",
                  "cluster-remove-node",
                  {"removed_node_traffic"},
                  {"topology_refresh", "zero_dropped"}},
      // Follows each -MOVED for the one command but never updates its map.
      broken_case{"sticky-slot-map", "cluster-slot-migration", {"topology_refresh"}, {}},
      // TLS: the handoff connection accepts node-b's certificate for another name and sends
      // commands over it.
      broken_case{"skip-handoff-verification", "tls-moving-wrong-certificate", {"handshake"}, {}},
      // Opts in although configured disabled. It then relaxes on the MIGRATING it asked for,
      // which timeout_relaxation judges by what the connection was sent: consistent, so only
      // the handshake fails.
      broken_case{"opt-in-when-disabled", "sch-disabled", {"handshake"}, {}},
      // The subscriber connection moves but never subscribes again: messages stop.
      broken_case{"no-resubscribe", "pubsub-moving", {"pubsub_continuity"}, {}},
      // Both connections hold the subscription for 300 ms: every message then arrives twice.
      broken_case{"overlap-subscriptions", "pubsub-moving", {"pubsub_continuity"}, {}},
      // The BLPOP pending at the MOVING is answered nil to the application while the server
      // still holds it: the next element is popped into a reply the client discards.
      broken_case{"abandon-blocked", "blocking-moving", {"blocking_commands"}, {}},
      // No deadline on a blocking call: the one pending when node-a stalls waits 4 s for the
      // release, longer than its timeout plus the relaxed timeout.
      broken_case{"unbounded-blocking", "blocking-stall", {"blocking_commands"}, {}},
      // Blocks sent command by command: the handoff swap falls between MULTI and EXEC and the
      // rest runs on node-b outside MULTI. Workload INCRs written while a block waits land in
      // it and get +QUEUED as their reply, which zero_dropped sees too.
      broken_case{"split-transaction", "transactions-moving", {"transactions"}, {"zero_dropped"}},
      // Blocks in flight when MOVING arrives are written again on node-b: run twice, as the
      // commands in flight are.
      broken_case{"resend-written", "transactions-moving", {"transactions"}, {"zero_dropped"}},
      // Commands wait through a 2 s backoff before the handoff dials: the handoff is still
      // within the MOVING's 3 s, but the scenario's 1.5 s latency bound is reached.
      broken_case{"handoff-backoff", "auth-new-endpoint", {"latency"}, {}},
      // The restart closes the connection with blocks awaiting their EXEC replies (held by the
      // latency): written again on the reconnect, they run twice.
      broken_case{
          "resend-written", "transactions-in-place-upgrade", {"transactions"}, {"zero_dropped"}},
      // Sent command by command, a block cut by the restart goes on from the reconnect: its
      // rest runs there outside the MULTI that died with the old connection.
      broken_case{
          "split-transaction", "transactions-in-place-upgrade", {"transactions"}, {"zero_dropped"}},
      // Timeouts never relaxed: blocks whose EXEC reply the MIGRATING window holds 400 ms fail
      // at 250 ms although the server ran them.
      broken_case{"no-relax", "transactions-migrating", {"transactions"}, {"zero_dropped"}},
      // Asks for internal-ip on TLS. node-b's certificate here names 127.0.0.1 too, so the
      // handoff works and only the endpoint type is wrong (on tls-auto-endpoint-type the IP
      // endpoint fails verification and the client hangs retrying it).
      broken_case{"ip-endpoint-type-under-tls", "tls-moving-new-endpoint", {"handshake"}, {}},
      // TLS-only node-b closes each plaintext handoff connection at its HELLO, so no command
      // goes there in plaintext (handshake passes) and the handoff never completes: the old
      // connections are force-closed under their commands and the client reconnects.
      broken_case{"plaintext-handoff",
                  "tls-moving-new-endpoint",
                  {"handoff_timing"},
                  {"zero_dropped", "no_leaks"}},
      // Every block is answered [QUEUED, ...] before its EXEC reply: replies that are not the
      // INCRs' results, although the server ran each block once.
      broken_case{"queued-as-result", "transactions-moving", {"transactions"}, {}},
      // FAILING_OVER makes the subscriber drop its channels for 300 ms: a gap no maintenance
      // event explains, and the messages published in it are lost.
      broken_case{"resubscribe-on-window", "pubsub-failover", {"pubsub_continuity"}, {}},
      // Sharded: the moved slot's channel, dropped by node-a's sunsubscribe, is never
      // subscribed on node-b: its messages stop after the first migration.
      broken_case{"no-resubscribe", "pubsub-sharded-slot-migration", {"pubsub_continuity"}, {}}};
}

// Each scenario once, in the order of first use.
auto scenarios_of_broken_cases() -> std::vector<std::string> {
  std::vector<std::string> out;
  for (const auto& c : broken_cases()) {
    if (std::find(out.begin(), out.end(), c.scenario) == out.end()) {
      out.push_back(c.scenario);
    }
  }
  return out;
}

auto test_name(std::string name) -> std::string {
  std::replace_if(
      name.begin(), name.end(), [](char c) { return c == '-' || c == '@'; }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Reference, BrokenMode, ::testing::ValuesIn(broken_cases()),
                         [](const ::testing::TestParamInfo<broken_case>& param_info) {
                           // Mode and scenario: one mode may be shown failing in several scenarios.
                           return test_name(param_info.param.mode + "_" +
                                            param_info.param.scenario);
                         });

INSTANTIATE_TEST_SUITE_P(Reference, CorrectClient, ::testing::ValuesIn(scenarios_of_broken_cases()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return test_name(param_info.param);
                         });

}  // namespace
}  // namespace harness_broken_test
