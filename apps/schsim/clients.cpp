#include "clients.hpp"

#include <schsim/harness/suite.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <stdexcept>

#include "paths.hpp"

namespace schsim::app {

namespace {

namespace fs = std::filesystem;

/// The third-party drivers client-under-test/drivers/install.sh builds.
constexpr std::array known_drivers{"go-redis", "redis-py", "node-redis", "lettuce", "jedis"};

/// "NAME" of "NAME=COMMAND", or empty when `arg` is not of that form. A command line may hold
/// '=' itself ("driver --mode=x"), so only a name without spaces before the '=' counts.
auto name_before_equals(const std::string& arg) -> std::string {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    return {};
  }
  auto name = arg.substr(0, eq);
  return name.find_first_of(" \t") == std::string::npos ? name : std::string{};
}

}  // namespace

auto parse_client_arg(const std::string& arg, bool allow_bare_command) -> client_arg {
  if (arg == "reference") {
    return {arg, arg, true};
  }
  if (std::find(known_drivers.begin(), known_drivers.end(), arg) != known_drivers.end()) {
    const auto script = drivers_dir() / ("run-" + arg + ".sh");
    return {arg, script.string(), true};
  }
  if (auto name = name_before_equals(arg); !name.empty()) {
    auto command = arg.substr(name.size() + 1);
    if (command.find_first_not_of(" \t") == std::string::npos) {
      throw std::invalid_argument(fmt::format("--client {}: no command after '='", arg));
    }
    return {std::move(name), std::move(command), true};
  }
  if (!allow_bare_command) {
    throw std::invalid_argument(
        fmt::format("--client {}: use NAME=COMMAND, reference, or one of {}", arg,
                    fmt::join(known_drivers, ", ")));
  }
  return {arg, arg, false};
}

auto client_spec_for(const client_arg& client, const std::vector<std::string>& broken)
    -> harness::client_spec {
  auto spec = harness::resolve_client(client.command, broken, self_exe());
  // Plain "reference" keeps resolve_client's name, which says which --broken modes are on.
  const bool plain_reference = client.name == "reference" && client.command == "reference";
  if (client.named && !plain_reference) {
    spec.name = client.name;
    spec.name_from_hello = false;
  }
  return spec;
}

}  // namespace schsim::app
