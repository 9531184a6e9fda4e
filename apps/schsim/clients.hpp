#pragma once
// How `run`, `suite` and `matrix` read `--client`: "reference", a driver install.sh builds
// (go-redis, redis-py, node-redis, lettuce, jedis), NAME=COMMAND, or (run and suite) a bare command
// line that the driver's hello names.

#include <schsim/harness/runner.hpp>

#include <string>
#include <vector>

namespace schsim::app {

struct client_arg {
  std::string name;     ///< what reports call the client; the command line for a bare command
  std::string command;  ///< "reference" or the driver's command line
  bool named = false;   ///< the user (or a shorthand) gave the name
};

/// Parses one `--client` value. A bare command line (no NAME=) is accepted only when
/// `allow_bare_command` (a matrix needs stable names to hold cells to a baseline). Throws
/// std::invalid_argument with a message for the user.
auto parse_client_arg(const std::string& arg, bool allow_bare_command) -> client_arg;

/// The client_spec for a parsed `--client` (and `--broken`, which only the reference client
/// takes): named as the user said, or, for a bare command, by the driver's hello. Throws
/// std::invalid_argument with a message for the user.
auto client_spec_for(const client_arg& client, const std::vector<std::string>& broken)
    -> harness::client_spec;

}  // namespace schsim::app
