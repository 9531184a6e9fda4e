// `schsim matrix`: the suite against several clients, one table of verdicts, and a baseline the
// table is held to (so a CI job fails on a regression and also on a fixed bug nobody recorded).
#include <schsim/harness/suite.hpp>
#include <schsim/reports/matrix.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "clients.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"
#include "suite_shared.hpp"

namespace schsim::app {

namespace {

namespace fs = std::filesystem;

struct matrix_options_cli {
  std::vector<std::string> clients;
  std::vector<std::string> filters;
  std::string dir;
  std::optional<std::uint64_t> seed;
  int jobs = default_case_jobs();
  std::string out = "matrix-out";
  std::string baseline;
  bool update_baseline = false;
  bool verbose = false;
  std::string shard;
  std::string profile = "sch";
};

auto run_matrix(const matrix_options_cli& opt) -> int {
  std::vector<client_arg> clients;
  try {
    for (const auto& arg : opt.clients) {
      auto c = parse_client_arg(arg, /*allow_bare_command=*/false);
      const bool dup = std::any_of(clients.begin(), clients.end(),
                                   [&](const auto& other) { return other.name == c.name; });
      if (dup) {
        throw std::invalid_argument(fmt::format("--client {}: name given twice", c.name));
      }
      clients.push_back(std::move(c));
    }
  } catch (const std::exception& e) {
    std::cerr << "schsim matrix: " << e.what() << '\n';
    return usage_error;
  }
  if (opt.update_baseline && !opt.shard.empty()) {
    std::cerr << "schsim matrix: --update-baseline needs every cell: run it on the merge "
                 "(schsim merge DIR... --baseline FILE --update-baseline)\n";
    return usage_error;
  }
  // Read the baseline before the long run, so a typo in it fails in a second, not in minutes.
  reports::baseline base;
  if (const int rc = load_baseline(opt.baseline, opt.update_baseline, "schsim matrix", base);
      rc != ok) {
    return rc;
  }
  if (const auto why = prepare_output_dir(opt.out); !why.empty()) {
    std::cerr << "schsim matrix: -o " << opt.out << ": " << why << '\n';
    return usage_error;
  }
  std::vector<harness::suite_case> cases;
  if (const int rc = load_suite_cases(opt.dir, opt.filters, "schsim matrix", cases); rc != ok) {
    return rc;
  }
  if (const int rc = apply_profile(opt.profile, "schsim matrix", cases); rc != ok) {
    return rc;
  }
  std::optional<verdict::shard_info> shard;
  if (const int rc = apply_shard(opt.shard, "schsim matrix", cases, shard); rc != ok) {
    return rc;
  }
  std::string command_line = "schsim matrix";
  for (const auto& c : clients) {
    command_line += " --client " + (c.name == c.command ? c.name : c.name + "=" + c.command);
  }
  for (const auto& f : opt.filters) {
    command_line += " --filter " + f;
  }
  if (opt.profile != "sch") {
    command_line += " --profile " + opt.profile;
  }
  std::vector<reports::matrix_input> runs;
  for (const auto& client : clients) {
    const auto& name = client.name;
    harness::suite_options options;
    try {
      options.client = client_spec_for(client, {});
    } catch (const std::exception& e) {
      std::cerr << "schsim matrix: --client " << name << ": " << e.what() << '\n';
      return usage_error;
    }
    options.seed = opt.seed;
    options.jobs = opt.jobs;
    const auto client_out = fs::path(opt.out) / reports::client_dir_name(name);
    reports::matrix_input in{name, {}};
    std::cout << fmt::format("== {} ==\n", name);
    const int rc = execute_cases(cases, options, client_out.string(), opt.verbose,
                                 fmt::format("{} [client {}]", command_line, name), &in.run,
                                 shard ? &*shard : nullptr);
    // A client whose reports cannot be written leaves no evidence to link to: stop here.
    if ((rc == internal_error || rc == usage_error) && in.run.cases.empty()) {
      return rc;
    }
    runs.push_back(std::move(in));
  }
  const matrix_outcome outcome{"schsim matrix", opt.out, opt.baseline, opt.update_baseline, shard};
  return finish_matrix(runs, command_line, outcome, base);
}

/// One line per client: its library, version and verdict counts. True when every cell passed.
auto print_matrix_summary(const reports::matrix_result& m) -> bool {
  std::cout << "\nmatrix:\n";
  bool all_pass = true;
  for (std::size_t ci = 0; ci < m.clients.size(); ++ci) {
    std::map<std::string, int> counts;
    for (const auto& cell : m.cells[ci]) {
      if (!cell.verdict.empty()) {
        ++counts[cell.verdict];
        all_pass = all_pass && cell.verdict == "pass";
      }
    }
    std::string line;
    for (const auto& [verdict, n] : counts) {
      line += fmt::format(" {} {}", n, verdict);
    }
    std::cout << fmt::format("  {:<12} {:<10} {:<10}{}\n", m.clients[ci].name,
                             m.clients[ci].library, m.clients[ci].version, line);
  }
  return all_pass;
}

}  // namespace

auto load_baseline(const std::string& path, bool update, std::string_view command,
                   reports::baseline& base) -> int {
  if (path.empty()) {
    if (update) {
      std::cerr << command << ": --update-baseline needs --baseline FILE\n";
      return usage_error;
    }
    return ok;
  }
  std::error_code ec;
  if (update && !fs::exists(path, ec)) {
    return ok;  // written from scratch
  }
  try {
    base = reports::parse_baseline(read_text_file(path));
  } catch (const std::exception& e) {
    std::cerr << command << ": " << path << ": " << e.what() << '\n';
    return usage_error;
  }
  return ok;
}

auto finish_matrix(const std::vector<reports::matrix_input>& runs, const std::string& command_line,
                   const matrix_outcome& outcome, const reports::baseline& base) -> int {
  auto m = reports::build_matrix(runs);
  m.command_line = command_line;
  m.shard = outcome.shard;
  try {
    write_text_file(fs::path(outcome.out) / "matrix.json", reports::to_matrix_json(m));
    write_text_file(fs::path(outcome.out) / "matrix.xml", reports::to_matrix_junit(m));
    write_text_file(fs::path(outcome.out) / "index.html", reports::to_matrix_html(m));
  } catch (const std::exception& e) {
    std::cerr << outcome.command << ": cannot write the matrix to " << outcome.out << ": "
              << e.what() << '\n';
    return internal_error;
  }
  const bool all_pass = print_matrix_summary(m);
  std::cout << fmt::format("reports: {}/index.html, matrix.json, matrix.xml\n", outcome.out);
  if (outcome.update_baseline) {
    try {
      write_text_file(outcome.baseline,
                      reports::to_baseline_json(reports::updated_baseline(m, base)));
    } catch (const std::exception& e) {
      std::cerr << outcome.command << ": " << e.what() << '\n';
      return internal_error;
    }
    std::cout << fmt::format("baseline written: {}\n", outcome.baseline);
    return ok;
  }
  if (outcome.baseline.empty()) {
    return all_pass ? ok : check_failed;
  }
  const auto diffs = reports::compare_to_baseline(m, base);
  if (diffs.empty()) {
    std::cout << fmt::format("every cell matches the baseline {}\n", outcome.baseline);
    return ok;
  }
  std::cout << fmt::format("{} cell(s) differ from the baseline {}:\n", diffs.size(),
                           outcome.baseline);
  for (const auto& d : diffs) {
    std::cout << "  " << reports::describe(d) << '\n';
  }
  return check_failed;
}

void add_matrix_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<matrix_options_cli>();
  auto* cmd = app.add_subcommand(
      "matrix", "Run the suite against several clients and compare with a baseline");
  cmd->add_option("--client", opt->clients,
                  "NAME=COMMAND, \"reference\", or go-redis, redis-py, node-redis, lettuce, jedis "
                  "(client-under-test/drivers/run-<name>.sh); repeatable")
      ->required();
  cmd->add_option("-f,--filter", opt->filters, "Only scenarios with this id prefix or tag");
  cmd->add_option("--dir", opt->dir, "Scenario directory (default: the built-in scenarios)");
  cmd->add_option("--seed", opt->seed, "Seed for every case (default: each scenario's own)");
  cmd->add_option("-j,--jobs", opt->jobs, "Cases at once (default: twice the cores, 2 to 16)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("-o,--out", opt->out, "Directory for matrix.json, matrix.xml, index.html")
      ->capture_default_str();
  cmd->add_option("--baseline", opt->baseline,
                  "Expected verdicts (JSON); exit 1 when any cell differs");
  cmd->add_flag("--update-baseline", opt->update_baseline,
                "Write --baseline from this run, keeping reasons");
  cmd->add_flag("-v,--verbose", opt->verbose, "Print every check of every case");
  cmd->add_option("--shard", opt->shard,
                  "I/N: run only the I-th of N parts of the scenarios (split by declared "
                  "duration; docs/ci.md), for `schsim merge`");
  cmd->add_option("--profile", opt->profile,
                  "sch: the scenarios as written; legacy: SCH disabled in every client (case ids "
                  "get -legacy, so one baseline holds both; docs/reports.md \"Profiles\")")
      ->capture_default_str();
  cmd->callback([opt, &exit_code] { exit_code = run_matrix(*opt); });
}

}  // namespace schsim::app
