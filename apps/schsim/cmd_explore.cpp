// `schsim explore --client X`: generated maintenance schedules against a client, each run
// through the harness exactly as `schsim run` runs a file; the first failure (or each kind of
// failure with --keep-going) is shrunk to a minimal scenario file that reproduces it.
// docs/explore.md describes the grammar, the shrinker, the outputs and the exit codes.
#include <schsim/explore/generator.hpp>
#include <schsim/explore/shrinker.hpp>
#include <schsim/explore/signature.hpp>
#include <schsim/harness/runner.hpp>
#include <schsim/harness/suite.hpp>
#include <schsim/reports/explore.hpp>
#include <schsim/reports/files.hpp>
#include <schsim/reports/html.hpp>
#include <schsim/scenario_io/load.hpp>
#include <schsim/scenario_io/save.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"

namespace schsim::app {
namespace {

namespace fs = std::filesystem;
namespace v = schsim::verdict;
namespace sc = schsim::scenario;
namespace ex = schsim::explore;
using steady = std::chrono::steady_clock;

struct explore_cli {
  std::string client;
  std::vector<std::string> broken;
  std::optional<std::int64_t> seed;
  std::optional<std::string> budget;
  std::optional<std::int64_t> cases;
  std::string profile = "all";
  std::string out = "explore-out";
  bool keep_going = false;
  bool dry_run = false;
  int jobs = 2;
  int shrink_attempts = 80;
  int tries = 2;
  int confirm = 5;
};

/// The validated settings of one exploration.
struct explore_plan {
  harness::client_spec client;
  std::uint64_t seed = 0;
  ex::profile which = ex::profile::all;
  std::optional<steady::duration> budget;
  std::uint64_t max_cases = UINT64_MAX;
  fs::path out;
  std::string command_line;
  std::string reproduce_client;  ///< `--client ... --broken=...` for the reproduce command
};

// ---------------------------------------------------------------------------------------------
// Checking the command line

auto usage(const std::string& message) -> int {
  std::cerr << "schsim explore: " << message << '\n';
  return usage_error;
}

auto shell_word(const std::string& s) -> std::string {
  if (s.find_first_of(" \t'\"$\\") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (const char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

// The output folder must take files before hours of exploring depend on it.
auto prepare_out_dir(const fs::path& out) -> std::optional<std::string> {
  std::error_code ec;
  fs::create_directories(out / "failures", ec);
  if (ec) {
    return "cannot create " + (out / "failures").string() + ": " + ec.message();
  }
  const auto probe = out / ".schsim-explore-write-test";
  {
    std::ofstream f(probe);
    f << "ok\n";
    if (!f.flush()) {
      return "cannot write into " + out.string();
    }
  }
  fs::remove(probe, ec);
  return std::nullopt;
}

auto make_plan(const explore_cli& cli, explore_plan& plan) -> int {
  if (cli.seed && *cli.seed < 0) {
    return usage(fmt::format("--seed must be 0 or more, not {}", *cli.seed));
  }
  if (cli.cases && *cli.cases <= 0) {
    return usage(fmt::format("--cases must be at least 1, not {}", *cli.cases));
  }
  if (cli.budget) {
    const auto d = scenario_io::parse_duration(*cli.budget);
    if (!d) {
      return usage("--budget \"" + *cli.budget + "\" is not a duration (write 90s, 10m, 1.5m)");
    }
    if (d->count() == 0) {
      return usage("--budget must be longer than 0 (e.g. --budget 10m)");
    }
    plan.budget = *d;
  } else if (!cli.cases) {
    plan.budget = std::chrono::minutes{10};
  }
  if (cli.cases) {
    plan.max_cases = static_cast<std::uint64_t>(*cli.cases);
  }
  const auto which = ex::parse_profile(cli.profile);
  if (!which) {
    return usage("--profile must be standalone, cluster or all, not \"" + cli.profile + "\"");
  }
  plan.which = *which;
  plan.seed =
      cli.seed ? static_cast<std::uint64_t>(*cli.seed) : std::random_device{}() % 1'000'000'000U;
  plan.out = cli.out;
  if (auto problem = prepare_out_dir(plan.out)) {
    return usage(*problem);
  }
  try {
    plan.client = harness::resolve_client(cli.client, cli.broken, self_exe());
  } catch (const std::exception& e) {
    return usage(e.what());
  }
  plan.reproduce_client = "--client " + shell_word(cli.client);
  for (const auto& b : cli.broken) {
    plan.reproduce_client += " --broken=" + b;
  }
  plan.command_line =
      fmt::format("schsim explore {} --seed {} --profile {}{}{} -o {}", plan.reproduce_client,
                  plan.seed, cli.profile, cli.budget ? " --budget " + *cli.budget : "",
                  cli.cases ? fmt::format(" --cases {}", *cli.cases) : "", shell_word(cli.out));
  return ok;
}

// ---------------------------------------------------------------------------------------------
// Running cases

auto summary_of(const v::case_result& r, const ex::failure_signature& sig) -> std::string {
  for (const auto& c : r.checks) {
    if (c.id == sig.check) {
      return c.summary;
    }
  }
  return r.outcome_detail;
}

auto driver_failed_to_start(const v::case_result& r) -> bool {
  return r.outcome == v::case_outcome::error &&
         r.outcome_detail.starts_with("cannot start the client driver");
}

/// Runs each scenario once, `jobs` at a time; results in input order.
auto run_parallel(const std::vector<sc::scenario>& scns, const harness::client_spec& client,
                  int jobs) -> std::vector<v::case_result> {
  std::vector<v::case_result> results(scns.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < scns.size(); i = next++) {
      harness::case_options options;
      options.client = client;
      results[i] = harness::run_case(scns[i], options);
    }
  };
  std::vector<std::jthread> threads;
  const auto n = std::min<std::size_t>(static_cast<std::size_t>(std::max(jobs, 1)), scns.size());
  for (std::size_t t = 1; t < n; ++t) {
    threads.emplace_back(work);
  }
  work();
  return results;
}

// ---------------------------------------------------------------------------------------------
// Exploring

struct found_failure {
  std::uint64_t index = 0;
  sc::scenario scn;
  v::case_result result;
  ex::failure_signature sig;
};

struct explore_tally {
  std::mutex mutex;
  std::size_t run = 0;
  std::size_t passed = 0;
  std::size_t unsupported = 0;
  std::vector<found_failure> failures;
  std::optional<std::string> bad_driver;
  std::string stopped_because;
  bool stop = false;
};

auto progress_line(const v::case_result& r, const sc::scenario& scn, std::size_t n) -> std::string {
  std::string failed;
  for (const auto& c : r.checks) {
    if (c.outcome == v::status::fail && c.critical) {
      failed += (failed.empty() ? "  failed: " : ", ") + c.id;
    }
  }
  const double secs = static_cast<double>(r.end_ns - r.start_ns) / 1e9;
  return fmt::format("[{:>4}] {:<24} {:<10} {:>2} steps  {:<11} {:5.1f} s{}", n, scn.meta.id,
                     scn.topo.cluster ? "cluster" : "standalone", scn.steps.size(),
                     v::to_string(r.outcome), secs, failed);
}

void record(explore_tally& t, std::uint64_t index, sc::scenario scn, v::case_result r,
            bool keep_going) {
  const std::scoped_lock lock(t.mutex);
  ++t.run;
  std::cout << progress_line(r, scn, t.run) << '\n' << std::flush;
  if (driver_failed_to_start(r)) {
    t.bad_driver = r.outcome_detail;
    t.stop = true;
    return;
  }
  if (r.outcome == v::case_outcome::passed) {
    ++t.passed;
  } else if (r.outcome == v::case_outcome::unsupported) {
    ++t.unsupported;
  }
  if (const auto sig = ex::signature_of(r)) {
    t.failures.push_back({index, std::move(scn), std::move(r), *sig});
    if (!keep_going && !t.stop) {
      t.stop = true;
      t.stopped_because = "first failure";
    }
  }
}

void explore_cases(const explore_plan& plan, const explore_cli& cli, explore_tally& tally) {
  const auto deadline = plan.budget ? std::optional(steady::now() + *plan.budget) : std::nullopt;
  std::atomic<std::uint64_t> next{0};
  auto work = [&] {
    for (;;) {
      const auto index = next++;
      {
        const std::scoped_lock lock(tally.mutex);
        if (tally.stop) {
          return;
        }
        if (index >= plan.max_cases || (deadline && steady::now() >= *deadline)) {
          tally.stop = true;
          tally.stopped_because = index >= plan.max_cases
                                      ? fmt::format("{} cases run", plan.max_cases)
                                      : "budget " + cli.budget.value_or("10m") + " spent";
          return;
        }
      }
      auto scn = ex::generate(plan.seed, index, plan.which);
      harness::case_options options;
      options.client = plan.client;
      auto r = harness::run_case(scn, options);
      record(tally, index, std::move(scn), std::move(r), cli.keep_going);
    }
  };
  std::vector<std::jthread> threads;
  for (int t = 1; t < cli.jobs; ++t) {
    threads.emplace_back(work);
  }
  work();
}

// ---------------------------------------------------------------------------------------------
// Shrinking and confirming

struct shrunk_failure {
  found_failure original;
  ex::shrink_result shrunk;
  std::size_t confirmed = 0;
  std::size_t confirm_runs = 0;
  v::case_result minimal_run;
  std::vector<std::string> same_failure_cases;
};

auto shrink_one(const found_failure& f, const explore_cli& cli, const explore_plan& plan)
    -> ex::shrink_result {
  std::size_t judged = 0;
  const ex::batch_predicate still_fails = [&](std::span<const ex::candidate> batch) {
    std::vector<bool> fails(batch.size(), false);
    // Each candidate gets up to `tries` runs; one that fails the same way once is kept (a
    // race that shows up at all is worth keeping), so only passing ones are run again.
    for (int attempt = 0; attempt < cli.tries; ++attempt) {
      std::vector<std::size_t> pending;
      std::vector<sc::scenario> scns;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!fails[i]) {
          pending.push_back(i);
          scns.push_back(batch[i].scn);
        }
      }
      const auto results = run_parallel(scns, plan.client, cli.jobs);
      for (std::size_t k = 0; k < pending.size(); ++k) {
        fails[pending[k]] = ex::fails_like(results[k], f.sig);
      }
    }
    judged += batch.size();
    return fails;
  };
  ex::shrink_options options;
  options.max_attempts = static_cast<std::size_t>(cli.shrink_attempts);
  options.batch = static_cast<std::size_t>(cli.jobs);
  options.on_accept = [&](const ex::candidate& c, std::size_t attempts) {
    std::cout << fmt::format("  shrink {}: {} -> {} steps, {} s ({} candidates judged)\n",
                             f.scn.meta.id, c.change, c.scn.steps.size(),
                             c.scn.duration.count() / 1000.0, attempts)
              << std::flush;
  };
  return ex::shrink(f.scn, still_fails, options);
}

// Runs the minimal scenario `confirm` times: how often it fails the same way says whether
// the failure is deterministic or a race.
void confirm(shrunk_failure& s, const explore_cli& cli, const explore_plan& plan) {
  const std::vector<sc::scenario> copies(static_cast<std::size_t>(cli.confirm), s.shrunk.minimal);
  auto results = run_parallel(copies, plan.client, cli.jobs);
  s.confirm_runs = results.size();
  std::optional<std::size_t> first_failing;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (ex::fails_like(results[i], s.original.sig)) {
      ++s.confirmed;
      first_failing = first_failing.value_or(i);
    }
  }
  s.minimal_run = std::move(results[first_failing.value_or(0)]);
}

auto classification(const shrunk_failure& s) -> std::string {
  if (s.confirmed == s.confirm_runs) {
    return "deterministic";
  }
  return s.confirmed == 0 ? "not reproduced" : "race";
}

// The minimal scenario names itself and says how to reproduce it.
void describe_minimal(shrunk_failure& s, const explore_plan& plan, const fs::path& file) {
  auto& m = s.shrunk.minimal;
  m.meta.id = s.original.scn.meta.id + "-min";
  m.meta.title = "minimal: " + s.original.sig.label() + " fails (" + plan.client.name + ")";
  m.meta.description = fmt::format(
      "Shrunk by schsim explore from {} (seed {}, {} steps) to {} steps. Reproduce: schsim run "
      "{} {}",
      s.original.scn.meta.id, plan.seed, s.original.scn.steps.size(), m.steps.size(), file.string(),
      plan.reproduce_client);
}

// ---------------------------------------------------------------------------------------------
// Outputs

// Writes the scenario and proves the file is what `schsim check` accepts and `schsim run`
// loads back as the same scenario.
void write_scenario(const fs::path& path, const sc::scenario& s) {
  const auto text = scenario_io::to_toml(s);
  const auto back = scenario_io::load_string(text, path.string());
  if (!back.ok() || !(*back.value == s)) {
    throw std::logic_error("the scenario written to " + path.string() +
                           " does not load back as itself" +
                           (back.errors.empty() ? "" : ": " + to_string(back.errors.front())));
  }
  write_text_file(path, text);
}

auto to_report(const shrunk_failure& s, const explore_plan& plan) -> reports::explore_failure {
  reports::explore_failure f;
  const auto& o = s.original;
  f.case_id = o.scn.meta.id;
  f.outcome = std::string(v::to_string(o.result.outcome));
  f.check = o.sig.check;
  f.violations = o.sig.violations;
  f.summary = summary_of(o.result, o.sig);
  f.original_steps = o.scn.steps.size();
  f.minimal_steps = s.shrunk.minimal.steps.size();
  f.shrink_attempts = s.shrunk.attempts;
  f.shrink_budget_exhausted = s.shrunk.budget_exhausted;
  f.changes = s.shrunk.changes;
  f.classification = classification(s);
  f.confirmed = s.confirmed;
  f.confirm_runs = s.confirm_runs;
  f.original_file = "failures/" + o.scn.meta.id + ".toml";
  f.minimal_file = "failures/" + o.scn.meta.id + ".min.toml";
  f.minimal_toml = scenario_io::to_toml(s.shrunk.minimal);
  f.original_page = reports::case_file_name(o.result);
  f.minimal_page = reports::case_file_name(s.minimal_run);
  f.reproduce = "schsim run " + (plan.out / f.minimal_file).string() + " " + plan.reproduce_client;
  f.same_failure_cases = s.same_failure_cases;
  return f;
}

void print_failure(const reports::explore_failure& f) {
  std::cout << fmt::format(
      "\nFAILURE {} {}{}: {}\n  {} ({} of {} runs of the minimal scenario failed)\n"
      "  steps: {} generated -> {} minimal ({} candidates judged{})\n  reproduce: {}\n",
      f.case_id, f.check.empty() ? f.outcome : f.check,
      f.violations.empty() ? std::string() : fmt::format(" ({})", fmt::join(f.violations, ", ")),
      f.summary, f.classification, f.confirmed, f.confirm_runs, f.original_steps, f.minimal_steps,
      f.shrink_attempts, f.shrink_budget_exhausted ? ", budget spent" : "", f.reproduce);
  if (!f.same_failure_cases.empty()) {
    std::cout << fmt::format("  also failed (not shrunk): {}\n",
                             fmt::join(f.same_failure_cases, ", "));
  }
}

// report.json/junit.xml/index.html with each original failing run and a failing run of its
// minimal scenario, explore.html with the summary, and the scenario files.
void write_outputs(const explore_plan& plan, std::vector<shrunk_failure>& shrunk,
                   reports::explore_summary& summary) {
  v::run_result run;
  run.schsim_version = SCHSIM_VERSION;
  run.suite_version = "explore";
  run.started_at = summary.started_at;
  run.command_line = plan.command_line;
  for (auto& s : shrunk) {
    const auto original_file = plan.out / "failures" / (s.original.scn.meta.id + ".toml");
    const auto minimal_file = plan.out / "failures" / (s.original.scn.meta.id + ".min.toml");
    write_scenario(original_file, s.original.scn);
    write_scenario(minimal_file, s.shrunk.minimal);
    s.original.result.scenario_file = original_file.string();
    s.minimal_run.scenario_file = minimal_file.string();
    summary.failures.push_back(to_report(s, plan));
    run.cases.push_back(s.original.result);
    run.cases.push_back(s.minimal_run);
  }
  reports::write_reports(run, plan.out);
  write_text_file(plan.out / "explore.html", reports::to_html_explore(summary));
}

// ---------------------------------------------------------------------------------------------

// A client that crashes or hangs even with no maintenance step at all crashes on every case:
// shrinking would only find that out slowly.
auto crashes_without_steps(const found_failure& f, const explore_plan& plan) -> bool {
  if (f.sig.outcome != v::case_outcome::crashed && f.sig.outcome != v::case_outcome::hung) {
    return false;
  }
  auto bare = f.scn;
  bare.steps.clear();
  bare.expect.max_error_rate = 0;
  const auto r = run_parallel({bare}, plan.client, 1);
  return ex::fails_like(r.front(), f.sig);
}

auto shrink_failures(const explore_tally& tally, const explore_cli& cli, const explore_plan& plan)
    -> std::vector<shrunk_failure> {
  auto failures = tally.failures;
  std::ranges::sort(failures, {}, &found_failure::index);
  std::vector<shrunk_failure> out;
  for (const auto& f : failures) {
    // Without --keep-going only the first failing case is shrunk (cases still running when it
    // failed may fail too: they are listed with it); with it, one shrink per kind of failure.
    if (!cli.keep_going && !out.empty()) {
      out.front().same_failure_cases.push_back(f.scn.meta.id + " (" + f.sig.label() + ")");
      continue;
    }
    const auto same = std::ranges::find_if(
        out, [&](const shrunk_failure& s) { return ex::same_finding(s.original.sig, f.sig); });
    if (same != out.end()) {
      same->same_failure_cases.push_back(f.scn.meta.id);
      continue;
    }
    std::cout << fmt::format("\nshrinking {} ({}, {} steps)\n", f.scn.meta.id, f.sig.label(),
                             f.scn.steps.size());
    shrunk_failure s{f, shrink_one(f, cli, plan), 0, 0, {}, {}};
    const auto file = plan.out / "failures" / (f.scn.meta.id + ".min.toml");
    describe_minimal(s, plan, file);
    confirm(s, cli, plan);
    out.push_back(std::move(s));
  }
  return out;
}

auto exit_code_of(const std::vector<shrunk_failure>& shrunk, const explore_tally& tally) -> int {
  bool crashed = false;
  for (const auto& s : shrunk) {
    crashed = crashed || s.original.sig.outcome != v::case_outcome::failed;
  }
  if (crashed) {
    return client_crashed;
  }
  if (!shrunk.empty()) {
    return check_failed;
  }
  return tally.run > 0 && tally.unsupported == tally.run ? client_unsupported : ok;
}

// --dry-run: the scenarios the seed generates, as files, without running any.
auto write_generated(const explore_cli& cli, const explore_plan& plan) -> int {
  if (!cli.cases) {
    return usage("--dry-run needs --cases N (how many scenarios to write)");
  }
  const auto dir = plan.out / "generated";
  std::error_code ec;
  fs::create_directories(dir, ec);
  try {
    for (std::uint64_t i = 0; i < plan.max_cases; ++i) {
      const auto scn = ex::generate(plan.seed, i, plan.which);
      write_scenario(dir / (scn.meta.id + ".toml"), scn);
    }
  } catch (const std::exception& e) {
    std::cerr << "schsim explore: " << e.what() << '\n';
    return internal_error;
  }
  std::cout << fmt::format("{} scenarios (seed {}) in {}\n", plan.max_cases, plan.seed,
                           dir.string());
  return ok;
}

auto run_explore(const explore_cli& cli) -> int {
  explore_plan plan;
  if (const int rc = make_plan(cli, plan); rc != ok) {
    return rc;
  }
  if (cli.dry_run) {
    return write_generated(cli, plan);
  }
  reports::explore_summary summary;
  summary.schsim_version = SCHSIM_VERSION;
  summary.started_at = utc_now();
  summary.command_line = plan.command_line;
  summary.client = plan.client.name;
  summary.seed = plan.seed;
  summary.profile = cli.profile;
  std::cout << fmt::format("schsim explore: seed {}, profile {}, against {}, {} at once\n",
                           plan.seed, cli.profile, plan.client.name, cli.jobs);
  explore_tally tally;
  const auto explore_start = steady::now();
  explore_cases(plan, cli, tally);
  summary.explore_seconds = std::chrono::duration<double>(steady::now() - explore_start).count();
  if (tally.bad_driver) {
    return usage(*tally.bad_driver);
  }
  if (!tally.failures.empty() && crashes_without_steps(tally.failures.front(), plan)) {
    const auto& r = tally.failures.front().result;
    std::cerr << "schsim explore: the client " << v::to_string(r.outcome)
              << " even on a scenario without any maintenance step: " << r.outcome_detail << '\n'
              << r.process.stderr_tail << '\n';
    return client_crashed;
  }
  const auto shrink_start = steady::now();
  auto shrunk = shrink_failures(tally, cli, plan);
  summary.shrink_seconds = std::chrono::duration<double>(steady::now() - shrink_start).count();
  summary.cases_run = tally.run;
  summary.passed = tally.passed;
  summary.unsupported = tally.unsupported;
  summary.failed = tally.failures.size();
  summary.stopped_because = tally.stopped_because;
  try {
    write_outputs(plan, shrunk, summary);
  } catch (const std::exception& e) {
    std::cerr << "schsim explore: " << e.what() << '\n';
    return internal_error;
  }
  for (const auto& f : summary.failures) {
    print_failure(f);
  }
  std::cout << fmt::format(
      "\n{} cases: {} passed, {} unsupported, {} failed ({}; seed {}); {:.0f} s exploring, "
      "{:.0f} s shrinking\nreports: {}/explore.html, index.html, report.json\n",
      tally.run, tally.passed, tally.unsupported, tally.failures.size(), tally.stopped_because,
      plan.seed, summary.explore_seconds, summary.shrink_seconds, plan.out.string());
  return exit_code_of(shrunk, tally);
}

}  // namespace

