// zero_dropped: every issued command completed ok and the server executed each exactly once.
#include <fmt/format.h>

#include <cmath>
#include <set>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;

namespace {

struct outcome_tally {
  std::size_t succeeded = 0;
  std::size_t failed = 0;
  std::size_t no_result = 0;
  std::size_t duplicates = 0;
  std::size_t phantom = 0;
  std::size_t applied_but_failed = 0;
  std::size_t tracked = 0;
  std::size_t false_reports = 0;     // ok before (or without) the server's reply
  std::size_t reply_mismatches = 0;  // ok with a reply the server did not send
  struct finding {
    std::string rule;  // check_result::violations
    std::string text;
  };
  std::vector<finding> drop_findings;  // within the error budget
  std::vector<finding> hard_findings;  // duplicates and phantoms: never within a budget
  std::vector<const tl::event*> evidence;
};

auto describe(const v::command_outcome& cmd) -> std::string {
  return fmt::format("#{} {}", cmd.id, join(cmd.args));
}

void judge_executions(const check_input& in, const command_episode& c, outcome_tally& t) {
  const auto& executions = c.executions;
  if (executions.size() <= 1) {
    return;
  }
  ++t.duplicates;
  std::string where;
  std::set<std::string> endpoints;
  for (const auto* e : executions) {
    where += fmt::format("{}{} #{} at {}", where.empty() ? "" : ", ", e->endpoint, e->conn,
                         at(in, e->t_ns));
    endpoints.insert(e->endpoint);
    t.evidence.push_back(e);
  }
  t.hard_findings.push_back(
      {"executed_more_than_once",
       fmt::format("{} executed {} times{}: {}", describe(*c.outcome), executions.size(),
                   endpoints.size() > 1 ? " (on both the old and the new endpoint)" : "", where)});
}

/// The server stamps a reply when its write completes, which under load comes up to tens of
/// milliseconds after the bytes left (22 ms seen in the conformance matrix: the client's result
/// arrived before the stamp); an ok result earlier than the stamp by more than this is false.
constexpr std::int64_t reply_stamp_slack_ns = 100'000'000;

/// An ok result must rest on a reply the server wrote (item: a client that reports success it
/// never got, or a push frame taken as the reply).
void judge_reply_seen(const check_input& in, const command_episode& c, outcome_tally& t) {
  const auto& cmd = *c.outcome;
  if (c.executions.empty()) {
    return;  // never executed: judged as such
  }
  if (c.first_reply == nullptr) {
    ++t.false_reports;
    t.evidence.push_back(c.executions.front());
    t.hard_findings.push_back(
        {"ok_without_server_reply",
         fmt::format(
             "{} reported ok ({}) at {} but the server never wrote a reply to it (executed at {})",
             describe(cmd), cmd.reply, at(in, cmd.done_ns), at(in, c.executions.front()->t_ns))});
  } else if (cmd.done_ns + reply_stamp_slack_ns < c.first_reply->t_ns) {
    ++t.false_reports;
    t.evidence.push_back(c.first_reply);
    t.hard_findings.push_back(
        {"ok_before_server_reply",
         fmt::format(
             "{} reported ok ({}) at {}, {:.1f} ms before the server wrote its reply at {} (bound: "
             "{} ms, the slack of the server's write stamp)",
             describe(cmd), cmd.reply, at(in, cmd.done_ns),
             ms_between(cmd.done_ns, c.first_reply->t_ns), at(in, c.first_reply->t_ns),
             reply_stamp_slack_ns / 1'000'000)});
  }
}

/// INCR on a key of its own answers 1. Another reply is either a second execution (the server
/// answered more than 1) or a reply the client took from elsewhere (the server answered 1).
void judge_counter(const check_input& in, const command_episode& c, outcome_tally& t) {
  const auto& cmd = *c.outcome;
  if (cmd.args.empty() || (cmd.args[0] != "INCR" && cmd.args[0] != "incr") || cmd.reply == "1" ||
      c.executions.size() != 1) {
    return;  // not executed, or executed more than once: already judged as such
  }
  const std::string server_reply = c.first_reply != nullptr
                                       ? std::get<tl::reply_written>(c.first_reply->what).summary
                                       : std::string();
  if (server_reply.empty() || server_reply == ":1") {
    ++t.reply_mismatches;
    t.evidence.push_back(c.executions.front());
    t.hard_findings.push_back(
        {"reply_mismatch",
         fmt::format("{} reported reply {} but the server executed it once, at {}, and answered "
                     "{}: a reply "
                     "mismatch (the client took another frame, e.g. a push, as its reply)",
                     describe(cmd), cmd.reply, at(in, c.executions.front()->t_ns),
                     server_reply.empty() ? std::string("nothing") : server_reply)});
    return;
  }
  ++t.duplicates;
  t.hard_findings.push_back(
      {"counter_incremented_more_than_once",
       fmt::format(
           "{} replied {} (server: {}): the per-command counter was incremented more than once",
           describe(cmd), cmd.reply, server_reply)});
}

void judge_success(const check_input& in, const command_episode& c, outcome_tally& t) {
  const auto& cmd = *c.outcome;
  ++t.succeeded;
  if (c.identity && c.executions.empty()) {
    ++t.phantom;
    t.hard_findings.push_back({"ok_but_never_received",
                               fmt::format("{} reported ok ({}) but the server never received it",
                                           describe(cmd), cmd.reply)});
  }
  judge_reply_seen(in, c, t);
  judge_counter(in, c, t);
}

void judge_failure(const check_input& in, const command_episode& c, outcome_tally& t) {
  const auto& cmd = *c.outcome;
  ++t.failed;
  const auto* executed = c.executions.empty() ? nullptr : c.executions.front();
  if (executed != nullptr) {
    ++t.applied_but_failed;
    t.evidence.push_back(executed);
  }
  // The driver's error class tells a timeout from a reset: two different ways to drop.
  t.drop_findings.push_back(
      {cmd.error_class.empty() ? "failed" : "failed." + cmd.error_class,
       fmt::format("{} failed after {:.1f} ms ({}: {}){}", describe(cmd),
                   ms_between(cmd.sent_ns, cmd.done_ns), cmd.error_class, cmd.message,
                   executed != nullptr ? fmt::format(" although the server executed it at {}",
                                                     at(in, executed->t_ns))
                                       : "")});
}

void judge_command(const check_input& in, const episodes& ep, const command_episode& c,
                   outcome_tally& t) {
  const auto& cmd = *c.outcome;
  t.tracked += c.identity ? 1 : 0;
  judge_executions(in, c, t);
  if (!cmd.completed) {
    if (!ep.failed_on_purpose.contains(cmd.id)) {
      ++t.no_result;
      t.drop_findings.push_back({"no_result", fmt::format("{} got no result", describe(cmd))});
    }
  } else if (cmd.ok) {
    judge_success(in, c, t);
  } else if (!ep.failed_on_purpose.contains(cmd.id)) {
    judge_failure(in, c, t);
  }
}

/// Why a cut command is not a drop, or "" when it is one (the rules of a driver's run: a
/// server's close takes the replies it had not written with it, unless the client had been
/// told to move first; a client's close is its own unless a reply delay may have timed it out).
auto excuse(const cut_command& c) -> std::string {
  if (c.sent_again != nullptr) return "sent again";
  if (c.closed_by_server && !c.after_moving) return "the server's close";
  if (!c.closed_by_server && c.delayed)
    return "a reply delay (a timeout, for all the server knows)";
  return "";
}

auto describe(const check_input& in, const cut_command& c) -> std::string {
  const auto& closed = std::get<tl::connection_closed>(c.closed->what);
  return fmt::format(
      "{} received on connection {} ({}) at {}{}; the {} closed it at {} ({}) before the reply, "
      "and the client never sent it again",
      join(std::get<tl::command_received>(c.received->what).args), c.received->conn,
      c.received->endpoint, at(in, c.received->t_ns),
      c.after_moving ? ", after the connection was told MOVING" : "",
      c.closed_by_server ? "server" : "client", at(in, c.closed->t_ns),
      closed.reason.empty() ? "no reason given" : closed.reason);
}

/// Without a driver (schsim serve): a command is dropped when its connection closed before the
/// server answered it, the close was the client's doing, and the client never sent the same
/// command again on another connection. What the application was told only a driver could say.
auto judge_served(const check_input& in, const episodes& ep, v::check_result r) -> v::check_result {
  std::size_t resent = 0;
  std::size_t excused = 0;
  std::vector<const tl::event*> evidence;
  std::vector<std::string> dropped;
  for (const auto& c : ep.cut_commands) {
    const auto why = excuse(c);
    resent += c.sent_again != nullptr ? 1 : 0;
    excused += why.empty() || c.sent_again != nullptr ? 0 : 1;
    if (!why.empty()) continue;
    evidence.push_back(c.received);
    evidence.push_back(c.closed);
    dropped.push_back(describe(in, c));
  }
  const auto received = ep.data_commands_received;
  const auto budget = static_cast<std::size_t>(
      std::floor(in.scn.expect.max_error_rate * static_cast<double>(received)));
  r.figures = {{"received", static_cast<double>(received), ""},
               {"cut_by_a_close", static_cast<double>(ep.cut_commands.size()), ""},
               {"sent_again", static_cast<double>(resent), ""},
               {"cut_not_by_the_client", static_cast<double>(excused), ""},
               {"dropped", static_cast<double>(dropped.size()), ""}};
  r.tolerances = {{"dropped", 0.0, static_cast<double>(budget) + 1, "",
                   fmt::format("at most max_error_rate {} x {} received",
                               in.scn.expect.max_error_rate, received)}};
  r.excerpt = excerpt(evidence);
  if (received == 0) return judged_nothing(r, "the server received no data command");
  if (dropped.size() > budget) {
    for (auto& d : dropped) v::add_finding(r, "cut_and_never_sent_again", std::move(d));
  }
  return fail_or_pass(
      r, fmt::format("judged from the server's record (no driver): {} data commands received, {} "
                     "cut by a close before their reply ({} sent again, {} by a close or delay "
                     "not of the client's making), {} dropped",
                     received, ep.cut_commands.size(), resent, excused, dropped.size()));
}

}  // namespace

