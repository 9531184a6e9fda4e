#include <schsim/reports/html.hpp>
#include <schsim/reports/matrix.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "text_util.hpp"

namespace schsim::reports {

namespace {

namespace v = schsim::verdict;

constexpr std::array known_verdicts{"pass",    "fail", "unsupported", "inconclusive",
                                    "crashed", "hung", "error"};

auto is_known_verdict(std::string_view s) -> bool {
  return std::find(known_verdicts.begin(), known_verdicts.end(), s) != known_verdicts.end();
}

/// Higher is worse, so repetitions of a case fold into the cell that most needs attention.
auto severity(v::case_outcome o) -> int {
  switch (o) {
    case v::case_outcome::passed:
      return 0;
    case v::case_outcome::unsupported:
      return 1;
    case v::case_outcome::inconclusive:
      return 2;
    case v::case_outcome::failed:
      return 3;
    case v::case_outcome::hung:
      return 4;
    case v::case_outcome::crashed:
      return 5;
    case v::case_outcome::error:
      return 6;
  }
  return 6;
}

auto cell_colour(std::string_view verdict) -> std::string_view {
  if (verdict == "pass") {
    return "#c8f0c8";
  }
  if (verdict == "unsupported") {
    return "#e0e0e0";
  }
  if (verdict == "fail") {
    return "#f8c8c8";
  }
  if (verdict == "inconclusive") {
    return "#f8e0a0";
  }
  if (verdict.empty()) {
    return "#ffffff";
  }
  return "#f0a0f0";  // crashed, hung, error: the driver itself went wrong
}

/// The cell's outcome detail and the summary of each failed check, on one line.
auto observed(const matrix_cell& cell) -> std::string {
  std::vector<std::string> parts;
  if (!cell.detail.empty()) {
    parts.push_back(cell.detail);
  }
  parts.insert(parts.end(), cell.failure_summaries.begin(), cell.failure_summaries.end());
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

auto client_dir_name(std::string_view client) -> std::string { return detail::slug(client); }

auto cell_verdict(v::case_outcome o) -> std::string {
  switch (o) {
    case v::case_outcome::passed:
      return "pass";
    case v::case_outcome::failed:
      return "fail";
    case v::case_outcome::unsupported:
      return "unsupported";
    case v::case_outcome::crashed:
      return "crashed";
    case v::case_outcome::hung:
      return "hung";
    case v::case_outcome::error:
      return "error";
    case v::case_outcome::inconclusive:
      return "inconclusive";
  }
  return "error";
}

auto build_matrix(const std::vector<matrix_input>& runs) -> matrix_result {
  matrix_result m;
  for (const auto& in : runs) {
    if (m.schsim_version.empty()) {
      m.schsim_version = in.run.schsim_version;
      m.started_at = in.run.started_at;
    }
    for (const auto& c : in.run.cases) {
      if (std::find(m.scenarios.begin(), m.scenarios.end(), c.scenario_id) == m.scenarios.end()) {
        m.scenarios.push_back(c.scenario_id);
      }
    }
  }
  for (const auto& in : runs) {
    matrix_client client{in.name, {}, {}};
    std::vector<matrix_cell> row(m.scenarios.size());
    std::vector<int> worst(m.scenarios.size(), -1);
    for (const auto& c : in.run.cases) {
      // A driver that never said hello leaves these empty; the first that did names the client.
      if (client.library.empty() && !c.client.library.empty()) {
        client.library = c.client.library;
        client.version = c.client.version;
      }
      const auto i = static_cast<std::size_t>(
          std::find(m.scenarios.begin(), m.scenarios.end(), c.scenario_id) - m.scenarios.begin());
      if (severity(c.outcome) <= worst[i]) {
        continue;
      }
      worst[i] = severity(c.outcome);
      auto& cell = row[i];
      cell.verdict = cell_verdict(c.outcome);
      cell.detail = c.outcome_detail;
      cell.link = client_dir_name(in.name) + "/" + case_file_name(c);
      cell.failed_checks.clear();
      cell.failure_summaries.clear();
      for (const auto& chk : c.checks) {
        if (chk.outcome == v::status::fail) {
          cell.failed_checks.push_back(chk.id);
          cell.failure_summaries.push_back(fmt::format("{}: {}", chk.id, chk.summary));
        }
      }
    }
    m.clients.push_back(std::move(client));
    m.cells.push_back(std::move(row));
  }
  return m;
}

auto to_matrix_json(const matrix_result& m) -> std::string {
  nlohmann::ordered_json j;
  j["schsim_version"] = m.schsim_version;
  j["started_at"] = m.started_at;
  j["command_line"] = m.command_line;
  if (m.shard) {
    j["shard"] = {{"index", m.shard->index}, {"count", m.shard->count}};
  }
  j["scenarios"] = m.scenarios;
  auto clients = nlohmann::ordered_json::array();
  for (std::size_t ci = 0; ci < m.clients.size(); ++ci) {
    nlohmann::ordered_json c;
    c["name"] = m.clients[ci].name;
    c["library"] = m.clients[ci].library;
    c["version"] = m.clients[ci].version;
    c["reports"] = client_dir_name(m.clients[ci].name) + "/index.html";
    nlohmann::ordered_json cells = nlohmann::ordered_json::object();
    for (std::size_t si = 0; si < m.scenarios.size(); ++si) {
      const auto& cell = m.cells[ci][si];
      if (cell.verdict.empty()) {
        continue;
      }
      nlohmann::ordered_json jc;
      jc["verdict"] = cell.verdict;
      jc["failed_checks"] = cell.failed_checks;
      jc["failure_summaries"] = cell.failure_summaries;
      jc["detail"] = cell.detail;
      jc["link"] = cell.link;
      cells[m.scenarios[si]] = std::move(jc);
    }
    c["cells"] = std::move(cells);
    clients.push_back(std::move(c));
  }
  j["clients"] = std::move(clients);
  return j.dump(2) + "\n";
}

auto to_matrix_junit(const matrix_result& m) -> std::string {
  using detail::escape_xml;
  std::string body;
  std::size_t total_tests = 0;
  std::size_t total_failures = 0;
  std::size_t total_errors = 0;
  std::size_t total_skipped = 0;
  for (std::size_t ci = 0; ci < m.clients.size(); ++ci) {
    const auto& client = m.clients[ci];
    std::string cases;
    std::size_t tests = 0;
    std::size_t failures = 0;
    std::size_t errors = 0;
    std::size_t skipped = 0;
    for (std::size_t si = 0; si < m.scenarios.size(); ++si) {
      const auto& cell = m.cells[ci][si];
      if (cell.verdict.empty()) {
        continue;
      }
      ++tests;
      cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\"", escape_xml(client.name),
                           escape_xml(m.scenarios[si]));
      const auto message =
          escape_xml(cell.failed_checks.empty()
                         ? cell.detail
                         : fmt::format("{}: {}", cell.detail, fmt::join(cell.failed_checks, ", ")));
      if (cell.verdict == "pass") {
        cases += "/>\n";
      } else if (cell.verdict == "unsupported") {
        ++skipped;
        cases += fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n", message);
      } else if (cell.verdict == "fail") {
        ++failures;
        cases += fmt::format(
            ">\n      <failure message=\"{}\" type=\"fail\">{}</failure>\n    </testcase>\n",
            message, escape_xml(cell.link));
      } else {
        ++errors;
        cases +=
            fmt::format(">\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>\n",
                        message, cell.verdict, escape_xml(cell.link));
      }
    }
    body += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n"
        "    <properties>\n"
        "      <property name=\"library\" value=\"{}\"/>\n"
        "      <property name=\"version\" value=\"{}\"/>\n"
        "    </properties>\n{}  </testsuite>\n",
        escape_xml(client.name), tests, failures, errors, skipped, escape_xml(client.library),
        escape_xml(client.version), cases);
    total_tests += tests;
    total_failures += failures;
    total_errors += errors;
    total_skipped += skipped;
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"schsim matrix\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "skipped=\"{}\">\n{}</testsuites>\n",
      total_tests, total_failures, total_errors, total_skipped, body);
}

auto to_matrix_html(const matrix_result& m) -> std::string {
  using detail::escape_xml;
  std::string head = "<tr><th>scenario</th>";
  for (const auto& c : m.clients) {
    head += fmt::format("<th><a href=\"{}/index.html\">{}</a><br><small>{} {}</small></th>",
                        escape_xml(client_dir_name(c.name)), escape_xml(c.name),
                        escape_xml(c.library.empty() ? "?" : c.library), escape_xml(c.version));
  }
  head += "</tr>\n";
  std::string rows;
  for (std::size_t si = 0; si < m.scenarios.size(); ++si) {
    rows += fmt::format("<tr><th class=\"s\">{}</th>", escape_xml(m.scenarios[si]));
    for (std::size_t ci = 0; ci < m.clients.size(); ++ci) {
      const auto& cell = m.cells[ci][si];
      if (cell.verdict.empty()) {
        rows += "<td></td>";
        continue;
      }
      const auto title =
          cell.failed_checks.empty()
              ? cell.detail
              : fmt::format("{} ({})", cell.detail, fmt::join(cell.failed_checks, ", "));
      rows += fmt::format(
          "<td style=\"background:{}\" title=\"{}\"><a href=\"{}\">{}</a>{}</td>",
          cell_colour(cell.verdict), escape_xml(title), escape_xml(cell.link), cell.verdict,
          cell.failed_checks.empty()
              ? std::string()
              : fmt::format("<br><small>{}</small>",
                            escape_xml(fmt::format("{}", fmt::join(cell.failed_checks, " ")))));
    }
    rows += "</tr>\n";
  }
  return fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>schsim matrix</title>\n"
      "<style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse}}"
      "td,th{{border:1px solid #999;padding:3px 6px;font-size:13px;vertical-align:top}}"
      "th.s{{text-align:left;font-weight:normal;font-family:monospace}}"
      "td a{{color:#000}}</style></head><body>\n"
      "<h1>schsim matrix</h1>\n<p>schsim {} &middot; started {} &middot; <code>{}</code></p>\n"
      "<table>\n{}{}</table>\n</body></html>\n",
      escape_xml(m.schsim_version), escape_xml(m.started_at), escape_xml(m.command_line), head,
      rows);
}

