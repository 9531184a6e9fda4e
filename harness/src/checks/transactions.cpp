// transactions: every MULTI/EXEC block of the workload ran whole on one connection or not at all,
// at most once, and what the driver reported matches what the server did.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;

namespace {

/// Findings of one rule itemised up to this many; the rest are counted in one more.
constexpr std::size_t itemised_transactions = 8;

struct tally {
  std::map<std::string, std::size_t> seen;
  std::vector<const tl::event*> evidence;
  std::size_t ok = 0;
  std::size_t failed = 0;
  std::size_t executed_but_failed = 0;
  std::size_t provoked = 0;           ///< timeouts the scenario caused, never counted against it
  std::vector<std::string> failures;  ///< reported only over the error budget

  void add(v::check_result& r, const std::string& rule, const std::string& text) {
    if (++seen[rule] <= itemised_transactions) v::add_finding(r, rule, text);
  }
  void summarise(v::check_result& r) const {
    for (const auto& [rule, n] : seen) {
      if (n > itemised_transactions)
        v::add_finding(r, rule, fmt::format("{} transactions in all", n));
    }
  }
};

auto name(const transaction_episode& t) -> std::string {
  return fmt::format("transaction {} ({} INCR{}{})", t.outcome->id, t.outcome->commands.size(),
                     t.outcome->commands.size() == 1 ? "" : "s",
                     t.outcome->watch.empty() ? "" : " after WATCH");
}

auto conns_text(const transaction_episode& t) -> std::string {
  std::string out;
  for (const auto& [conn, seq] : t.per_conn) {
    std::string parts;
    for (const auto i : seq)
      parts += fmt::format("{}{}", parts.empty() ? "" : " ",
                           i == 0 ? std::string("WATCH") : fmt::format("k{}", i));
    out += fmt::format("{}connection {}: {}", out.empty() ? "" : "; ", conn, parts);
  }
  return out;
}

/// Whole on one connection: never continued on another, never run command by command.
void judge_whole(const check_input& in, const transaction_episode& t, v::check_result& r,
                 tally& n) {
  if (!t.split_conns.empty()) {
    n.add(r, "split_across_connections",
          fmt::format("{} went on from one connection to another instead of starting again "
                      "whole ({}): a block must be sent whole on one connection",
                      name(t), conns_text(t)));
    n.evidence.insert(n.evidence.end(), t.arrivals.begin(), t.arrivals.end());
  }
  if (!t.outside_multi.empty()) {
    const auto* first = t.outside_multi.front();
    n.add(r, "executed_outside_multi",
          fmt::format("{}: {} of its INCRs ran on their own, outside a MULTI block (the first on "
                      "connection {} at {}): a partial execution",
                      name(t), t.outside_multi.size(), first->conn, at(in, first->t_ns)));
    n.evidence.push_back(first);
  }
  const auto size = t.outcome->commands.size();
  for (const auto* b : t.executed) {
    const bool exact =
        b->queued.size() == size && std::all_of(b->queued.begin(), b->queued.end(), [&](auto* q) {
          const auto& args = std::get<tl::command_received>(q->what).args;
          return args.size() >= 2 &&
                 std::find(t.outcome->commands.begin(), t.outcome->commands.end(), args) !=
                     t.outcome->commands.end();
        });
    if (!exact) {
      n.add(r, "partial_block",
            fmt::format("{}: EXEC on connection {} at {} ran a block of {} command(s) that is "
                        "not exactly its {} INCRs (some missing, or commands of something else "
                        "queued in it)",
                        name(t), b->conn, at(in, b->ended->t_ns), b->queued.size(), size));
      n.evidence.push_back(b->ended);
    }
  }
}

void judge_once(const check_input& in, const transaction_episode& t, v::check_result& r, tally& n) {
  if (t.executed.size() <= 1 && t.most_increments <= 1) return;
  std::string where;
  for (const auto* b : t.executed) {
    where += fmt::format("{}EXEC on connection {} ({}) at {}", where.empty() ? "" : ", ", b->conn,
                         b->endpoint, at(in, b->ended->t_ns));
    n.evidence.push_back(b->ended);
  }
  n.add(
      r, "executed_twice",
      fmt::format("{} ran more than once: {} executed block(s){}{}, a key incremented {} times",
                  name(t), t.executed.size(), where.empty() ? "" : ": ", where, t.most_increments));
}

/// The driver's account against the server's: ok only after an EXEC that ran it, with its
/// replies; a failure is an answer too, no answer is a hang.
void judge_result(const check_input& in, const transaction_episode& t, v::check_result& r,
                  tally& n) {
  const auto& o = *t.outcome;
  if (!o.completed) {
    n.add(r, "no_result",
          fmt::format("{} issued at {} got no result: the client neither ran it nor said it "
                      "failed",
                      name(t), at(in, o.issued_ns)));
    return;
  }
  if (!o.ok && !t.provoked.empty()) {
    ++n.provoked;
    return;
  }
  if (!o.ok) {
    ++n.failed;
    n.executed_but_failed += t.executed.empty() ? 0 : 1;
    n.failures.push_back(fmt::format("{} failed after {:.1f} ms ({}: {}){}", name(t),
                                     ms_between(o.sent_ns, o.done_ns), o.error_class, o.message,
                                     t.executed.empty() ? "" : " although the server executed it"));
    return;
  }
  ++n.ok;
  if (t.executed.empty()) {
    n.add(r, "ok_without_execution",
          fmt::format("{} reported executed at {}, but the server ran no EXEC of it ({})", name(t),
                      at(in, o.done_ns),
                      t.per_conn.empty() ? "none of its commands arrived" : conns_text(t)));
    n.evidence.insert(n.evidence.end(), t.arrivals.begin(), t.arrivals.end());
    return;
  }
  const bool ones =
      o.replies.size() == o.commands.size() &&
      std::all_of(o.replies.begin(), o.replies.end(), [](const auto& s) { return s == "1"; });
  if (!ones) {
    n.add(r, "reply_mismatch",
          fmt::format("{} reported replies [{}]; each INCR on a key of its own answers 1", name(t),
                      fmt::join(o.replies, ", ")));
  }
}

}  // namespace

