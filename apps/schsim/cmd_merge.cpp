// `schsim merge DIR... -o OUT`: the outputs of `schsim suite --shard I/N` or `schsim matrix
// --shard I/N` back into one report (and one baseline verdict), as one process would have made.
#include <schsim/reports/console.hpp>
#include <schsim/reports/files.hpp>
#include <schsim/reports/json.hpp>
#include <schsim/reports/matrix.hpp>
#include <schsim/reports/merge.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"
#include "suite_shared.hpp"

namespace schsim::app {

namespace {

namespace fs = std::filesystem;

struct merge_options_cli {
  std::vector<std::string> dirs;
  std::string out = "merged-out";
  std::string baseline;
  bool update_baseline = false;
};

auto read_run(const fs::path& dir) -> verdict::run_result {
  try {
    return reports::run_from_json(read_text_file(dir / "report.json"));
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(fmt::format("{}: {}", (dir / "report.json").string(), e.what()));
  }
}

/// A matrix directory: its clients (matrix.json) and each client's report.json.
auto read_matrix_dir(const fs::path& dir) -> reports::matrix_shard {
  reports::matrix_shard shard{dir.string(), {}};
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_text_file(dir / "matrix.json"));
    for (const auto& client : doc.at("clients")) {
      const auto name = client.at("name").get<std::string>();
      shard.clients.push_back({name, read_run(dir / reports::client_dir_name(name))});
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(
        fmt::format("{}: not a schsim matrix: {}", (dir / "matrix.json").string(), e.what()));
  }
  return shard;
}

auto merge_suites(const merge_options_cli& opt) -> int {
  if (!opt.baseline.empty() || opt.update_baseline) {
    std::cerr << "schsim merge: --baseline applies to matrix outputs (these are suite outputs)\n";
    return usage_error;
  }
  verdict::run_result run;
  try {
    std::vector<reports::shard_run> shards;
    for (const auto& d : opt.dirs) {
      shards.push_back({d, read_run(d)});
    }
    run = reports::merge_shard_runs(shards);
  } catch (const std::invalid_argument& e) {
    std::cerr << "schsim merge: " << e.what() << '\n';
    return usage_error;
  }
  std::cout << reports::format_summary(run, reports::color::off);
  try {
    reports::write_reports(run, opt.out);
  } catch (const std::exception& e) {
    std::cerr << "schsim merge: cannot write the reports to " << opt.out << ": " << e.what()
              << '\n';
    return internal_error;
  }
  std::cout << fmt::format("reports: {}/index.html, report.json, junit.xml\n", opt.out);
  return run_exit_code(run.cases);
}

auto merge_matrices(const merge_options_cli& opt) -> int {
  reports::baseline base;
  if (const int rc = load_baseline(opt.baseline, opt.update_baseline, "schsim merge", base);
      rc != ok) {
    return rc;
  }
  std::vector<reports::matrix_input> runs;
  std::vector<std::string> command_lines;
  try {
    std::vector<reports::matrix_shard> shards;
    for (const auto& d : opt.dirs) {
      shards.push_back(read_matrix_dir(d));
      const auto doc = nlohmann::json::parse(read_text_file(fs::path(d) / "matrix.json"));
      const auto line = doc.value("command_line", std::string{});
      if (std::find(command_lines.begin(), command_lines.end(), line) == command_lines.end()) {
        command_lines.push_back(line);
      }
    }
    runs = reports::merge_matrix_shards(shards);
  } catch (const std::exception& e) {
    std::cerr << "schsim merge: " << e.what() << '\n';
    return usage_error;
  }
  for (const auto& in : runs) {
    try {
      reports::write_reports(in.run, fs::path(opt.out) / reports::client_dir_name(in.name));
    } catch (const std::exception& e) {
      std::cerr << "schsim merge: cannot write the reports to " << opt.out << ": " << e.what()
                << '\n';
      return internal_error;
    }
  }
  const matrix_outcome outcome{"schsim merge", opt.out, opt.baseline, opt.update_baseline, {}};
  return finish_matrix(runs, fmt::format("{}", fmt::join(command_lines, " + ")), outcome, base);
}

auto run_merge(const merge_options_cli& opt) -> int {
  std::size_t matrices = 0;
  for (const auto& d : opt.dirs) {
    std::error_code ec;
    if (fs::exists(fs::path(d) / "matrix.json", ec)) {
      ++matrices;
    } else if (!fs::exists(fs::path(d) / "report.json", ec)) {
      std::cerr << "schsim merge: " << d
                << ": neither matrix.json nor report.json (not the -o of schsim suite or matrix)\n";
      return usage_error;
    }
  }
  if (matrices != 0 && matrices != opt.dirs.size()) {
    std::cerr << "schsim merge: some inputs are matrix outputs and some suite outputs\n";
    return usage_error;
  }
  if (const auto why = prepare_output_dir(opt.out); !why.empty()) {
    std::cerr << "schsim merge: -o " << opt.out << ": " << why << '\n';
    return usage_error;
  }
  return matrices == 0 ? merge_suites(opt) : merge_matrices(opt);
}

}  // namespace

void add_merge_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<merge_options_cli>();
  auto* cmd = app.add_subcommand(
      "merge", "Merge the outputs of suite/matrix --shard I/N runs into one report (docs/ci.md)");
  cmd->add_option("dirs", opt->dirs, "The -o directories of the shards (every I of 1..N)")
      ->required();
  cmd->add_option("-o,--out", opt->out, "Directory for the merged reports")->capture_default_str();
  cmd->add_option("--baseline", opt->baseline,
                  "Matrix outputs: expected verdicts (JSON); exit 1 when any cell differs");
  cmd->add_flag("--update-baseline", opt->update_baseline,
                "Matrix outputs: write --baseline from the merged matrix, keeping reasons");
  cmd->callback([opt, &exit_code] { exit_code = run_merge(*opt); });
}

}  // namespace schsim::app
