#include <schsim/harness/process.hpp>
#include <schsim/harness/suite.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <unistd.h>

namespace schsim::harness {

namespace fs = std::filesystem;

auto run_cases(const std::vector<suite_case>& cases, const suite_options& options)
    -> std::vector<verdict::case_result> {
  struct job {
    std::size_t case_index;
    int repetition;
  };
  std::vector<job> jobs;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    for (int r = 0; r < std::max(options.repeat, 1); ++r) {
      jobs.push_back({i, r});
    }
  }
  std::vector<verdict::case_result> results(jobs.size());
  std::atomic<std::size_t> next{0};
  std::mutex report_mutex;
  std::size_t done = 0;
  auto worker = [&] {
    for (std::size_t j = next++; j < jobs.size(); j = next++) {
      const auto& c = cases[jobs[j].case_index];
      case_options o;
      o.client = options.client;
      o.seed = options.seed;
      o.repetition = jobs[j].repetition;
      o.scenario_file = c.file;
      o.log = options.log;
      results[j] = run_case(c.scn, o);
      const std::lock_guard lock(report_mutex);
      ++done;
      if (options.on_case) {
        options.on_case(results[j], done, jobs.size());
      }
    }
  };
  const auto threads =
      std::clamp<std::size_t>(static_cast<std::size_t>(std::max(options.jobs, 1)), 1, jobs.size());
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) {
    pool.emplace_back(worker);
  }
  worker();
  for (auto& t : pool) {
    t.join();
  }
  return results;
}

auto matches_filter(const scenario::scenario& scn, const std::vector<std::string>& filters)
    -> bool {
  if (filters.empty()) {
    return true;
  }
  return std::any_of(filters.begin(), filters.end(), [&](const std::string& f) {
    // An id, an id prefix ("moving", or "moving-*" spelled like a glob), or a tag.
    const std::string prefix = !f.empty() && f.back() == '*' ? f.substr(0, f.size() - 1) : f;
    if (scn.meta.id.compare(0, prefix.size(), prefix) == 0) {
      return true;
    }
    return std::find(scn.meta.tags.begin(), scn.meta.tags.end(), f) != scn.meta.tags.end();
  });
}

auto find_reference_driver(const fs::path& self_exe) -> std::optional<fs::path> {
  constexpr std::string_view name = "schsim-refclient-driver";
  if (const char* env = std::getenv("SCHSIM_REFCLIENT_DRIVER"); env != nullptr && *env != 0) {
    return fs::path(env);
  }
  const auto is_executable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  const fs::path dir = self_exe.parent_path();
  // Installed side by side, or the build tree: build/apps/schsim/schsim and
  // build/client-under-test/[reference/]schsim-refclient-driver.
  for (const fs::path& candidate :
       {dir / name, dir / ".." / ".." / "client-under-test" / name,
        dir / ".." / ".." / "client-under-test" / "reference" / name,
        dir / ".." / "client-under-test" / name, dir / ".." / "libexec" / "schsim" / name}) {
    if (is_executable(candidate)) {
      return fs::weakly_canonical(candidate);
    }
  }
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const fs::path candidate = fs::path(std::string(rest.substr(0, colon))) / name;
      if (is_executable(candidate)) {
        return candidate;
      }
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
  }
  return std::nullopt;
}

auto resolve_client(const std::string& client, const std::vector<std::string>& broken,
                    const fs::path& self_exe) -> client_spec {
  client_spec spec;
  if (client == "reference") {
    const auto driver = find_reference_driver(self_exe);
    if (!driver) {
      throw std::invalid_argument(
          "cannot find schsim-refclient-driver next to schsim or in the build tree; build it "
          "(cmake --build build --target schsim-refclient-driver) or set "
          "SCHSIM_REFCLIENT_DRIVER");
    }
    spec.argv = {driver->string()};
    spec.name = "reference";
    if (!broken.empty()) {
      const auto modes = fmt::format("{}", fmt::join(broken, ","));
      spec.argv.push_back("--broken=" + modes);
      spec.name += " --broken=" + modes;
    }
    return spec;
  }
  if (!broken.empty()) {
    throw std::invalid_argument("--broken only applies to --client reference");
  }
  spec.argv = split_command_line(client);
  if (spec.argv.empty()) {
    throw std::invalid_argument("--client needs \"reference\" or a command line");
  }
  spec.name = client;
  spec.name_from_hello = true;
  return spec;
}

}  // namespace schsim::harness
