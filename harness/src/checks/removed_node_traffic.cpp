// removed_node_traffic: after the SMIGRATED that left a node without slots, no command the client
// was handed once it could have read the push reached that node.
#include <schsim/harness/workload.hpp>

#include <fmt/format.h>

#include <algorithm>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;

namespace {

// How long after the SMIGRATED was written a command handed to the client is still excused: the
// push needs loopback transit plus a turn of the client's event loop before anyone can act on it.
// With no grace a correct client failed about one run in four (a command handed over 2-7 ms after
// the write, before its reader had the push); 50 ms still catches a client that keeps routing to
// the node (go-redis's lazy reload sent commands 91 ms after, the broken modes for seconds).
constexpr std::int64_t removed_node_read_grace_ns = 50'000'000;

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

/// What reached one removed node while it was out of the topology.
struct removal_traffic {
  std::vector<const tl::event*> late;
  std::size_t in_flight = 0;
  std::size_t new_connections = 0;
};

auto traffic_after(const check_input& in, const analysis& an, const node_removal& rm)
    -> removal_traffic {
  removal_traffic out;
  const auto end = std::min(rm.end, an.end_ns);
  for (const auto& [id, c] : an.conns) {
    if (c.endpoint != rm.node) {
      continue;
    }
    if (c.opened > rm.start && c.opened < end) {
      ++out.new_connections;
    }
    for (const auto* e : c.data) {
      if (e->t_ns <= rm.start || e->t_ns >= end) {
        continue;
      }
      const auto* sent = sent_command_for(in, an, *e);
      if (sent != nullptr && sent->sent_ns != 0 &&
          sent->sent_ns < rm.start + removed_node_read_grace_ns) {
        ++out.in_flight;  // handed to the client before it could have read the push
        continue;
      }
      out.late.push_back(e);
    }
  }
  std::sort(out.late.begin(), out.late.end(),
            [](const auto* a, const auto* b) { return a->t_ns < b->t_ns; });
  return out;
}

auto late_finding(const check_input& in, const analysis& an, const node_removal& rm,
                  const std::vector<const tl::event*>& late) -> std::string {
  std::string examples;
  for (std::size_t k = 0; k < std::min<std::size_t>(late.size(), 3); ++k) {
    const auto* e = late[k];
    const auto* reply =
        an.conns.at(e->conn).reply_to(std::get<tl::command_received>(e->what).index);
    examples += fmt::format(
        "{}[{}] on #{} at {}{}", examples.empty() ? "" : ", ",
        join(std::get<tl::command_received>(e->what).args), e->conn, at(in, e->t_ns),
        reply != nullptr ? " -> " + std::get<tl::reply_written>(reply->what).summary : "");
  }
  return fmt::format(
      "{} left the topology with SMIGRATED seq {} at {}; {} command{} sent after that still "
      "reached it, the last at {}{}; e.g. {}",
      rm.node, rm.seq, at(in, rm.start), late.size(), late.size() == 1 ? "" : "s",
      at(in, late.back()->t_ns),
      rm.end != forever ? fmt::format(" (judged until {}: {})", at(in, rm.end), rm.end_reason)
                        : std::string(),
      examples);
}

}  // namespace

auto judge_removed_node_traffic(const check_input& in, const episodes& ep) -> v::check_result {
  auto r = start_result(removed_node_traffic_id);
  if (ep.removals.empty()) {
    if (ep.smigrations.empty()) {
      return none_delivered(r, in.scn, maint::kind::smigrated);
    }
    return not_applicable(r, "no SMIGRATED left a node without slots");
  }
  std::vector<const tl::event*> evidence;
  std::size_t violations = 0;
  std::size_t excused = 0;
  for (const auto& rm : ep.removals) {
    const auto traffic = traffic_after(in, ep.an, rm);
    const auto key = rm.node + ".seq" + std::to_string(rm.seq);
    r.figures.push_back(
        {key + ".commands_after_removal", static_cast<double>(traffic.late.size()), ""});
    r.figures.push_back({key + ".in_flight_excused", static_cast<double>(traffic.in_flight), ""});
    r.figures.push_back(
        {key + ".connections_opened_after", static_cast<double>(traffic.new_connections), ""});
    evidence.push_back(rm.push);
    violations += traffic.late.size();
    excused += traffic.in_flight;
    if (traffic.late.empty()) {
      continue;
    }
    v::add_finding(r, "traffic_to_removed_node", late_finding(in, ep.an, rm, traffic.late));
    for (std::size_t k = 0; k < std::min<std::size_t>(traffic.late.size(), 8); ++k) {
      evidence.push_back(traffic.late[k]);
    }
  }
  r.tolerances.push_back(
      {"commands_after_removal", 0.0, 1.0, "",
       fmt::format("none handed to the client later than {} ms after the SMIGRATED was written",
                   removed_node_read_grace_ns / 1'000'000)});
  r.excerpt = excerpt(evidence, 24);
  std::string nodes;
  for (const auto& rm : ep.removals) {
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

}  // namespace schsim::harness::detail
