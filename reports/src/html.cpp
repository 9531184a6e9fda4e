#include <schsim/reports/html.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <variant>

#include "text_util.hpp"

namespace schsim::reports {

namespace {

namespace v = schsim::verdict;
namespace tl = schsim::timeline;
using detail::escape_xml;

// One stylesheet for both pages; inline so a page is a single file that opens anywhere.
constexpr std::string_view style = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1240px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
a{color:#2458b3}code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12.5px}
pre{background:#fff;border:1px solid #d8dce3;padding:8px;overflow-x:auto;max-height:420px}
table{border-collapse:collapse;background:#fff}th,td{border:1px solid #d8dce3;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}
.meta td:first-child{color:#5a6270;white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:9px;font-weight:600;font-size:12.5px;color:#fff}
.b-pass,.b-passed{background:#2e8540}.b-fail,.b-failed{background:#c62828}.b-unsupported{background:#b7791f}
.b-skipped{background:#8a93a3}.b-inconclusive,.b-not_judged{background:#d97706}.b-crashed,.b-hung,.b-error{background:#7b1fa2}
td.cell{text-align:center;font-weight:700}td.c-pass{color:#2e8540}td.c-fail{color:#c62828;background:#fdecea}
td.c-unsupported{color:#b7791f}td.c-skipped{color:#8a93a3}td.c-none{color:#c0c5ce}
td.c-not_judged{color:#d97706}.warn{border-left:4px solid #d97706;padding-left:8px}
details{margin:2px 0 6px}summary{cursor:pointer;color:#2458b3}
.evidence{padding:4px 0 8px 12px}.evidence table{margin:4px 0}
.small{font-size:12px;color:#5a6270}.legend{display:flex;flex-wrap:wrap;gap:2px 14px}.legend span{white-space:nowrap}
.sw{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:-1px;border:1px solid #0002}
svg{background:#fff;border:1px solid #d8dce3}svg text{font:11px system-ui,sans-serif;fill:#1d2330}
svg .axis{stroke:#9aa1ad;stroke-width:1}svg .grid{stroke:#eceef2;stroke-width:1}
)css";

constexpr std::array<std::string_view, 8> endpoint_colors{
    "#3b6fd4", "#2e9e6a", "#9c5bd6", "#d97c1e", "#1aa3b8", "#c2447c", "#6b7a1f", "#6d6d6d"};

auto window_color(std::string_view kind) -> std::string_view {
  if (kind == "maintenance") {
    return "#f5b94266";
  }
  if (kind == "moving") {
    return "#7aa7ff55";
  }
  if (kind == "stall" || kind == "latency") {
    return "#e5737355";
  }
  if (kind == "slot_migration") {
    return "#9c5bd633";
  }
  return "#b0bec555";
}

auto push_color(std::string_view name) -> std::string_view {
  if (name == "MOVING") {
    return "#1f5fd1";
  }
  if (name == "MIGRATING" || name == "FAILING_OVER" || name == "SMIGRATING") {
    return "#d98200";
  }
  if (name == "MIGRATED" || name == "FAILED_OVER" || name == "SMIGRATED") {
    return "#2e8540";
  }
  return "#555";
}

auto page_head(std::string_view title) -> std::string {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
      escape_xml(title), style);
}

constexpr std::string_view page_tail = "</main>\n</body>\n</html>\n";

auto badge(std::string_view word) -> std::string {
  return fmt::format("<span class=\"badge b-{0}\">{0}</span>", escape_xml(word));
}

/// Maps the run's time range onto the plot's x pixels.
struct time_axis {
  std::int64_t t0 = 0;
  std::int64_t t1 = 1;
  double left = 0;
  double right = 1;
  [[nodiscard]] auto x(std::int64_t t) const -> double {
    const double span = static_cast<double>(std::max<std::int64_t>(t1 - t0, 1));
    const double clamped = static_cast<double>(std::clamp(t, t0, t1) - t0);
    return left + clamped / span * (right - left);
  }
};

auto time_range(const v::case_result& c) -> std::pair<std::int64_t, std::int64_t> {
  std::int64_t t0 = c.start_ns;
  std::int64_t t1 = c.end_ns;
  auto widen = [&](std::int64_t t) {
    if (t <= 0) {
      return;
    }
    if (t0 == 0 || t < t0) {
      t0 = t;
    }
    t1 = std::max(t1, t);
  };
  if (t0 == 0) {
    for (const auto& e : c.timeline) {
      widen(e.t_ns);
    }
  }
  for (const auto& e : c.timeline) {
    t1 = std::max(t1, e.t_ns);
  }
  for (const auto& cmd : c.commands) {
    widen(cmd.intended_ns);
    t1 = std::max(t1, cmd.done_ns);
  }
  if (t1 <= t0) {
    t1 = t0 + 1'000'000'000;
  }
  return {t0, t1};
}

/// A tick step (in seconds) giving roughly 6-12 ticks over `span_s`.
auto nice_step(double span_s) -> double {
  for (const double step : {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0}) {
    if (span_s / step <= 12) {
      return step;
    }
  }
  return 600.0;
}

auto x_ticks(const time_axis& axis, double top, double bottom) -> std::string {
  std::string out;
  const double span_s = static_cast<double>(axis.t1 - axis.t0) / 1e9;
  const double step = nice_step(span_s);
  for (double s = 0; s <= span_s + 1e-9; s += step) {
    const double x = axis.x(axis.t0 + static_cast<std::int64_t>(s * 1e9));
    out += fmt::format(
        "<line class=\"grid\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>"
        "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4}s</text>\n",
        x, top, bottom, bottom + 14, detail::format_number(s));
  }
  return out;
}

auto windows_svg(const v::case_result& c, const time_axis& axis, double top, double bottom,
                 bool labels) -> std::string {
  std::string out;
  int row = 0;
  for (const auto& w : c.windows) {
    const double x0 = axis.x(w.start_ns);
    const double x1 = std::max(axis.x(w.end_ns), x0 + 2);
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
        "<title>{} ({} .. {})</title></rect>\n",
        x0, top, x1 - x0, bottom - top, window_color(w.kind), escape_xml(w.label),
        detail::format_offset(w.start_ns, axis.t0), detail::format_offset(w.end_ns, axis.t0));
    if (labels) {
      // Staggered rows, so windows that start close together keep readable labels.
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"small\">{}</text>\n", x0 + 3,
                         top + 12 + 13 * (row % 3), escape_xml(w.label));
      ++row;
    }
  }
  return out;
}

struct lane {
  std::uint64_t conn = 0;
  std::string endpoint;
  std::string peer;
  std::int64_t opened = 0;
  std::optional<tl::event> closed;
  std::vector<const tl::event*> events;
};

auto build_lanes(const v::case_result& c) -> std::vector<lane> {
  std::map<std::uint64_t, lane> by_conn;
  for (const auto& e : c.timeline) {
    if (e.conn == 0) {
      continue;
    }
    auto& l = by_conn[e.conn];
    if (l.conn == 0) {
      l.conn = e.conn;
      l.endpoint = e.endpoint;
      l.opened = e.t_ns;
    }
    if (const auto* opened = std::get_if<tl::connection_opened>(&e.what)) {
      l.opened = e.t_ns;
      l.peer = opened->peer;
    } else if (std::holds_alternative<tl::connection_closed>(e.what)) {
      l.closed = e;
    } else {
      l.events.push_back(&e);
    }
  }
  std::vector<lane> lanes;
  for (auto& [id, l] : by_conn) {
    lanes.push_back(std::move(l));
  }
  std::stable_sort(lanes.begin(), lanes.end(),
                   [](const lane& a, const lane& b) { return a.opened < b.opened; });
  return lanes;
}

auto endpoint_color(const v::case_result& c, const std::string& endpoint) -> std::string_view {
  std::size_t index = 0;
  for (; index < c.endpoints.size(); ++index) {
    if (c.endpoints[index].name == endpoint) {
      return endpoint_colors.at(index % endpoint_colors.size());
    }
  }
  // Unknown endpoints still get a stable colour.
  return endpoint_colors.at(std::hash<std::string>{}(endpoint) % endpoint_colors.size());
}

/// Scenario steps: dashed lines across every lane, labels staggered on two rows.
auto steps_svg(const v::case_result& c, const time_axis& axis, double lanes_bottom) -> std::string {
  std::string out;
  int row = 0;
  for (const auto& e : c.timeline) {
    const auto* step = std::get_if<tl::step_executed>(&e.what);
    if (step == nullptr) {
      continue;
    }
    const double x = axis.x(e.t_ns);
    const double late_ms =
        step->scheduled_ns > 0 ? static_cast<double>(e.t_ns - step->scheduled_ns) / 1e6 : 0.0;
    out += fmt::format(
        "<g><title>step {} ({}) at {}, {:.1f} ms after its schedule{}</title>"
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#555\" "
        "stroke-dasharray=\"3,3\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\">{} {}</text></g>\n",
        escape_xml(step->step), escape_xml(step->action), detail::format_offset(e.t_ns, axis.t0),
        late_ms, step->detail.empty() ? "" : ": " + escape_xml(step->detail), x, 14.0 + 16 * row, x,
        lanes_bottom, x + 2, 12.0 + 16 * row, escape_xml(step->step), escape_xml(step->action));
    row = (row + 1) % 2;
  }
  return out;
}

/// The mark of one handshake, HELLO, push, TLS handshake or protocol error on a lane at `x`
/// (empty for the other events).
auto event_mark_svg(const tl::event& e, double x, double mid, std::int64_t t0) -> std::string {
  const auto when = detail::format_offset(e.t_ns, t0);
  if (const auto* hs = std::get_if<tl::maint_handshake>(&e.what)) {
    return fmt::format(
        "<path d=\"M{0:.1f} {1:.1f} l5 5 l-5 5 l-5 -5 z\" fill=\"{2}\"><title>{3}: {4}</title>"
        "</path>\n",
        x, mid - 5, hs->accepted ? "#2e8540" : "#d98200", when,
        escape_xml(detail::describe_event(e)));
  }
  if (const auto* h = std::get_if<tl::hello>(&e.what)) {
    return fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"><title>{}: {}</title>"
        "</circle>\n",
        x, mid, h->accepted ? "#555" : "#c62828", when, escape_xml(detail::describe_event(e)));
  }
  if (const auto* p = std::get_if<tl::push_written>(&e.what)) {
    return fmt::format(
        "<path d=\"M{0:.1f} {1:.1f} l-5 -8 h10 z\" fill=\"{2}\"><title>{3}: {4}</title>"
        "</path>\n",
        x, mid - 3, push_color(p->name), when, escape_xml(detail::describe_event(e)));
  }
  if (const auto* tls = std::get_if<tl::tls_handshake>(&e.what)) {
    // A small square: green for a completed TLS handshake, red for a failed or refused one,
    // grey for plaintext on a TLS endpoint.
    return fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"6\" height=\"6\" fill=\"{}\">"
        "<title>{}: {}</title></rect>\n",
        x - 3, mid - 12,
        tls->completed                    ? "#2e8540"
        : tls->tls || !tls->error.empty() ? "#c62828"
                                          : "#8a8a8a",
        when, escape_xml(detail::describe_event(e)));
  }
  if (std::holds_alternative<tl::protocol_error>(e.what)) {
    return fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#c62828\">!<title>{}</title></text>\n", x - 2,
        mid + 4, escape_xml(detail::describe_event(e)));
  }
  return {};
}

/// A lane's events; commands and redirects (thousands of them) only where they add a pixel.
auto lane_events_svg(const lane& l, const time_axis& axis, double mid, std::string_view color)
    -> std::string {
  std::string out;
  double last_tick = -10;
  double last_redirect = -10;
  for (const auto* e : l.events) {
    const double x = axis.x(e->t_ns);
    if (std::holds_alternative<tl::command_received>(e->what)) {
      if (x - last_tick >= 1.0) {
        out += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
            "stroke=\"{3}\" stroke-width=\"1\"/>\n",
            x, mid - 3, mid + 3, color);
        last_tick = x;
      }
    } else if (const auto* redirect = std::get_if<tl::cluster_redirect>(&e->what)) {
      // Below the lane, so the command ticks stay visible.
      if (x - last_redirect >= 1.0) {
        out += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"2\" height=\"4\" fill=\"{}\">"
            "<title>{}: {}</title></rect>\n",
            x - 1, mid + 4,
            redirect->what == tl::cluster_redirect::kind::moved ? "#c62828" : "#d98200",
            detail::format_offset(e->t_ns, axis.t0), escape_xml(detail::describe_event(*e)));
        last_redirect = x;
      }
    } else {
      out += event_mark_svg(*e, x, mid, axis.t0);
    }
  }
  return out;
}

/// How the lane's connection ended: a bar for a FIN, a cross for a reset; red when the server
/// closed it.
auto lane_close_svg(const tl::event& closed_event, double x_close, double mid, std::int64_t t0)
    -> std::string {
  const auto& closed = std::get<tl::connection_closed>(closed_event.what);
  const bool by_server = closed.by == tl::close_initiator::server;
  const std::string_view stroke = by_server ? "#c62828" : "#1d2330";
  const std::string title = fmt::format("{}: {}", detail::format_offset(closed_event.t_ns, t0),
                                        detail::describe_event(closed_event));
  if (closed.how == tl::close_how::fin) {
    return fmt::format(
        "<g><title>{0}</title><line x1=\"{1:.1f}\" y1=\"{2:.1f}\" x2=\"{1:.1f}\" "
        "y2=\"{3:.1f}\" stroke=\"{4}\" stroke-width=\"2.5\"/></g>\n",
        escape_xml(title), x_close, mid - 7, mid + 7, stroke);
  }
  return fmt::format(
      "<g><title>{0}</title><path d=\"M{1:.1f} {2:.1f} l8 8 m0 -8 l-8 8\" stroke=\"{3}\" "
      "stroke-width=\"2.5\"/></g>\n",
      escape_xml(title), x_close - 4, mid - 4, stroke);
}

/// One connection's lane centred on `mid`: its label, its open bar, its events and its close.
auto lane_svg(const v::case_result& c, const lane& l, const time_axis& axis, double mid)
    -> std::string {
  const auto color = endpoint_color(c, l.endpoint);
  std::string out = fmt::format(
      "<text x=\"6\" y=\"{:.1f}\"><title>connection {} to {} from {}</title>#{} {}</text>\n",
      mid + 4, l.conn, escape_xml(l.endpoint), escape_xml(l.peer), l.conn, escape_xml(l.endpoint));
  const double x_open = axis.x(l.opened);
  const double x_close = l.closed ? axis.x(l.closed->t_ns) : axis.right;
  out += fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"8\" rx=\"2\" fill=\"{}\" "
      "fill-opacity=\"0.35\"><title>#{} {} open {} .. {}</title></rect>\n",
      x_open, mid - 4, std::max(x_close - x_open, 1.0), color, l.conn, escape_xml(l.endpoint),
      detail::format_offset(l.opened, axis.t0),
      l.closed ? detail::format_offset(l.closed->t_ns, axis.t0) : std::string("end"));
  out += lane_events_svg(l, axis, mid, color);
  if (l.closed) {
    out += lane_close_svg(*l.closed, x_close, mid, axis.t0);
  }
  return out;
}

auto timeline_svg(const v::case_result& c) -> std::string {
  const auto lanes = build_lanes(c);
  const auto [t0, t1] = time_range(c);
  constexpr double width = 1180;
  constexpr double label_width = 200;
  constexpr double lane_height = 22;
  constexpr double steps_height = 46;
  const double lanes_top = steps_height;
  const double lanes_bottom =
      lanes_top + lane_height * static_cast<double>(std::max<std::size_t>(lanes.size(), 1));
  const double height = lanes_bottom + 40;
  const time_axis axis{t0, t1, label_width, width - 16};

  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-svg\" width=\"{0:.0f}\" "
      "height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" role=\"img\" "
      "aria-label=\"connection timeline\">\n",
      width, height);
  out += windows_svg(c, axis, lanes_top, lanes_bottom, false);
  out += x_ticks(axis, lanes_top, lanes_bottom);
  out += steps_svg(c, axis, lanes_bottom);
  double y = lanes_top;
  for (const auto& l : lanes) {
    out += lane_svg(c, l, axis, y + lane_height / 2);
    y += lane_height;
  }
  if (lanes.empty()) {
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">no connections were made</text>\n",
                       label_width, lanes_top + 15);
  }
  out += fmt::format(
      "<line class=\"axis\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\"/>\n",
      label_width, lanes_bottom, width - 16);
  out += "</svg>\n";
  return out;
}

auto percentile(std::vector<double> values, double p) -> double {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())) - 1);
  return values[std::min(rank, values.size() - 1)];
}

auto latency_svg(const v::case_result& c) -> std::string {
  const auto [t0, t1] = time_range(c);
  constexpr double width = 1180;
  constexpr double height = 300;
  constexpr double top = 12;
  constexpr double bottom = height - 30;
  const time_axis axis{t0, t1, 60, width - 16};

  double max_ms = 1;
  for (const auto& cmd : c.commands) {
    if (cmd.completed) {
      max_ms = std::max(max_ms, static_cast<double>(cmd.done_ns - cmd.intended_ns) / 1e6);
    }
  }
  // Log scale: sub-millisecond baselines and multi-second handoff stalls on one plot.
  const double lo = 0.01;
  const double hi = std::pow(10.0, std::ceil(std::log10(max_ms * 1.5)));
  auto y_of = [&](double ms) {
    const double clamped = std::clamp(ms, lo, hi);
    return bottom - (std::log10(clamped) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) *
                        (bottom - top);
  };

  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"latency-svg\" width=\"{0:.0f}\" "
      "height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" role=\"img\" "
      "aria-label=\"latency plot\">\n",
      width, height);
  out += windows_svg(c, axis, top, bottom, true);
  out += x_ticks(axis, top, bottom);
  for (double decade = lo; decade <= hi * 1.001; decade *= 10) {
    const double y = y_of(decade);
    out += fmt::format(
        "<line class=\"grid\" x1=\"60\" y1=\"{0:.1f}\" x2=\"{1:.1f}\" y2=\"{0:.1f}\"/>"
        "<text x=\"54\" y=\"{2:.1f}\" text-anchor=\"end\">{3} ms</text>\n",
        y, width - 16, y + 4, detail::format_number(decade));
  }
  for (const auto& cmd : c.commands) {
    const double x = axis.x(cmd.intended_ns);
    if (!cmd.completed) {
      out += fmt::format(
          "<path d=\"M{:.1f} {:.1f} l3 6 h-6 z\" fill=\"#7b1fa2\"><title>#{} no result</title>"
          "</path>\n",
          x, top, cmd.id);
      continue;
    }
    const double ms = static_cast<double>(cmd.done_ns - cmd.intended_ns) / 1e6;
    const double y = y_of(ms);
    if (cmd.ok) {
      out += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"1.8\" fill=\"{}\"><title>#{} {} {:.2f} ms"
          "</title></circle>\n",
          x, y, cmd.purpose == "load" || cmd.purpose.empty() ? "#2458b3" : "#0a8f7a", cmd.id,
          escape_xml(cmd.purpose), ms);
    } else {
      out += fmt::format(
          "<path d=\"M{:.1f} {:.1f} l6 6 m0 -6 l-6 6\" stroke=\"#c62828\" stroke-width=\"1.6\">"
          "<title>#{} {} failed after {:.2f} ms: {} {}</title></path>\n",
          x - 3, y - 3, cmd.id, escape_xml(cmd.purpose), ms, escape_xml(cmd.error_class),
          escape_xml(cmd.message));
    }
  }
  out += fmt::format(
      "<line class=\"axis\" x1=\"60\" y1=\"{0:.1f}\" x2=\"{1:.1f}\" y2=\"{0:.1f}\"/>"
      "<line class=\"axis\" x1=\"60\" y1=\"{2:.1f}\" x2=\"60\" y2=\"{0:.1f}\"/>\n",
      bottom, width - 16, top);
  out += "</svg>\n";
  return out;
}