auto judge_transactions(const check_input& in, const episodes& ep) -> v::check_result {
  auto r = start_result(transactions_id);
  const auto& f = ep.transactions;
  if (!f.active) return not_applicable(r, "the scenario has no [workload.transactions]");
  if (f.transactions.empty()) return judged_nothing(r, "no transaction was issued");
  tally n;
  for (const auto& t : f.transactions) {
    judge_whole(in, t, r, n);
    judge_once(in, t, r, n);
    judge_result(in, t, r, n);
  }
  n.summarise(r);
  const auto issued = f.transactions.size();
  const auto budget = static_cast<std::size_t>(
      std::floor(in.scn.expect.max_error_rate * static_cast<double>(issued)));
  if (n.failed > budget) {
    for (std::size_t i = 0; i < n.failures.size(); ++i) {
      if (i < itemised_transactions) v::add_finding(r, "failed", n.failures[i]);
    }
  }
  const auto executed_blocks = static_cast<double>(std::count_if(
      f.blocks.begin(), f.blocks.end(), [](const auto& b) { return b.tx && b.executed(); }));
  r.figures = {{"issued", static_cast<double>(issued), ""},
               {"ok", static_cast<double>(n.ok), ""},
               {"failed", static_cast<double>(n.failed), ""},
               {"failed_on_purpose", static_cast<double>(n.provoked), ""},
               {"executed_but_reported_failed", static_cast<double>(n.executed_but_failed), ""},
               {"blocks_executed", executed_blocks, ""},
               {"blocks_seen", static_cast<double>(f.blocks.size()), ""}};
  r.tolerances = {
      {"failed", 0.0, static_cast<double>(budget) + 1, "",
       fmt::format("at most max_error_rate {} x {} issued", in.scn.expect.max_error_rate, issued)}};
  r.excerpt = excerpt(n.evidence);
  return fail_or_pass(r, fmt::format("{} of {} transactions executed, each whole on one "
                                     "connection and once; {} failed explicitly, {} failed on "
                                     "purpose (a WATCH or EXEC reply held past the timeout, "
                                     "replies held ahead of it, a server close while in "
                                     "flight)",
                                     n.ok, issued, n.failed, n.provoked));
}

}  // namespace schsim::harness::detail
