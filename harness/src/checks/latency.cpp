// latency: p50/p99/max of successful commands before and during the event; critical only with
// expect.max_latency.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "registry.hpp"

namespace schsim::harness::detail {

namespace v = schsim::verdict;

namespace {

auto percentile(std::vector<double> values, double p) -> double {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())) - 1);
  return values[std::min(rank, values.size() - 1)];
}

void add_figures(const char* prefix, const std::vector<double>& values, v::check_result& r) {
  r.figures.push_back({fmt::format("{}.count", prefix), static_cast<double>(values.size()), ""});
  if (values.empty()) {
    return;
  }
  r.figures.push_back({fmt::format("{}.p50", prefix), percentile(values, 50), "ms"});
  r.figures.push_back({fmt::format("{}.p99", prefix), percentile(values, 99), "ms"});
  r.figures.push_back(
      {fmt::format("{}.max", prefix), *std::max_element(values.begin(), values.end()), "ms"});
}

}  // namespace

auto judge_latency(const check_input& in, const episodes& ep) -> v::check_result {
  auto r = start_result(latency_id);
  std::int64_t event_start = forever;
  for (const auto& [id, e] : ep.an.step_runs) {
    event_start = std::min(event_start, e->t_ns);
  }
  std::vector<double> baseline;
  std::vector<double> during;
  std::size_t failed = 0;
  for (const auto& cmd : in.driver.commands) {
    if (!cmd.completed || !cmd.ok) {
      failed += 1;
      continue;
    }
    const double ms = ms_between(cmd.intended_ns, cmd.done_ns);
    (cmd.intended_ns < event_start ? baseline : during).push_back(ms);
  }
  add_figures("baseline", baseline, r);
  add_figures("event", during, r);
  r.figures.push_back({"not_ok", static_cast<double>(failed), ""});
  if (baseline.empty() && during.empty()) {
    r.critical = in.scn.expect.max_latency.has_value();  // reported, bounded only on request
    if (in.driver.commands.empty() && in.scn.load.rate == 0) {
      return not_applicable(r, "the scenario has no workload");
    }
    return judged_nothing(
        r, in.driver.commands.empty() ? "the workload issued no command" : "no command completed");
  }
  std::vector<double> all = baseline;
  all.insert(all.end(), during.begin(), during.end());
  const double worst = *std::max_element(all.begin(), all.end());
  if (const auto bound = in.scn.expect.max_latency) {
    r.tolerances.push_back(
        {"max", std::nullopt, to_ms(*bound), "ms", "expect.max_latency, open-loop"});
    if (worst >= to_ms(*bound)) {
      v::add_finding(
          r, "max_latency_reached",
          fmt::format("max latency {:.1f} ms reached the bound {:.0f} ms", worst, to_ms(*bound)));
    }
  } else {
    r.critical = find_check(latency_id)->critical;  // reported, not bounded
  }
  const auto summary = fmt::format(
      "baseline p50 {:.2f} / p99 {:.2f} ms; during the event p50 {:.2f} / p99 {:.2f} / max "
      "{:.1f} ms",
      percentile(baseline, 50), percentile(baseline, 99), percentile(during, 50),
      percentile(during, 99),
      during.empty() ? 0.0 : *std::max_element(during.begin(), during.end()));
  r.summary = r.findings.empty() ? "" : summary;
  return fail_or_pass(r, summary);
}

}  // namespace schsim::harness::detail