void add_explore_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<explore_cli>();
  auto* cmd = app.add_subcommand(
      "explore", "Run generated maintenance schedules against a client; shrink what fails");
  cmd->add_option("--client", opt->client,
                  "\"reference\" or the command line of a client driver (docs/driver-protocol.md)")
      ->required();
  cmd->add_option("--broken", opt->broken, "With --client reference: deliberate bug(s)")
      ->delimiter(',');
  cmd->add_option("--seed", opt->seed,
                  "Seed of the generator (0 or more; default: random, printed): the same seed "
                  "generates the same scenarios");
  cmd->add_option("--budget", opt->budget,
                  "Stop starting new cases after this long (90s, 10m; default 10m unless "
                  "--cases is given)");
  cmd->add_option("--cases", opt->cases, "Stop after this many cases");
  cmd->add_option("--profile", opt->profile, "standalone, cluster or all")->capture_default_str();
  cmd->add_option("-o,--out", opt->out, "Directory for the failures, reports and explore.html")
      ->capture_default_str();
  cmd->add_flag("--keep-going", opt->keep_going,
                "Do not stop at the first failure; shrink one case of each kind of failure");
  cmd->add_flag("--dry-run", opt->dry_run,
                "Only write the --cases scenarios the seed generates to DIR/generated/");
  cmd->add_option("-j,--jobs", opt->jobs, "Cases at once (they mostly wait)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--shrink-attempts", opt->shrink_attempts,
                  "Most candidate scenarios the shrinker may judge per failure")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--tries", opt->tries,
                  "Runs of a shrink candidate before it counts as passing (races)")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  cmd->add_option("--confirm", opt->confirm,
                  "Runs of the minimal scenario that decide deterministic or race")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cmd->callback([opt, &exit_code] { exit_code = run_explore(*opt); });
}

}  // namespace schsim::app
