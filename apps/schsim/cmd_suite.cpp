// `schsim suite`: every built-in scenario (filtered by id or tag) against a client under test.
#include <schsim/harness/profile.hpp>
#include <schsim/harness/shard.hpp>
#include <schsim/harness/suite.hpp>
#include <schsim/scenario_io/load.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "clients.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"
#include "suite_shared.hpp"

namespace schsim::app {

namespace {

namespace fs = std::filesystem;

struct suite_options_cli {
  std::string client = "reference";
  std::vector<std::string> broken;
  std::vector<std::string> filters;
  std::string dir;
  std::optional<std::uint64_t> seed;
  int repeat = 1;
  int jobs = default_case_jobs();
  std::string out = "reports-out";
  bool verbose = false;
  bool dry_run = false;
  std::string shard;
  std::string profile = "sch";
};

}  // namespace

auto default_case_jobs() -> int {
  return std::clamp(2 * static_cast<int>(std::thread::hardware_concurrency()), 2, 16);
}

auto load_suite_cases(const std::string& dir_arg, const std::vector<std::string>& filters,
                      const std::string& command, std::vector<harness::suite_case>& cases) -> int {
  const fs::path dir = dir_arg.empty() ? builtin_scenario_dir() : fs::path(dir_arg);
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".toml") {
      files.push_back(e.path());
    }
  }
  if (ec) {
    std::cerr << command << ": cannot read " << dir << ": " << ec.message()
              << " (set SCHSIM_SCENARIO_DIR or use --dir)\n";
    return usage_error;
  }
  std::sort(files.begin(), files.end());
  bool bad = false;
  for (const auto& f : files) {
    auto loaded = scenario_io::load_file(f);
    if (!loaded.ok()) {
      for (const auto& d : loaded.errors) {
        std::cerr << scenario_io::to_string(d) << '\n';
      }
      bad = true;
      continue;
    }
    if (harness::matches_filter(*loaded.value, filters)) {
      cases.push_back({std::move(*loaded.value), f.string()});
    }
  }
  if (bad) {
    return usage_error;
  }
  if (cases.empty()) {
    std::cerr << command << ": no scenario matches " << fmt::format("{}", fmt::join(filters, " "))
              << '\n';
    return usage_error;
  }
  return ok;
}

auto apply_shard(const std::string& shard_arg, std::string_view command,
                 std::vector<harness::suite_case>& cases, std::optional<verdict::shard_info>& shard)
    -> int {
  if (shard_arg.empty()) {
    return ok;
  }
  harness::shard_spec spec;
  try {
    spec = harness::parse_shard(shard_arg);
  } catch (const std::exception& e) {
    std::cerr << command << ": " << e.what() << '\n';
    return usage_error;
  }
  verdict::shard_info info{spec.index, spec.count, {}, {}};
  std::int64_t total_ms = 0;
  for (const auto& c : cases) {
    info.planned.push_back(c.scn.meta.id);
    total_ms += c.scn.duration.count();
  }
  cases = harness::select_shard(cases, spec);
  std::int64_t shard_ms = 0;
  for (const auto& c : cases) {
    info.assigned.push_back(c.scn.meta.id);
    shard_ms += c.scn.duration.count();
  }
  std::cout << fmt::format("shard {}/{}: {} of {} scenarios, {:.1f} s of {:.1f} s declared\n",
                           spec.index, spec.count, cases.size(), info.planned.size(),
                           static_cast<double>(shard_ms) / 1000.0,
                           static_cast<double>(total_ms) / 1000.0);
  shard = std::move(info);
  return ok;
}

auto apply_profile(const std::string& profile_name, std::string_view command,
                   std::vector<harness::suite_case>& cases) -> int {
  harness::profile p{};
  try {
    p = harness::parse_profile(profile_name);
  } catch (const std::exception& e) {
    std::cerr << command << ": --profile: " << e.what() << '\n';
    return usage_error;
  }
  if (p == harness::profile::sch) {
    return ok;
  }
  std::vector<harness::suite_case> kept;
  for (auto& c : cases) {
    auto legacy = harness::to_legacy(c.scn);
    if (!legacy.scn) {
      std::cout << fmt::format("legacy profile: skipping {}: {}\n", c.scn.meta.id,
                               legacy.skipped_because);
      continue;
    }
    kept.push_back({std::move(*legacy.scn), std::move(c.file)});
  }
  if (kept.empty()) {
    std::cerr << command << ": the legacy profile skips every selected scenario\n";
    return usage_error;
  }
  std::cout << fmt::format("legacy profile: {} of {} scenarios, SCH disabled in the client\n",
                           kept.size(), cases.size());
  cases = std::move(kept);
  return ok;
}