auto baseline_entry::allows(std::string_view actual) const -> bool {
  return actual == verdict || std::find(also.begin(), also.end(), actual) != also.end();
}

auto baseline_entry::describe_expected() const -> std::string {
  std::string out = verdict;
  for (const auto& v : also) {
    out += " or " + v;
  }
  return out;
}

auto parse_baseline(std::string_view text) -> baseline {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("baseline is not JSON: {}", e.what()));
  }
  if (!j.is_object() || !j.contains("clients") || !j["clients"].is_object()) {
    throw std::invalid_argument("baseline needs a \"clients\" object");
  }
  baseline b;
  for (const auto& [client, scenarios] : j["clients"].items()) {
    if (!scenarios.is_object()) {
      throw std::invalid_argument(fmt::format("baseline: clients.{} is not an object", client));
    }
    for (const auto& [scenario, e] : scenarios.items()) {
      baseline_entry entry;
      // "pass" on its own is the common case; anything else carries its reason.
      if (e.is_string()) {
        entry.verdict = e.get<std::string>();
      } else if (e.is_object() && e.contains("expected") &&
                 (e["expected"].is_string() ||
                  (e["expected"].is_array() && !e["expected"].empty()))) {
        if (e["expected"].is_string()) {
          entry.verdict = e["expected"].get<std::string>();
        } else {
          for (const auto& v : e["expected"]) {
            if (!v.is_string()) {
              throw std::invalid_argument(
                  fmt::format("baseline: {} / {}: expected must list verdicts", client, scenario));
            }
            (entry.verdict.empty() ? entry.verdict : entry.also.emplace_back()) =
                v.get<std::string>();
          }
        }
        if (e.contains("reason") && e["reason"].is_string()) {
          entry.reason = e["reason"].get<std::string>();
        }
      } else {
        throw std::invalid_argument(fmt::format(
            "baseline: {} / {} needs a verdict or {{\"expected\", \"reason\"}}", client, scenario));
      }
      for (const auto& v : entry.also) {
        if (!is_known_verdict(v)) {
          throw std::invalid_argument(
              fmt::format("baseline: {} / {}: unknown verdict \"{}\"", client, scenario, v));
        }
      }
      if (!is_known_verdict(entry.verdict)) {
        throw std::invalid_argument(fmt::format("baseline: {} / {}: unknown verdict \"{}\"", client,
                                                scenario, entry.verdict));
      }
      if ((entry.verdict != "pass" || !entry.also.empty()) && entry.reason.empty()) {
        throw std::invalid_argument(fmt::format("baseline: {} / {}: expected {} needs a reason",
                                                client, scenario, entry.verdict));
      }
      b[client][scenario] = std::move(entry);
    }
  }
  return b;
}

