// `schsim run <scenario...> --client <name|command>`: runs scenarios against a client under
// test and writes the reports. Also hosts execute_cases(), which `schsim suite` shares.
#include <schsim/harness/suite.hpp>
#include <schsim/reports/console.hpp>
#include <schsim/reports/files.hpp>
#include <schsim/scenario_io/load.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "clients.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"
#include "suite_shared.hpp"
#include <unistd.h>

namespace schsim::app {

namespace fs = std::filesystem;
namespace v = schsim::verdict;

namespace {}  // namespace

auto run_exit_code(const std::vector<v::case_result>& results) -> int {
  bool crashed = false;
  bool failed = false;
  bool unsupported = false;
  bool bad_driver = false;
  bool internal = false;
  for (const auto& r : results) {
    switch (r.outcome) {
      case v::case_outcome::passed:
        break;
      case v::case_outcome::failed:
      case v::case_outcome::inconclusive:  // not shown conformant: never a success
        failed = true;
        break;
      case v::case_outcome::unsupported:
        unsupported = true;
        break;
      case v::case_outcome::crashed:
      case v::case_outcome::hung:
        crashed = true;
        break;
      case v::case_outcome::error:
        (r.outcome_detail.starts_with("cannot start the client driver") ||
                 r.outcome_detail.starts_with(harness::driver_protocol_error_prefix)
             ? bad_driver
             : internal) = true;
        break;
    }
  }
  if (bad_driver) {
    return usage_error;
  }
  if (internal) {
    return internal_error;
  }
  if (crashed) {
    return client_crashed;
  }
  if (failed) {
    return check_failed;
  }
  return unsupported ? client_unsupported : ok;
}

namespace {

struct run_options {
  std::vector<std::string> scenarios;
  std::string client;
  std::vector<std::string> broken;
  std::optional<std::uint64_t> seed;
  int repeat = 1;
  int jobs = 1;
  std::string out = "reports-out";
  bool verbose = false;
};

auto run_run(const run_options& opt) -> int {
  std::vector<harness::suite_case> cases;
  bool bad = false;
  for (const auto& arg : opt.scenarios) {
    const auto path = scenario_path(arg);
    auto loaded = scenario_io::load_file(path);
    if (!loaded.ok()) {
      for (const auto& d : loaded.errors) {
        std::cerr << scenario_io::to_string(d) << '\n';
      }
      if (loaded.errors.empty()) {
        std::cerr << "schsim run: cannot load " << path << '\n';
      }
      bad = true;
      continue;
    }
    cases.push_back({std::move(*loaded.value), path.string()});
  }
  if (bad) {
    return usage_error;
  }
  harness::suite_options options;
  try {
    options.client =
        client_spec_for(parse_client_arg(opt.client, /*allow_bare_command=*/true), opt.broken);
  } catch (const std::exception& e) {
    std::cerr << "schsim run: " << e.what() << '\n';
    return usage_error;
  }
  options.seed = opt.seed;
  options.repeat = opt.repeat;
  options.jobs = opt.jobs;
  std::string command_line =
      fmt::format("schsim run {} --client {}", fmt::join(opt.scenarios, " "), opt.client);
  for (const auto& b : opt.broken) {
    command_line += " --broken=" + b;
  }
  if (opt.seed) {
    command_line += fmt::format(" --seed {}", *opt.seed);
  }
  // One case: its checks are the whole answer, so print each one's result (as the HTML's
  // "result and evidence" column does) rather than only "1 case: 1 passed".
  const bool single_case = cases.size() == 1 && opt.repeat == 1;
  return execute_cases(cases, options, opt.out, opt.verbose || single_case, command_line);
}

}  // namespace

auto execute_cases(const std::vector<harness::suite_case>& cases, harness::suite_options options,
                   const std::string& out_dir, bool verbose, const std::string& command_line,
                   v::run_result* result_out, const v::shard_info* shard) -> int {
  // Results must never be lost after a long run because the report location is unusable.
  if (const auto why = prepare_output_dir(out_dir); !why.empty()) {
    std::cerr << "schsim: -o " << out_dir << ": " << why << '\n';
    return usage_error;
  }
  const auto use_color = ::isatty(STDOUT_FILENO) != 0 ? reports::color::ansi : reports::color::off;
  options.on_case = [&](const v::case_result& c, std::size_t done, std::size_t total) {
    std::cout << reports::format_progress(c, done, total, use_color) << '\n';
    if (verbose) {
      std::cout << reports::format_case_details(c, use_color);
    }
    std::cout.flush();
  };
  if (spdlog::should_log(spdlog::level::debug)) {
    options.log = [](std::string_view line) { spdlog::debug("driver {}", line); };
  }
  v::run_result run;
  run.schsim_version = SCHSIM_VERSION;
  std::set<std::string> suite_versions;
  for (const auto& c : cases) {
    suite_versions.insert(c.scn.meta.suite_version);
  }
  run.suite_version = fmt::format("{}", fmt::join(suite_versions, ","));
  run.started_at = utc_now();
  run.command_line = command_line;
  if (shard != nullptr) {
    run.shard = *shard;
  }
  std::cout << fmt::format("schsim {}: {} scenario(s) x {} against {}{}\n", SCHSIM_VERSION,
                           cases.size(), std::max(options.repeat, 1),
                           options.client.name_from_hello ? "the driver " : "",
                           options.client.name);
  run.cases = harness::run_cases(cases, options);
  std::cout << reports::format_summary(run, use_color);
  try {
    const auto written = reports::write_reports(run, out_dir);
    std::cout << fmt::format("reports: {}/index.html, report.json, junit.xml\n", out_dir);
    spdlog::debug("wrote {} report files", written.size());
  } catch (const std::exception& e) {
    std::cerr << "schsim: cannot write the reports to " << out_dir << ": " << e.what() << '\n';
    return internal_error;
  }
  const int rc = run_exit_code(run.cases);
  if (result_out != nullptr) {
    *result_out = std::move(run);
  }
  return rc;
}

void add_run_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<run_options>();
  auto* cmd = app.add_subcommand("run", "Run scenarios against a client under test and report");
  cmd->add_option("scenarios", opt->scenarios, "Scenario files (.toml) or built-in scenario ids")
      ->required();
  cmd->add_option("--client", opt->client,
                  "\"reference\", go-redis, redis-py, node-redis, lettuce, jedis "
                  "(client-under-test/drivers/run-<name>.sh), NAME=COMMAND, or the command line "
                  "of a driver (docs/driver-protocol.md), then named by its hello")
      ->required();
  cmd->add_option("--broken", opt->broken,
                  "With --client reference: deliberate bug(s) to switch on, e.g. no-relax")
      ->delimiter(',');
  cmd->add_option("--seed", opt->seed,
                  "Seed for every random choice (default: the scenario's "
                  "or a random one, printed in the reports)");
  cmd->add_option("--repeat", opt->repeat, "Run each scenario N times")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("-j,--jobs", opt->jobs, "Cases to run at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("-o,--out", opt->out, "Directory for report.json, junit.xml and the HTML")
      ->capture_default_str();
  cmd->add_flag("-v,--verbose", opt->verbose,
                "Print every check of every case (always on for a single case)");
  cmd->callback([opt, &exit_code] { exit_code = run_run(*opt); });
}

}  // namespace schsim::app