namespace {

auto run_suite(const suite_options_cli& opt) -> int {
  std::vector<harness::suite_case> cases;
  if (const int rc = load_suite_cases(opt.dir, opt.filters, "schsim suite", cases); rc != ok) {
    return rc;
  }
  if (const int rc = apply_profile(opt.profile, "schsim suite", cases); rc != ok) {
    return rc;
  }
  std::optional<verdict::shard_info> shard;
  if (const int rc = apply_shard(opt.shard, "schsim suite", cases, shard); rc != ok) {
    return rc;
  }
  if (opt.dry_run) {
    for (const auto& c : cases) {
      std::cout << fmt::format("{:<34} {}\n", c.scn.meta.id, fmt::join(c.scn.meta.tags, ","));
    }
    return ok;
  }
  harness::suite_options options;
  try {
    options.client =
        client_spec_for(parse_client_arg(opt.client, /*allow_bare_command=*/true), opt.broken);
  } catch (const std::exception& e) {
    std::cerr << "schsim suite: " << e.what() << '\n';
    return usage_error;
  }
  options.seed = opt.seed;
  options.repeat = opt.repeat;
  options.jobs = opt.jobs;
  std::string command_line = fmt::format("schsim suite --client {}", opt.client);
  for (const auto& b : opt.broken) {
    command_line += " --broken=" + b;
  }
  for (const auto& f : opt.filters) {
    command_line += " --filter " + f;
  }
  if (opt.repeat > 1) {
    command_line += fmt::format(" --repeat {}", opt.repeat);
  }
  if (opt.profile != "sch") {
    command_line += " --profile " + opt.profile;
  }
  return execute_cases(cases, options, opt.out, opt.verbose, command_line, nullptr,
                       shard ? &*shard : nullptr);
}

}  // namespace

void add_suite_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<suite_options_cli>();
  auto* cmd = app.add_subcommand("suite", "Run the built-in scenarios against a client and report");
  cmd->add_option("--client", opt->client,
                  "\"reference\", go-redis, redis-py, node-redis, lettuce, jedis "
                  "(client-under-test/drivers/run-<name>.sh), NAME=COMMAND, or the command line "
                  "of a driver (docs/driver-protocol.md), then named by its hello")
      ->capture_default_str();
  cmd->add_option("--broken", opt->broken,
                  "With --client reference: deliberate bug(s) to switch on")
      ->delimiter(',');
  cmd->add_option("-f,--filter", opt->filters,
                  "Only scenarios whose id starts with it or that have it as a tag "
                  "(repeatable; 'moving' and 'moving-*' both match moving-new-endpoint)");
  cmd->add_option("--dir", opt->dir, "Scenario directory (default: the built-in scenarios)");
  cmd->add_option("--seed", opt->seed, "Seed for every case (default: each scenario's own)");
  cmd->add_option("--repeat", opt->repeat, "Run every scenario N times (flake hunting)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("-j,--jobs", opt->jobs,
                  "Cases at once, each on its own ports (default: twice the cores, 2 to 16)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("-o,--out", opt->out, "Directory for the reports")->capture_default_str();
  cmd->add_flag("-v,--verbose", opt->verbose, "Print every check of every case");
  cmd->add_flag("--dry-run", opt->dry_run, "List the scenarios that would run");
  cmd->add_option("--shard", opt->shard,
                  "I/N: run only the I-th of N parts of the scenarios (split by declared "
                  "duration; docs/ci.md), for `schsim merge`");
  cmd->add_option("--profile", opt->profile,
                  "sch: the scenarios as written; legacy: SCH disabled in the client (no opt-in, "
                  "no pushes, the maintenance still happens; case ids get -legacy; "
                  "docs/reports.md \"Profiles\")")
      ->capture_default_str();
  cmd->callback([opt, &exit_code] { exit_code = run_suite(*opt); });
}

}  // namespace schsim::app
