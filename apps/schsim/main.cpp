// schsim: the composition root. Parses the command line, wires logging, maps every failure to an
// exit code (exit_codes.hpp). No library below parses argv or configures logging.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"

int main(int argc, char** argv) {
  CLI::App app{"schsim: a simulator and conformance harness for Redis Smart Client Handoffs"};
  app.require_subcommand(1);
  // The data directory tells an installed copy from a build tree (and which tree) at a glance.
  app.set_version_flag("--version", std::string("schsim ") + SCHSIM_VERSION + "\nscenarios: " +
                                        schsim::app::builtin_scenario_dir().string());
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->each([](const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); });
  spdlog::set_default_logger(spdlog::stderr_color_mt("schsim"));
  spdlog::set_pattern("%H:%M:%S.%e %^%l%$ %v");

  int exit_code = schsim::app::ok;
  schsim::app::add_serve_command(app, exit_code);
  schsim::app::add_check_command(app, exit_code);
  schsim::app::add_list_command(app, exit_code);
  schsim::app::add_run_command(app, exit_code);
  schsim::app::add_suite_command(app, exit_code);
  schsim::app::add_matrix_command(app, exit_code);
  schsim::app::add_explore_command(app, exit_code);
  schsim::app::add_merge_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? schsim::app::ok : schsim::app::usage_error;
  } catch (const std::exception& e) {
    // Commands report expected failures themselves; anything reaching here is a schsim bug.
    std::cerr << "schsim: internal error: " << e.what() << '\n';
    return schsim::app::internal_error;
  }
  return exit_code;
}