auto excerpt_table(const std::vector<tl::event>& events, std::int64_t t0) -> std::string {
  std::string out =
      "<table class=\"mono\"><tr><th>time</th><th>endpoint</th><th>conn</th><th>event</th></tr>\n";
  for (const auto& e : events) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       detail::format_offset(e.t_ns, t0), escape_xml(e.endpoint),
                       e.conn == 0 ? std::string() : fmt::format("#{}", e.conn),
                       escape_xml(detail::describe_event(e)));
  }
  return out + "</table>\n";
}

auto checks_section(const v::case_result& c, std::int64_t t0) -> std::string {
  std::string out = "<h2 id=\"checks\">Checks</h2>\n";
  if (c.checks.empty()) {
    return out + "<p>No checks were evaluated" +
           (c.outcome_detail.empty() ? std::string(".") : ": " + escape_xml(c.outcome_detail)) +
           "</p>\n";
  }
  out +=
      "<table class=\"checks\">\n<tr><th>status</th><th>check</th><th>meaning</th>"
      "<th>result and evidence</th></tr>\n";
  for (const auto& check : c.checks) {
    out +=
        fmt::format("<tr id=\"check-{}\"><td>{}{}</td><td><code>{}</code></td><td>{}</td><td>{}\n",
                    escape_xml(check.id), badge(v::to_string(check.outcome)),
                    check.critical ? "" : " <span class=\"small\">(non-critical)</span>",
                    escape_xml(check.id), escape_xml(check.meaning), escape_xml(check.summary));
    const bool has_evidence = !check.findings.empty() || !check.figures.empty() ||
                              !check.tolerances.empty() || !check.excerpt.empty();
    if (has_evidence) {
      out += fmt::format("<details{}><summary>evidence</summary><div class=\"evidence\">\n",
                         check.outcome == v::status::fail ? " open" : "");
      if (!check.findings.empty()) {
        out += "<ul>\n";
        for (const auto& f : check.findings) {
          out += "<li>" + escape_xml(f) + "</li>\n";
        }
        out += "</ul>\n";
      }
      if (!check.figures.empty()) {
        out += "<table><tr><th>figure</th><th>value</th></tr>\n";
        for (const auto& f : check.figures) {
          out +=
              fmt::format("<tr><td>{}</td><td class=\"mono\">{} {}</td></tr>\n", escape_xml(f.name),
                          detail::format_number(f.value), escape_xml(f.unit));
        }
        out += "</table>\n";
      }
      if (!check.tolerances.empty()) {
        out += "<table><tr><th>tolerance</th><th>band</th><th>rule</th></tr>\n";
        for (const auto& t : check.tolerances) {
          out += fmt::format("<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>\n",
                             escape_xml(t.name), escape_xml(detail::format_band(t)),
                             escape_xml(t.rule));
        }
        out += "</table>\n";
      }
      if (!check.excerpt.empty()) {
        out += "<div class=\"small\">timeline excerpt</div>\n" + excerpt_table(check.excerpt, t0);
      }
      out += "</div></details>\n";
    }
    out += "</td></tr>\n";
  }
  return out + "</table>\n";
}

