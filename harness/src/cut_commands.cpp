// Commands a connection closed on before their reply: the server's own view of a dropped
// command, which schsim serve's verdict judges without a driver (zero_dropped).
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "episodes.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;

namespace {

/// Commands whose answer is not a reply the server writes to them (subscription confirmations
/// are pushes), that end the connection themselves, or that may wait for ever by design (a
/// blocking call a consumer abandons when it closes).
auto answered_otherwise(const std::vector<std::string>& args) -> bool {
  static const std::set<std::string> names = {
      "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
      "QUIT",      "MONITOR",    "BLPOP",      "BRPOP",       "BLMOVE",       "BRPOPLPUSH",
      "BZPOPMIN",  "BZPOPMAX",   "XREAD",      "XREADGROUP",  "WAIT"};
  if (args.empty()) return true;
  std::string name = args[0];
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return names.contains(name);
}

using receipts_by_args = std::map<std::vector<std::string>, std::vector<const tl::event*>>;

auto data_receipts_by_args(const analysis& an) -> receipts_by_args {
  receipts_by_args out;
  for (const auto& [id, c] : an.conns) {
    for (const auto* e : c.data) out[std::get<tl::command_received>(e->what).args].push_back(e);
  }
  for (auto& [args, events] : out) {
    std::sort(events.begin(), events.end(),
              [](const auto* a, const auto* b) { return a->t_ns < b->t_ns; });
  }
  return out;
}

/// The first receipt of the same arguments on another connection after `cut`.
auto sent_again(const receipts_by_args& receipts, const tl::event& cut) -> const tl::event* {
  const auto& events = receipts.at(std::get<tl::command_received>(cut.what).args);
  const auto it = std::find_if(events.begin(), events.end(), [&](const auto* e) {
    return e->t_ns > cut.t_ns && e->conn != cut.conn;
  });
  return it != events.end() ? *it : nullptr;
}

}  // namespace

auto find_cut_commands(const analysis& an) -> std::vector<cut_command> {
  const auto receipts = data_receipts_by_args(an);
  std::vector<cut_command> out;
  for (const auto& [id, c] : an.conns) {
    if (c.closed_event == nullptr) continue;
    std::set<std::uint64_t> answered;
    for (const auto* r : c.replies) answered.insert(std::get<tl::reply_written>(r->what).index);
    for (const auto* e : c.data) {
      const auto& cmd = std::get<tl::command_received>(e->what);
      if (answered.contains(cmd.index) || answered_otherwise(cmd.args)) continue;
      cut_command cut;
      cut.received = e;
      cut.closed = c.closed_event;
      cut.sent_again = sent_again(receipts, *e);
      cut.closed_by_server =
          std::get<tl::connection_closed>(c.closed_event->what).by == tl::close_initiator::server;
      cut.after_moving = c.moving_at && *c.moving_at <= e->t_ns;
      cut.delayed = std::any_of(an.delays.begin(), an.delays.end(), [&](const auto& d) {
        return d.endpoint == c.endpoint && d.start <= e->t_ns && e->t_ns < d.end;
      });
      out.push_back(cut);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.closed->t_ns < b.closed->t_ns; });
  return out;
}

}  // namespace schsim::harness::detail
