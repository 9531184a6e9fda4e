#include "paths.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <unistd.h>

namespace schsim::app {

namespace fs = std::filesystem;

auto self_exe() -> fs::path {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("schsim") : p;
}

namespace {

auto env_path(const char* name) -> std::optional<fs::path> {
  const char* value = std::getenv(name);
  return value != nullptr && *value != 0 ? std::optional<fs::path>(value) : std::nullopt;
}

}  // namespace

auto data_dir() -> fs::path {
  if (auto dir = env_path("SCHSIM_DATA_DIR")) {
    return *dir;
  }
  // Installed (cmake --install, the .deb): PREFIX/bin/schsim beside PREFIX/share/schsim. The
  // build tree has no share/ next to it, so a build runs from the sources it was built from.
  std::error_code ec;
  const auto installed = self_exe().parent_path() / ".." / "share" / "schsim";
  if (fs::is_directory(installed / "scenarios", ec)) {
    return fs::weakly_canonical(installed, ec);
  }
  return SCHSIM_SOURCE_DIR;
}

auto builtin_scenario_dir() -> fs::path {
  if (auto dir = env_path("SCHSIM_SCENARIO_DIR")) {
    return *dir;
  }
  return data_dir() / "scenarios";
}

auto drivers_dir() -> fs::path { return data_dir() / "client-under-test" / "drivers"; }

auto scenario_path(const std::string& arg) -> fs::path {
  std::error_code ec;
  if (fs::exists(arg, ec)) {
    return arg;
  }
  return builtin_scenario_dir() / (arg + ".toml");
}

auto prepare_output_dir(const fs::path& dir) -> std::string {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    return dir.string() + " exists and is not a directory";
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return "cannot create the directory " + dir.string() + ": " + ec.message();
  }
  // Permission bits do not tell the whole story (read-only mounts, root): try it.
  const auto probe = dir / (".schsim-write-probe-" + std::to_string(::getpid()));
  {
    std::ofstream file(probe, std::ios::binary | std::ios::trunc);
    file << "probe\n";
    if (!file.flush()) {
      const int err = errno;
      return "cannot write in the directory " + dir.string() + ": " + std::strerror(err);
    }
  }
  fs::remove(probe, ec);
  return {};
}

auto read_text_file(const fs::path& p) -> std::string {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    throw std::invalid_argument("cannot read " + p.string());
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text_file(const fs::path& p, const std::string& text) {
  if (p.has_parent_path()) {
    fs::create_directories(p.parent_path());
  }
  const auto tmp = fs::path(p).concat(".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      throw std::runtime_error("cannot write " + tmp.string());
    }
  }
  fs::rename(tmp, p);
}

auto utc_now() -> std::string {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

}  // namespace schsim::app