auto latency_summary(const v::case_result& c) -> std::string {
  std::vector<double> ok;
  std::size_t failed = 0;
  std::size_t missing = 0;
  for (const auto& cmd : c.commands) {
    if (!cmd.completed) {
      ++missing;
    } else if (cmd.ok) {
      ok.push_back(static_cast<double>(cmd.done_ns - cmd.intended_ns) / 1e6);
    } else {
      ++failed;
    }
  }
  return fmt::format(
      "<p class=\"small\">{} commands: {} ok (p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms), "
      "{} failed, {} without a result. Latency is measured from each command's intended send "
      "time, so a stall in the client is not hidden.</p>\n",
      c.commands.size(), ok.size(), percentile(ok, 50), percentile(ok, 99),
      ok.empty() ? 0.0 : *std::max_element(ok.begin(), ok.end()), failed, missing);
}

auto legend() -> std::string {
  return "<p class=\"legend small\">"
         "<span><span class=\"sw\" style=\"background:#f5b94266\"></span>maintenance window</span>"
         "<span><span class=\"sw\" style=\"background:#7aa7ff55\"></span>MOVING grace</span>"
         "<span><span class=\"sw\" style=\"background:#e5737355\"></span>reply stall/latency</span>"
         "<span><span class=\"sw\" style=\"background:#9c5bd633\"></span>slot migration</span>"
         "<span>&#9660; push (blue MOVING, orange start, green end)</span>"
         "<span>&#9670; CLIENT MAINT_NOTIFICATIONS (green accepted)</span>"
         "<span>&#9679; HELLO</span><span>| ticks: commands</span>"
         "<span>marks under a lane: -MOVED (red), -ASK (orange)</span>"
         "<span>end bar: black = closed by client, red = by server; &#10005; = reset</span>"
         "</p>\n";
}

