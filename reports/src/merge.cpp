#include <schsim/reports/merge.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

namespace schsim::reports {

namespace {

namespace v = schsim::verdict;

/// A shard with its shard information made explicit.
struct shard_view {
  const shard_run* in;
  v::shard_info info;
};

/// A run without shard information is the whole of its own scenarios: shard 1/1.
auto shard_of(const shard_run& s) -> v::shard_info {
  if (s.run.shard) {
    return *s.run.shard;
  }
  v::shard_info info;
  for (const auto& c : s.run.cases) {
    if (std::find(info.planned.begin(), info.planned.end(), c.scenario_id) == info.planned.end()) {
      info.planned.push_back(c.scenario_id);
    }
  }
  info.assigned = info.planned;
  return info;
}

auto name(const shard_view& s) -> std::string {
  return fmt::format("{} (shard {}/{})", s.in->source, s.info.index, s.info.count);
}

auto first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b)
    -> std::string {
  const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return fmt::format("{} vs {}", ia == a.end() ? "(end)" : *ia, ib == b.end() ? "(end)" : *ib);
}

/// Shards of one run agree on how the suite was split and on what ran.
void require_same_run(const std::vector<shard_view>& views) {
  const auto& a = views.front();
  for (const auto& b : views) {
    if (b.info.count != a.info.count) {
      throw std::invalid_argument(
          fmt::format("{} and {} split the suite differently ({} vs {} shards)", name(a), name(b),
                      a.info.count, b.info.count));
    }
    if (b.info.planned != a.info.planned) {
      throw std::invalid_argument(fmt::format(
          "{} and {} ran different selections of scenarios ({} vs {}; first difference {}): "
          "merge only the shards of one run (same --filter, --dir and --repeat)",
          name(a), name(b), a.info.planned.size(), b.info.planned.size(),
          first_difference(a.info.planned, b.info.planned)));
    }
    if (b.in->run.schsim_version != a.in->run.schsim_version) {
      throw std::invalid_argument(
          fmt::format("{} and {} were made by different schsim versions ({} vs {})", name(a),
                      name(b), a.in->run.schsim_version, b.in->run.schsim_version));
    }
    if (b.in->run.command_line != a.in->run.command_line) {
      throw std::invalid_argument(fmt::format("{} and {} ran different commands: '{}' vs '{}'",
                                              name(a), name(b), a.in->run.command_line,
                                              b.in->run.command_line));
    }
  }
}

/// Every shard number from 1 to N, each once.
void require_every_shard_once(const std::vector<shard_view>& views) {
  std::map<int, const shard_view*> by_index;
  for (const auto& s : views) {
    if (const auto [it, inserted] = by_index.emplace(s.info.index, &s); !inserted) {
      throw std::invalid_argument(fmt::format("shard {}/{} given twice: {} and {}", s.info.index,
                                              s.info.count, it->second->in->source, s.in->source));
    }
  }
  const int count = views.front().info.count;
  for (int i = 1; i <= count; ++i) {
    if (by_index.count(i) == 0) {
      std::vector<std::string> given;
      given.reserve(by_index.size());
      for (const auto& [index, s] : by_index) {
        given.push_back(fmt::format("{}/{}", index, count));
      }
      throw std::invalid_argument(
          fmt::format("shard {}/{} is missing (given: {})", i, count, fmt::join(given, ", ")));
    }
  }
}

/// Each planned scenario's cases in exactly one shard, the one it was assigned to.
void require_each_scenario_once(const std::vector<shard_view>& views) {
  std::map<std::string, const shard_view*> holder;
  for (const auto& s : views) {
    for (const auto& c : s.in->run.cases) {
      if (const auto [it, inserted] = holder.emplace(c.scenario_id, &s);
          !inserted && it->second != &s) {
        throw std::invalid_argument(
            fmt::format("overlapping shards: scenario {} is in both {} and {}", c.scenario_id,
                        name(*it->second), name(s)));
      }
    }
  }
  const auto& planned = views.front().info.planned;
  for (const auto& [id, s] : holder) {
    if (std::find(planned.begin(), planned.end(), id) == planned.end()) {
      throw std::invalid_argument(
          fmt::format("{} holds scenario {}, which is not in the run's selection", name(*s), id));
    }
    if (std::find(s->info.assigned.begin(), s->info.assigned.end(), id) == s->info.assigned.end()) {
      throw std::invalid_argument(
          fmt::format("{} holds scenario {}, which was not assigned to it", name(*s), id));
    }
  }
  std::vector<std::string> missing;
  for (const auto& id : planned) {
    if (holder.count(id) == 0) {
      const auto owner = std::find_if(views.begin(), views.end(), [&](const shard_view& s) {
        return std::find(s.info.assigned.begin(), s.info.assigned.end(), id) !=
               s.info.assigned.end();
      });
      missing.push_back(
          owner == views.end() ? id : fmt::format("{} (assigned to {})", id, name(*owner)));
    }
  }
  if (!missing.empty()) {
    throw std::invalid_argument(
        fmt::format("missing cases: no shard has a result for {}", fmt::join(missing, ", ")));
  }
}

/// The shards' cases in the unsharded order, with the run's common fields.
auto combine(const std::vector<shard_view>& views) -> v::run_result {
  v::run_result run;
  run.schsim_version = views.front().in->run.schsim_version;
  run.command_line = views.front().in->run.command_line;
  std::set<std::string> suite_versions;
  for (const auto& s : views) {
    const auto& started = s.in->run.started_at;
    if (!started.empty() && (run.started_at.empty() || started < run.started_at)) {
      run.started_at = started;  // ISO 8601 UTC: text order is time order
    }
    std::string_view rest = s.in->run.suite_version;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      suite_versions.emplace(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    run.cases.insert(run.cases.end(), s.in->run.cases.begin(), s.in->run.cases.end());
  }
  run.suite_version = fmt::format("{}", fmt::join(suite_versions, ","));
  const auto& planned = views.front().info.planned;
  const auto position = [&](const v::case_result& c) {
    return std::find(planned.begin(), planned.end(), c.scenario_id) - planned.begin();
  };
  std::stable_sort(
      run.cases.begin(), run.cases.end(), [&](const v::case_result& a, const v::case_result& b) {
        return std::tuple(position(a), a.repetition) < std::tuple(position(b), b.repetition);
      });
  return run;
}

}  // namespace

auto merge_shard_runs(const std::vector<shard_run>& shards) -> v::run_result {
  if (shards.empty()) {
    throw std::invalid_argument("nothing to merge");
  }
  std::vector<shard_view> views;
  views.reserve(shards.size());
  for (const auto& s : shards) {
    views.push_back({&s, shard_of(s)});
  }
  require_same_run(views);
  require_every_shard_once(views);
  require_each_scenario_once(views);
  return combine(views);
}

auto merge_matrix_shards(const std::vector<matrix_shard>& shards) -> std::vector<matrix_input> {
  std::vector<std::string> order;
  std::map<std::string, std::vector<shard_run>> per_client;
  for (const auto& shard : shards) {
    for (const auto& client : shard.clients) {
      if (per_client.count(client.name) == 0) {
        order.push_back(client.name);
      }
      per_client[client.name].push_back(
          {fmt::format("{} [client {}]", shard.source, client.name), client.run});
    }
  }
  if (order.empty()) {
    throw std::invalid_argument("nothing to merge: no client in any input");
  }
  std::vector<matrix_input> merged;
  std::vector<std::string> first_plan;
  for (const auto& client : order) {
    const auto& runs = per_client[client];
    auto plan = shard_of(runs.front()).planned;
    if (merged.empty()) {
      first_plan = plan;
    } else if (plan != first_plan) {
      throw std::invalid_argument(fmt::format(
          "clients {} and {} ran different selections of scenarios ({} vs {}; first difference "
          "{}): a matrix holds every client to the same scenarios",
          order.front(), client, first_plan.size(), plan.size(),
          first_difference(first_plan, plan)));
    }
    merged.push_back({client, merge_shard_runs(runs)});
  }
  return merged;
}

}  // namespace schsim::reports
