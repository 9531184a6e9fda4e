#pragma once
// Where the schsim CLI finds things: its own binary, the built-in scenarios, a scenario named on
// the command line. One definition for every subcommand.

#include <filesystem>
#include <string>

namespace schsim::app {

/// The running schsim binary (the reference driver is found relative to it).
auto self_exe() -> std::filesystem::path;

/// Where the built-in scenarios and the third-party drivers' sources live: $SCHSIM_DATA_DIR,
/// else PREFIX/share/schsim when this binary runs installed as PREFIX/bin/schsim, else the
/// source tree the binary was built from.
auto data_dir() -> std::filesystem::path;

/// The built-in scenarios: $SCHSIM_SCENARIO_DIR, else data_dir()/scenarios.
auto builtin_scenario_dir() -> std::filesystem::path;

/// The third-party drivers (run-<name>.sh, built by install.sh):
/// data_dir()/client-under-test/drivers.
auto drivers_dir() -> std::filesystem::path;

/// `arg` when it names an existing file, else the built-in scenario with that id (which may not
/// exist: loading it then reports the missing file).
auto scenario_path(const std::string& arg) -> std::filesystem::path;

/// Makes sure the reports can be written to `dir` before anything runs: creates it (and its
/// parents) when missing and writes and removes a probe file in it. Returns why not (e.g.
/// "reports-out exists and is not a directory"), or an empty string when it is usable.
auto prepare_output_dir(const std::filesystem::path& dir) -> std::string;

/// The whole content of `p` (a baseline, a report.json, a matrix.json); throws
/// std::invalid_argument "cannot read PATH", which the subcommands report as a usage error.
auto read_text_file(const std::filesystem::path& p) -> std::string;

/// Writes `text` to `p` through a temporary file renamed into place, so a reader never sees a
/// half-written report; throws std::runtime_error "cannot write PATH".
void write_text_file(const std::filesystem::path& p, const std::string& text);

/// The current UTC time as ISO 8601 to the second ("2026-12-05T05:23:18Z"), for reports.
auto utc_now() -> std::string;

}  // namespace schsim::app
