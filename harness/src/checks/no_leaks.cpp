// no_leaks: the open connections return to the steady state by the end.
#include <fmt/format.h>

#include <algorithm>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace tl = schsim::timeline;
namespace v = schsim::verdict;

namespace {

auto open_at(const analysis& an, std::int64_t t) -> double {
  return static_cast<double>(std::count_if(an.conns.begin(), an.conns.end(),
                                           [&](const auto& kv) { return kv.second.open_at(t); }));
}

/// The steady state's moment: just before the first scenario step ran, else once the first
/// command ran, else when the first connection opened.
auto steady_state_at(const analysis& an) -> std::int64_t {
  std::int64_t t = forever;
  for (const auto& [id, e] : an.step_runs) {
    t = std::min(t, e->t_ns - 1);
  }
  if (t == forever) {
    for (const auto& [id, c] : an.conns) {
      if (!c.data.empty()) {
        t = std::min(t, c.data.front()->t_ns);
      }
    }
  }
  return t == forever ? an.conns.begin()->second.opened : t;
}

void judge_reconnects(const scenario::count_band& band, double reconnects, v::check_result& r) {
  r.figures.push_back({"reconnects", reconnects, ""});
  r.tolerances.push_back(
      {"reconnects", static_cast<double>(band.min),
       band.max ? std::optional<double>(static_cast<double>(*band.max) + 1) : std::nullopt, "",
       "expect.reconnects"});
  if (!v::within(r.tolerances.back(), reconnects)) {
    v::add_finding(r, "reconnects_out_of_band",
                   fmt::format("{} reconnects, expected {}..{}", reconnects, band.min,
                               band.max ? std::to_string(*band.max) : "any"));
  }
}

}  // namespace

auto judge_no_leaks(const check_input& in, const episodes& ep) -> v::check_result {
  auto r = start_result(no_leaks_id);
  const auto& an = ep.an;
  if (an.conns.empty()) {
    return judged_nothing(r, "no connection was opened");
  }
  const auto baseline_at = steady_state_at(an);
  const double baseline = std::max(open_at(an, baseline_at), 1.0);
  double peak = 0;
  for (const auto& [id, c] : an.conns) {
    peak = std::max(peak, open_at(an, c.opened));
  }
  const std::int64_t end = an.end_ns;
  const double at_end = open_at(an, end);
  const auto opened = static_cast<double>(an.conns.size());
  r.figures = {{"steady_state_open", baseline, ""},
               {"peak_open", peak, ""},
               {"open_at_end", at_end, ""},
               {"connections_opened", opened, ""}};
  r.tolerances = {
      {"open_at_end", std::nullopt, baseline + 1, "",
       fmt::format("at most the steady state ({} at {})", baseline, at(in, baseline_at))}};
  std::vector<const tl::event*> evidence;
  if (at_end > baseline) {
    std::string which;
    for (const auto& [id, c] : an.conns) {
      if (c.open_at(end)) {
        which += fmt::format("{}#{} ({}, opened {})", which.empty() ? "" : ", ", id, c.endpoint,
                             at(in, c.opened));
        if (c.opened_event != nullptr) {
          evidence.push_back(c.opened_event);
        }
      }
    }
    v::add_finding(r, "connections_leaked",
                   fmt::format("{} connections open at the end ({}), steady state was {}", at_end,
                               which, baseline));
  }
  if (const auto& band = in.scn.expect.reconnects) {
    judge_reconnects(*band, opened - baseline, r);
  }
  r.excerpt = excerpt(evidence);
  return fail_or_pass(
      r, fmt::format("{} open at the end, steady state {}, peak {}", at_end, baseline, peak));
}

}  // namespace schsim::harness::detail