auto events_section(const v::case_result& c, std::int64_t t0) -> std::string {
  constexpr std::size_t limit = 4000;
  std::string out = fmt::format(
      "<h2 id=\"events\">Server timeline</h2>\n<details><summary>{} events{}</summary>\n",
      c.timeline.size(),
      c.timeline.size() > limit ? fmt::format(" (first {} shown; all are in report.json)", limit)
                                : std::string());
  const std::vector<tl::event> shown(
      c.timeline.begin(),
      c.timeline.begin() + static_cast<std::ptrdiff_t>(std::min(limit, c.timeline.size())));
  out += excerpt_table(shown, t0);
  return out + "</details>\n";
}

auto process_section(const v::case_result& c) -> std::string {
  std::string out = "<h2 id=\"client\">Client process</h2>\n<table class=\"meta\">\n";
  out += fmt::format("<tr><td>command</td><td class=\"mono\">{}</td></tr>\n",
                     escape_xml(c.client.command));
  std::string status = c.process.started ? "" : "not started";
  if (c.process.exit_code) {
    status = fmt::format("exited with status {}", *c.process.exit_code);
  }
  if (c.process.signal) {
    status = fmt::format("killed by signal {}", *c.process.signal);
  }
  if (c.process.killed_by_watchdog) {
    status += " (by the watchdog)";
  }
  out += fmt::format("<tr><td>exit</td><td>{}</td></tr>\n", escape_xml(status));
  out += fmt::format("<tr><td>capabilities</td><td class=\"mono\">{}</td></tr>\n",
                     escape_xml(fmt::format("{}", fmt::join(c.client.capabilities, " "))));
  out += fmt::format("<tr><td>reply timeout</td><td>{}</td></tr>\n",
                     escape_xml(c.client.reply_timeout));
  out += "</table>\n";
  if (!c.process.stderr_tail.empty()) {
    out += fmt::format("<details{}><summary>stderr (tail)</summary><pre>{}</pre></details>\n",
                       c.outcome == v::case_outcome::crashed ? " open" : "",
                       escape_xml(c.process.stderr_tail));
  }
  if (!c.driver_log.empty()) {
    out += "<details><summary>driver protocol notes</summary><pre>";
    for (const auto& line : c.driver_log) {
      out += escape_xml(line) + "\n";
    }
    out += "</pre></details>\n";
  }
  return out;
}

