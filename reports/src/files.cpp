#include <schsim/reports/files.hpp>
#include <schsim/reports/html.hpp>
#include <schsim/reports/json.hpp>
#include <schsim/reports/junit.hpp>

#include <fstream>
#include <system_error>

namespace schsim::reports {

namespace {
void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  // Write then rename, so a reader (or a crash) never sees half a report.
  const auto tmp = std::filesystem::path(path).concat(".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      throw std::filesystem::filesystem_error("cannot write report", tmp,
                                              std::make_error_code(std::errc::io_error));
    }
  }
  std::filesystem::rename(tmp, path);
}
}  // namespace

auto write_reports(const verdict::run_result& run, const std::filesystem::path& dir,
                   const report_files& which) -> std::vector<std::filesystem::path> {
  std::vector<std::filesystem::path> written;
  std::filesystem::create_directories(dir);
  if (which.json) {
    write_file(dir / "report.json", to_json(run));
    written.push_back(dir / "report.json");
  }
  if (which.junit) {
    write_file(dir / "junit.xml", to_junit_xml(run));
    written.push_back(dir / "junit.xml");
  }
  if (which.html) {
    for (const auto& c : run.cases) {
      const auto path = dir / case_file_name(c);
      write_file(path, to_html_case(run, c));
      written.push_back(path);
    }
    write_file(dir / "index.html", to_html_matrix(run));
    written.push_back(dir / "index.html");
  }
  return written;
}

}  // namespace schsim::reports
