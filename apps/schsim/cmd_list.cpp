// `schsim list`: the built-in scenarios (and, with --actions, the step actions).
#include <schsim/scenario_io/load.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"

namespace schsim::app {
namespace {

namespace fs = std::filesystem;

struct list_options {
  std::string dir;
  bool actions = false;
  bool tags = false;
};

auto run_list(const list_options& opt) -> int {
  if (opt.actions) {
    // The widest name sets the column, so new actions never run into their descriptions.
    std::size_t width = 0;
    for (const auto& a : scenario_io::builtin_actions()) {
      width = std::max(width, std::string_view(a.name).size());
    }
    for (const auto& a : scenario_io::builtin_actions()) {
      std::cout << std::left << std::setw(static_cast<int>(width + 2)) << a.name << a.summary
                << '\n';
    }
    return ok;
  }
  const fs::path dir = opt.dir.empty() ? builtin_scenario_dir() : fs::path(opt.dir);
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".toml") {
      files.push_back(e.path());
    }
  }
  if (ec) {
    std::cerr << "schsim list: cannot read " << dir << ": " << ec.message()
              << " (set SCHSIM_SCENARIO_DIR or use --dir)\n";
    return usage_error;
  }
  std::ranges::sort(files);
  int status = ok;
  for (const auto& f : files) {
    const auto r = scenario_io::load_file(f);
    if (!r.ok()) {
      std::cerr << scenario_io::to_string(r.errors.front()) << '\n';
      status = usage_error;
      continue;
    }
    std::cout << std::left << std::setw(30) << r.value->meta.id << ' ' << r.value->meta.title;
    if (opt.tags && !r.value->meta.tags.empty()) {
      std::cout << "  [";
      for (std::size_t i = 0; i < r.value->meta.tags.size(); ++i) {
        std::cout << (i == 0 ? "" : ", ") << r.value->meta.tags[i];
      }
      std::cout << ']';
    }
    std::cout << '\n';
  }
  return status;
}

}  // namespace

void add_list_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<list_options>();
  auto* cmd = app.add_subcommand("list", "List the built-in scenarios with their titles");
  cmd->add_option("--dir", opt->dir, "Scenario directory (default: the built-in suite)");
  cmd->add_flag("--tags", opt->tags, "Show each scenario's tags");
  cmd->add_flag("--actions", opt->actions, "List the actions a [[step]] can use instead");
  cmd->callback([opt, &exit_code] { exit_code = run_list(*opt); });
}

}  // namespace schsim::app
