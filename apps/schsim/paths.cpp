#include "paths.hpp"

#include <cstdlib>
#include <system_error>

namespace schsim::app {

namespace fs = std::filesystem;

auto self_exe() -> fs::path {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("schsim") : p;
}

auto builtin_scenario_dir() -> fs::path {
  if (const char* dir = std::getenv("SCHSIM_SCENARIO_DIR"); dir != nullptr && *dir != 0) {
    return dir;
  }
  return fs::path(SCHSIM_SOURCE_DIR) / "scenarios";
}

auto scenario_path(const std::string& arg) -> fs::path {
  std::error_code ec;
  if (fs::exists(arg, ec)) {
    return arg;
  }
  return builtin_scenario_dir() / (arg + ".toml");
}

}  // namespace schsim::app
