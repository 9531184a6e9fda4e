// The shaded intervals of the reports, from the same episodes the checks judge.
#include <schsim/harness/checks.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "episodes.hpp"

namespace schsim::harness {

using namespace detail;

auto derive_windows(const check_input& in) -> std::vector<verdict::window> {
  std::vector<verdict::window> out;
  const auto ep = build_episodes(in);
  const auto end_ns = ep.an.end_ns;
  for (const auto& w : ep.windows) {
    out.push_back({"maintenance", w.label, w.start, w.end.value_or(end_ns), w.endpoint});
  }
  for (const auto& m : ep.migrations) {
    const auto label =
        fmt::format("slots {} {} -> {}", m.begin->slots.to_string(), m.begin->from, m.begin->to);
    if (m.end) {
      out.push_back({"slot_migration", label, m.start, *m.end, m.begin->from});
    } else {
      out.push_back({"slot_migration", label + " (never completed)", m.start,
                     std::max(end_ns, m.start), m.begin->from});
    }
  }
  for (const auto& m : ep.movings) {
    out.push_back({"moving",
                   fmt::format("MOVING seq {} ({} s) to {}", m.seq, m.time_s,
                               m.target ? *m.target : std::string("null: same endpoint")),
                   m.at, std::min(m.forced_close_at, std::max(end_ns, m.at)), m.from});
  }
  for (const auto& d : ep.an.delays) {
    out.push_back({std::isinf(d.delay_ms) ? "stall" : "latency",
                   std::isinf(d.delay_ms)
                       ? fmt::format("replies stalled on {}", d.endpoint)
                       : fmt::format("replies delayed {:.0f} ms on {}", d.delay_ms, d.endpoint),
                   d.start, std::min(d.end, std::max(end_ns, d.start)), d.endpoint});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.start_ns < b.start_ns; });
  return out;
}

}  // namespace schsim::harness
