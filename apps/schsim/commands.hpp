#pragma once

#include <CLI/CLI.hpp>

namespace schsim::app {

// Each function adds one subcommand to `app`. When the subcommand runs, its callback stores the
// process exit code (see exit_codes.hpp) in `exit_code`. One file per subcommand: cmd_<name>.cpp.
void add_serve_command(CLI::App& app, int& exit_code);
void add_check_command(CLI::App& app, int& exit_code);
void add_list_command(CLI::App& app, int& exit_code);
void add_run_command(CLI::App& app, int& exit_code);
void add_suite_command(CLI::App& app, int& exit_code);
void add_matrix_command(CLI::App& app, int& exit_code);
void add_explore_command(CLI::App& app, int& exit_code);
void add_merge_command(CLI::App& app, int& exit_code);

}  // namespace schsim::app