auto to_baseline_json(const baseline& b) -> std::string {
  nlohmann::ordered_json clients = nlohmann::ordered_json::object();
  for (const auto& [client, scenarios] : b) {
    nlohmann::ordered_json row = nlohmann::ordered_json::object();
    for (const auto& [scenario, e] : scenarios) {
      if (e.verdict == "pass" && e.reason.empty() && e.also.empty()) {
        row[scenario] = "pass";
      } else if (e.also.empty()) {
        row[scenario] = {{"expected", e.verdict}, {"reason", e.reason}};
      } else {
        nlohmann::ordered_json verdicts = nlohmann::ordered_json::array({e.verdict});
        for (const auto& v : e.also) {
          verdicts.push_back(v);
        }
        row[scenario] = {{"expected", std::move(verdicts)}, {"reason", e.reason}};
      }
    }
    clients[client] = std::move(row);
  }
  nlohmann::ordered_json j;
  j["comment"] =
      "Expected schsim matrix verdicts. Every non-pass needs a reason with its evidence. "
      "Regenerate with schsim matrix --update-baseline (reasons are kept).";
  j["clients"] = std::move(clients);
  return j.dump(2) + "\n";
}

auto describe(const baseline_difference& d) -> std::string {
  if (d.expected.empty()) {
    return fmt::format("{} / {}: not in the baseline, got {}", d.client, d.scenario, d.actual);
  }
  const bool fixed = d.actual == "pass" && d.expected.find("pass") == std::string::npos;
  return fmt::format("{} / {}: expected {}, got {}{}{}{}", d.client, d.scenario, d.expected,
                     d.actual, fixed ? " (fixed? update the baseline)" : "",
                     d.observed.empty() ? std::string() : fmt::format(" -- {}", d.observed),
                     d.reason.empty() ? std::string() : fmt::format(" [baseline: {}]", d.reason));
}