auto judge_zero_dropped(const check_input& in, const episodes& ep) -> v::check_result {
  auto r = start_result(zero_dropped_id);
  if (in.driver.absent) return judge_served(in, ep, std::move(r));
  outcome_tally t;
  for (const auto& c : ep.commands) {
    judge_command(in, ep, c, t);
  }
  const std::size_t issued = in.driver.commands.size();
  const auto budget = static_cast<std::size_t>(
      std::floor(in.scn.expect.max_error_rate * static_cast<double>(issued)));
  const auto on_purpose = ep.failed_on_purpose.size();
  r.figures = {{"issued", static_cast<double>(issued), ""},
               {"succeeded", static_cast<double>(t.succeeded), ""},
               {"failed", static_cast<double>(t.failed), ""},
               {"no_result", static_cast<double>(t.no_result), ""},
               {"failed_on_purpose", static_cast<double>(on_purpose), ""},
               {"executed_more_than_once", static_cast<double>(t.duplicates), ""},
               {"ok_but_never_executed", static_cast<double>(t.phantom), ""},
               {"executed_but_reported_failed", static_cast<double>(t.applied_but_failed), ""},
               {"ok_before_server_reply", static_cast<double>(t.false_reports), ""},
               {"reply_mismatch", static_cast<double>(t.reply_mismatches), ""},
               {"tracked_on_server", static_cast<double>(t.tracked), ""}};
  r.tolerances = {
      {"failed + no_result", 0.0, static_cast<double>(budget) + 1, "",
       fmt::format("at most max_error_rate {} x {} issued", in.scn.expect.max_error_rate, issued)},
      {"executed_more_than_once", 0.0, 1.0, "", "never"}};
  r.excerpt = excerpt(t.evidence);
  for (auto& f : t.hard_findings) {
    v::add_finding(r, f.rule, std::move(f.text));
  }
  const bool over_budget = t.failed + t.no_result > budget;
  if (over_budget) {
    for (auto& f : t.drop_findings) {
      v::add_finding(r, f.rule, std::move(f.text));
    }
  }
  if (issued == 0) {
    return in.scn.load.rate == 0 ? not_applicable(r, "the scenario has no workload")
                                 : judged_nothing(r, "the workload issued no command");
  }
  if (!t.hard_findings.empty() || over_budget) {
    r.summary = fmt::format(
        "{} of {} commands ok; {} failed, {} without result, {} executed more than once, {} ok "
        "but never executed, {} ok without the server's reply, {} reply mismatch{}",
        t.succeeded, issued, t.failed, t.no_result, t.duplicates, t.phantom, t.false_reports,
        t.reply_mismatches, t.reply_mismatches == 1 ? "" : "es");
  }
  return fail_or_pass(
      r, fmt::format(
             "{} of {} commands ok{}, each executed exactly once ({} tracked on the "
             "server)",
             t.succeeded, issued,
             on_purpose == 0 ? std::string() : fmt::format(", {} failed on purpose", on_purpose),
             t.tracked));
}

}  // namespace schsim::harness::detail
