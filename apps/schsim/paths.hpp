#pragma once
// Where the schsim CLI finds things: its own binary, the built-in scenarios, a scenario named on
// the command line. One definition for every subcommand.

#include <filesystem>
#include <string>

namespace schsim::app {

/// The running schsim binary (the reference driver is found relative to it).
auto self_exe() -> std::filesystem::path;

/// The built-in scenarios: $SCHSIM_SCENARIO_DIR, else the source tree's scenarios/.
auto builtin_scenario_dir() -> std::filesystem::path;

/// `arg` when it names an existing file, else the built-in scenario with that id (which may not
/// exist: loading it then reports the missing file).
auto scenario_path(const std::string& arg) -> std::filesystem::path;

}  // namespace schsim::app