auto compare_to_baseline(const matrix_result& m, const baseline& b)
    -> std::vector<baseline_difference> {
  std::vector<baseline_difference> out;
  for (std::size_t ci = 0; ci < m.clients.size(); ++ci) {
    const auto& client = m.clients[ci].name;
    const auto row = b.find(client);
    for (std::size_t si = 0; si < m.scenarios.size(); ++si) {
      const auto& cell = m.cells[ci][si];
      if (cell.verdict.empty()) {
        continue;
      }
      const baseline_entry* expected = nullptr;
      if (row != b.end()) {
        if (const auto it = row->second.find(m.scenarios[si]); it != row->second.end()) {
          expected = &it->second;
        }
      }
      if (expected == nullptr) {
        out.push_back({client, m.scenarios[si], {}, cell.verdict, {}, observed(cell)});
      } else if (!expected->allows(cell.verdict)) {
        out.push_back({client, m.scenarios[si], expected->describe_expected(), cell.verdict,
                       expected->reason, observed(cell)});
      }
    }
  }
  return out;
}

auto updated_baseline(const matrix_result& m, const baseline& old) -> baseline {
  baseline b = old;
  for (std::size_t ci = 0; ci < m.clients.size(); ++ci) {
    const auto& client = m.clients[ci].name;
    for (std::size_t si = 0; si < m.scenarios.size(); ++si) {
      const auto& cell = m.cells[ci][si];
      if (cell.verdict.empty()) {
        continue;
      }
      auto& entry = b[client][m.scenarios[si]];
      if (!entry.also.empty() && entry.allows(cell.verdict)) {
        continue;  // a known race that came out one of its known ways
      }
      if (cell.verdict == "pass") {
        entry = {"pass", {}};
      } else if (entry.verdict != cell.verdict || entry.reason.empty()) {
        // The old reason explained another verdict; keep it visible but make someone look.
        entry.reason =
            entry.reason.empty() || entry.verdict.empty()
                ? std::string(unexplained_reason)
                : fmt::format("{} (was {}: {})", unexplained_reason, entry.verdict, entry.reason);
        entry.verdict = cell.verdict;
      }
    }
  }
  return b;
}

}  // namespace schsim::reports