auto cell_symbol(v::status s) -> std::string_view {
  switch (s) {
    case v::status::pass:
      return "&#10004;";
    case v::status::fail:
      return "&#10008;";
    case v::status::unsupported:
      return "U";
    case v::status::skipped:
      return "&#8211;";
    case v::status::not_judged:
      return "?";
  }
  return "?";
}

/// Why a plot has nothing to show, for a case that never got that far.
auto why_empty(const v::case_result& c) -> std::string {
  return c.outcome_detail.empty() ? std::string(".") : ": " + escape_xml(c.outcome_detail);
}

auto has_connections(const v::case_result& c) -> bool {
  return std::any_of(c.timeline.begin(), c.timeline.end(), [](const tl::event& e) {
    return std::holds_alternative<tl::connection_opened>(e.what);
  });
}

/// The timeline and latency plots, or one line saying why there is nothing to draw (an
/// unsupported case never connects, and empty axes would only suggest that something ran).
auto plots_section(const v::case_result& c) -> std::string {
  std::string out = "<h2 id=\"timeline\">Timeline: one lane per connection</h2>\n";
  if (has_connections(c)) {
    out += legend();
    out += timeline_svg(c);
  } else {
    out += "<p>No timeline: no connections were made" + why_empty(c) + "</p>\n";
  }
  out += "<h2 id=\"latency\">Latency (open loop, from the intended send time)</h2>\n";
  if (c.commands.empty()) {
    return out + "<p>No latency: no command was issued" + why_empty(c) + "</p>\n";
  }
  out += latency_summary(c);
  out += latency_svg(c);
  out +=
      "<p class=\"legend small\"><span>&#9679; ok (blue load, green probe)</span>"
      "<span>&#10005; failed</span><span>&#9650; no result</span></p>\n";
  return out;
}

