// `schsim check <files...>`: validates scenario files without running them.
#include <schsim/core/scenario/expand.hpp>
#include <schsim/scenario_io/load.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"

namespace schsim::app {
namespace {

namespace fs = std::filesystem;

struct check_options {
  std::vector<std::string> files;
  bool quiet = false;
};

auto run_check(const check_options& opt) -> int {
  auto files = opt.files;
  if (files.empty()) {
    for (const auto& e : fs::directory_iterator(builtin_scenario_dir())) {
      if (e.path().extension() == ".toml") {
        files.push_back(e.path().string());
      }
    }
    std::ranges::sort(files);
  }
  int bad = 0;
  for (const auto& f : files) {
    const auto r = scenario_io::load_file(f);
    if (!r.ok()) {
      ++bad;
      for (const auto& d : r.errors) {
        std::cerr << scenario_io::to_string(d) << '\n';
      }
      continue;
    }
    if (!opt.quiet) {
      const auto expanded = scenario::expand(*r.value);
      std::cout << "ok " << f << ": " << r.value->meta.id << ", " << r.value->steps.size()
                << " steps (" << expanded.steps.size() << " after expansion), "
                << r.value->duration.count() << " ms\n";
    }
  }
  if (bad > 0) {
    std::cerr << bad << " of " << files.size() << " scenario file" << (files.size() == 1 ? "" : "s")
              << " rejected\n";
    return usage_error;
  }
  return ok;
}

}  // namespace

void add_check_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<check_options>();
  auto* cmd = app.add_subcommand(
      "check", "Validate scenario files; errors as file:line:column with a fix hint, exit 2");
  cmd->add_option("files", opt->files, "Scenario files (default: every built-in scenario)");
  cmd->add_flag("-q,--quiet", opt->quiet, "Print only errors");
  cmd->callback([opt, &exit_code] { exit_code = run_check(*opt); });
}

}  // namespace schsim::app