auto case_label(const v::case_result& c) -> std::string {
  return c.repetition > 0 ? fmt::format("{} #{}", c.scenario_id, c.repetition + 1) : c.scenario_id;
}

}  // namespace

auto case_file_name(const verdict::case_result& c) -> std::string {
  return fmt::format("cases/{}--{}--r{}.html", detail::slug(c.scenario_id),
                     detail::slug(c.client.name), c.repetition);
}

auto to_html_case(const verdict::run_result& run, const verdict::case_result& c) -> std::string {
  const auto [t0, t1] = time_range(c);
  std::string out = page_head(fmt::format("schsim: {} / {}", case_label(c), c.client.name));
  out += fmt::format(
      "<p class=\"small\"><a href=\"../index.html\">&#8592; all cases</a></p>\n"
      "<h1>{} {}</h1>\n",
      escape_xml(case_label(c)), badge(v::to_string(c.outcome)));
  if (!c.title.empty()) {
    out += fmt::format("<p><b>{}</b></p>\n", escape_xml(c.title));
  }
  if (!c.description.empty()) {
    out += fmt::format("<p>{}</p>\n", escape_xml(c.description));
  }
  if (!c.outcome_detail.empty()) {
    out += fmt::format("<p>{}</p>\n", escape_xml(c.outcome_detail));
  }
  if (!c.steps_not_run.empty()) {
    out += fmt::format(
        "<p class=\"warn\"><b>Steps that never ran:</b> <code>{}</code>. What they test was not "
        "judged, so this case cannot pass.</p>\n",
        escape_xml(fmt::format("{}", fmt::join(c.steps_not_run, ", "))));
  }
  out += "<table class=\"meta\">\n";
  const std::vector<std::pair<std::string, std::string>> rows{
      {"client", fmt::format("{} ({} {} {})", c.client.name, c.client.library, c.client.version,
                             c.client.language)},
      {"seed", fmt::format("{}", c.seed)},
      {"repetition", fmt::format("{}", c.repetition + 1)},
      {"duration", detail::format_duration(t1 - t0)},
      {"tags", fmt::format("{}", fmt::join(c.tags, ", "))},
      {"scenario file", c.scenario_file},
      {"endpoints",
       [&] {
         std::string s;
         for (const auto& e : c.endpoints) {
           s += (s.empty() ? "" : ", ") + e.name + " = " + e.address;
         }
         return s;
       }()},
      {"schsim", run.schsim_version},
      {"suite version", run.suite_version},
      {"started", run.started_at},
  };
  for (const auto& [key, value] : rows) {
    out += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", escape_xml(key), escape_xml(value));
  }
  out += "</table>\n";
  out += checks_section(c, t0);
  out += plots_section(c);
  out += process_section(c);
  out += events_section(c, t0);
  out += page_tail;
  return out;
}

auto to_html_matrix(const verdict::run_result& run) -> std::string {
  std::vector<std::string> check_ids;
  std::set<std::string> seen;
  std::map<v::case_outcome, std::size_t> counts;
  for (const auto& c : run.cases) {
    ++counts[c.outcome];
    for (const auto& check : c.checks) {
      if (seen.insert(check.id).second) {
        check_ids.push_back(check.id);
      }
    }
  }
  std::string out = page_head("schsim report");
  out += "<h1>schsim report</h1>\n<table class=\"meta\">\n";
  std::string totals;
  for (const auto& [outcome, n] : counts) {
    totals += fmt::format("{}{} {}", totals.empty() ? "" : ", ", n, v::to_string(outcome));
  }
  const std::vector<std::pair<std::string, std::string>> rows{
      {"schsim", run.schsim_version},
      {"suite version", run.suite_version},
      {"started", run.started_at},
      {"command", run.command_line},
      {"cases", fmt::format("{}: {}", run.cases.size(), totals)},
  };
  for (const auto& [key, value] : rows) {
    out += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", escape_xml(key), escape_xml(value));
  }
  out +=
      "</table>\n<h2>Cases by checks</h2>\n<table class=\"matrix\">\n<tr><th>case</th>"
      "<th>client</th><th>outcome</th>";
  for (const auto& id : check_ids) {
    out += fmt::format("<th><code>{}</code></th>", escape_xml(id));
  }
  out += "<th>seed</th><th>time</th></tr>\n";
  for (const auto& c : run.cases) {
    const std::string link = case_file_name(c);
    out += fmt::format("<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td>", escape_xml(link),
                       escape_xml(case_label(c)), escape_xml(c.client.name),
                       badge(v::to_string(c.outcome)));
    if (c.outcome == v::case_outcome::unsupported && !check_ids.empty()) {
      // One reason for the whole row, readable without hovering over a "U" per check.
      out += fmt::format(
          "<td class=\"c-unsupported\" colspan=\"{}\"><a href=\"{}\" "
          "style=\"color:inherit\">unsupported: {}</a></td>",
          check_ids.size(), escape_xml(link), escape_xml(c.outcome_detail));
      out += fmt::format("<td class=\"mono\">{}</td><td>{}</td></tr>\n", c.seed,
                         detail::format_duration(detail::case_duration_ns(c)));
      continue;
    }
    for (const auto& id : check_ids) {
      const auto it = std::find_if(c.checks.begin(), c.checks.end(),
                                   [&](const v::check_result& r) { return r.id == id; });
      if (it == c.checks.end()) {
        out += "<td class=\"cell c-none\"></td>";
        continue;
      }
      out += fmt::format(
          "<td class=\"cell c-{}\" title=\"{}\"><a href=\"{}#check-{}\" "
          "style=\"color:inherit;text-decoration:none\">{}</a></td>",
          v::to_string(it->outcome), escape_xml(it->summary), escape_xml(link), escape_xml(it->id),
          cell_symbol(it->outcome));
    }
    out += fmt::format("<td class=\"mono\">{}</td><td>{}</td></tr>\n", c.seed,
                       detail::format_duration(detail::case_duration_ns(c)));
  }
  out +=
      "</table>\n<p class=\"small\">&#10004; pass, &#10008; fail, U unsupported by the "
      "client, ? not judged (applied but nothing to judge), &#8211; skipped (not applicable). "
      "Every case page holds the evidence; "
      "report.json holds everything, junit.xml is for CI.</p>\n";
  out += page_tail;
  return out;
}

}  // namespace schsim::reports
