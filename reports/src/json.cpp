#include <schsim/reports/json.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <stdexcept>
#include <string_view>
#include <type_traits>

namespace schsim::reports {

namespace {

using nlohmann::json;
namespace tl = schsim::timeline;
namespace v = schsim::verdict;

auto to_string(tl::close_initiator by) -> const char* {
  return by == tl::close_initiator::client ? "client" : "server";
}
auto to_string(tl::close_how how) -> const char* {
  switch (how) {
    case tl::close_how::fin:
      return "fin";
    case tl::close_how::rst:
      return "rst";
    case tl::close_how::error:
      return "error";
  }
  return "error";
}

// Each event kind's own fields, one function per kind: event_to_json() writes the common fields
// and dispatches on the alternative held.
void add_fields(json& j, const tl::connection_opened& d) { j["peer"] = d.peer; }
void add_fields(json& j, const tl::connection_closed& d) {
  j["by"] = to_string(d.by);
  j["how"] = to_string(d.how);
  j["reason"] = d.reason;
}
void add_fields(json& j, const tl::hello& d) {
  j["protover"] = d.protover;
  j["accepted"] = d.accepted;
  j["user"] = d.user;
  j["error"] = d.error;
}
void add_fields(json& j, const tl::maint_handshake& d) {
  j["enable"] = d.enable;
  j["endpoint_type"] = d.endpoint_type ? json(*d.endpoint_type) : json(nullptr);
  j["accepted"] = d.accepted;
  j["reply"] = d.reply;
  j["protocol"] = d.protocol;
}
void add_fields(json& j, const tl::command_received& d) {
  j["index"] = d.index;
  j["args"] = d.args;
}
void add_fields(json& j, const tl::reply_written& d) {
  j["index"] = d.index;
  j["error"] = d.error;
  j["summary"] = d.summary;
}
void add_fields(json& j, const tl::push_written& d) {
  j["name"] = d.name;
  j["seq"] = d.seq;
  j["time_s"] = d.time_s ? json(*d.time_s) : json(nullptr);
  j["bytes"] = d.bytes;
  j["dialect"] = d.dialect;
  j["step"] = d.step;
}
void add_fields(json& j, const tl::protocol_error& d) {
  j["message"] = d.message;
  j["offset"] = d.offset;
}
void add_fields(json& j, const tl::step_executed& d) {
  j["step"] = d.step;
  j["action"] = d.action;
  j["scheduled_ns"] = d.scheduled_ns;
  j["detail"] = d.detail;
}
void add_fields(json& j, const tl::note& d) { j["text"] = d.text; }
void add_fields(json& j, const tl::cluster_redirect& d) {
  j["redirect"] = d.what == tl::cluster_redirect::kind::moved ? "MOVED" : "ASK";
  j["slot"] = d.slot;
  j["target"] = d.target;
  j["address"] = d.address;
  j["command"] = d.command;
}
// Started and completed migrations carry the same three fields.
template <class Migration>
void add_migration_fields(json& j, const Migration& d) {
  j["from"] = d.from;
  j["to"] = d.to;
  j["slots"] = d.slots;
}
void add_fields(json& j, const tl::slot_migration_started& d) { add_migration_fields(j, d); }
void add_fields(json& j, const tl::slot_migration_completed& d) { add_migration_fields(j, d); }
void add_fields(json& j, const tl::tls_handshake& d) {
  j["tls"] = d.tls;
  j["completed"] = d.completed;
  j["version"] = d.version;
  j["sni"] = d.sni;
  j["client_certificate"] = d.client_certificate;
  j["error"] = d.error;
}
void add_fields(json& j, const tl::transaction_ended& d) {
  j["result"] = tl::outcome_name(d.result);
  j["multi_index"] = d.multi_index;
  j["end_index"] = d.end_index;
  j["commands"] = d.commands;
  j["errors"] = d.errors;
}
void add_fields(json& j, const tl::pubsub_published& d) {
  j["channel"] = d.channel;
  j["sharded"] = d.sharded;
  j["receivers"] = d.receivers;
  j["payload_seq"] = d.seq ? json(*d.seq) : json(nullptr);
  j["bytes"] = d.bytes;
}
void add_fields(json& j, const tl::pubsub_delivered& d) {
  j["channel"] = d.channel;
  j["pattern"] = d.pattern;
  j["sharded"] = d.sharded;
  j["payload_seq"] = d.seq ? json(*d.seq) : json(nullptr);
  j["bytes"] = d.bytes;
}
void add_fields(json& j, const tl::list_pushed& d) {
  j["key"] = d.key;
  j["element"] = d.element;
  j["producer"] = d.producer;
}
void add_fields(json& j, const tl::list_popped& d) {
  j["key"] = d.key;
  j["element"] = d.element;
  j["command"] = d.command;
  j["result"] = tl::outcome_name(d.result);
}

auto event_to_json(const tl::event& e) -> json {
  json j{{"t_ns", e.t_ns},
         {"endpoint", e.endpoint},
         {"conn", e.conn},
         {"kind", tl::kind_name(e.what)}};
  std::visit([&](const auto& d) { add_fields(j, d); }, e.what);
  return j;
}

template <class T>
auto get_or(const json& j, const char* key, T fallback) -> T {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fallback;
  }
  return it->get<T>();
}

auto optional_int(const json& j, const char* key) -> std::optional<std::int64_t> {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return std::nullopt;
  }
  return it->get<std::int64_t>();
}

// The readers of each kind's fields, the inverse of add_fields(): a missing or null field reads
// as its default, so reports written before a field existed still load.
auto read_connection_opened(const json& j) -> tl::detail {
  return tl::connection_opened{get_or<std::string>(j, "peer", "")};
}
auto read_connection_closed(const json& j) -> tl::detail {
  tl::connection_closed d;
  d.by = get_or<std::string>(j, "by", "client") == "server" ? tl::close_initiator::server
                                                            : tl::close_initiator::client;
  const auto how = get_or<std::string>(j, "how", "fin");
  d.how = how == "rst" ? tl::close_how::rst
                       : (how == "error" ? tl::close_how::error : tl::close_how::fin);
  d.reason = get_or<std::string>(j, "reason", "");
  return d;
}
auto read_hello(const json& j) -> tl::detail {
  return tl::hello{get_or(j, "protover", 2), get_or(j, "accepted", false),
                   get_or<std::string>(j, "user", ""), get_or<std::string>(j, "error", "")};
}
auto read_maint_handshake(const json& j) -> tl::detail {
  tl::maint_handshake d;
  d.enable = get_or(j, "enable", false);
  if (j.contains("endpoint_type") && !j["endpoint_type"].is_null()) {
    d.endpoint_type = j["endpoint_type"].get<std::string>();
  }
  d.accepted = get_or(j, "accepted", false);
  d.reply = get_or<std::string>(j, "reply", "");
  d.protocol = get_or(j, "protocol", 2);
  return d;
}
auto read_command_received(const json& j) -> tl::detail {
  return tl::command_received{get_or<std::uint64_t>(j, "index", 0),
                              get_or(j, "args", std::vector<std::string>{})};
}
auto read_reply_written(const json& j) -> tl::detail {
  return tl::reply_written{get_or<std::uint64_t>(j, "index", 0), get_or(j, "error", false),
                           get_or<std::string>(j, "summary", "")};
}
auto read_push_written(const json& j) -> tl::detail {
  tl::push_written d;
  d.name = get_or<std::string>(j, "name", "");
  d.seq = get_or<std::int64_t>(j, "seq", 0);
  d.time_s = optional_int(j, "time_s");
  d.bytes = get_or<std::size_t>(j, "bytes", 0);
  d.dialect = get_or<std::string>(j, "dialect", "");
  d.step = get_or<std::string>(j, "step", "");
  return d;
}
auto read_protocol_error(const json& j) -> tl::detail {
  return tl::protocol_error{get_or<std::string>(j, "message", ""),
                            get_or<std::uint64_t>(j, "offset", 0)};
}
auto read_step_executed(const json& j) -> tl::detail {
  return tl::step_executed{get_or<std::string>(j, "step", ""), get_or<std::string>(j, "action", ""),
                           get_or<std::int64_t>(j, "scheduled_ns", 0),
                           get_or<std::string>(j, "detail", "")};
}
auto read_note(const json& j) -> tl::detail { return tl::note{get_or<std::string>(j, "text", "")}; }
auto read_cluster_redirect(const json& j) -> tl::detail {
  tl::cluster_redirect d;
  d.what = get_or<std::string>(j, "redirect", "MOVED") == "ASK" ? tl::cluster_redirect::kind::ask
                                                                : tl::cluster_redirect::kind::moved;
  d.slot = get_or<std::uint16_t>(j, "slot", 0);
  d.target = get_or<std::string>(j, "target", "");
  d.address = get_or<std::string>(j, "address", "");
  d.command = get_or<std::string>(j, "command", "");
  return d;
}
template <class Migration>
auto read_migration(const json& j) -> tl::detail {
  return Migration{get_or<std::string>(j, "from", ""), get_or<std::string>(j, "to", ""),
                   get_or<std::string>(j, "slots", "")};
}
auto read_tls_handshake(const json& j) -> tl::detail {
  return tl::tls_handshake{get_or<bool>(j, "tls", false),
                           get_or<bool>(j, "completed", false),
                           get_or<std::string>(j, "version", ""),
                           get_or<std::string>(j, "sni", ""),
                           get_or<bool>(j, "client_certificate", false),
                           get_or<std::string>(j, "error", "")};
}
auto read_transaction_ended(const json& j) -> tl::detail {
  tl::transaction_ended d;
  d.result = tl::outcome_from_name(get_or<std::string>(j, "result", "executed"));
  d.multi_index = get_or<std::uint64_t>(j, "multi_index", 0);
  d.end_index = get_or<std::uint64_t>(j, "end_index", 0);
  d.commands = get_or<std::vector<std::uint64_t>>(j, "commands", {});
  d.errors = get_or<std::size_t>(j, "errors", 0);
  return d;
}
auto read_pubsub_published(const json& j) -> tl::detail {
  return tl::pubsub_published{get_or<std::string>(j, "channel", ""),
                              get_or<bool>(j, "sharded", false),
                              get_or<std::size_t>(j, "receivers", 0),
                              optional_int(j, "payload_seq"), get_or<std::size_t>(j, "bytes", 0)};
}
auto read_pubsub_delivered(const json& j) -> tl::detail {
  return tl::pubsub_delivered{get_or<std::string>(j, "channel", ""),
                              get_or<std::string>(j, "pattern", ""),
                              get_or<bool>(j, "sharded", false), optional_int(j, "payload_seq"),
                              get_or<std::size_t>(j, "bytes", 0)};
}
auto read_list_pushed(const json& j) -> tl::detail {
  return tl::list_pushed{get_or<std::string>(j, "key", ""), get_or<std::string>(j, "element", ""),
                         get_or<bool>(j, "producer", false)};
}
auto read_list_popped(const json& j) -> tl::detail {
  return tl::list_popped{get_or<std::string>(j, "key", ""), get_or<std::string>(j, "element", ""),
                         get_or<std::uint64_t>(j, "command", 0),
                         tl::popped_outcome_from_name(get_or<std::string>(j, "result", "written"))};
}

struct detail_reader {
  std::string_view kind;
  auto(*read)(const json&) -> tl::detail;
};

// Every kind but note, by the name kind_name() writes; any other kind (note itself, or one this
// build does not know) reads as a note.
constexpr std::array<detail_reader, 18> detail_readers{{
    {"connection_opened", read_connection_opened},
    {"connection_closed", read_connection_closed},
    {"hello", read_hello},
    {"maint_handshake", read_maint_handshake},
    {"command_received", read_command_received},
    {"reply_written", read_reply_written},
    {"push_written", read_push_written},
    {"protocol_error", read_protocol_error},
    {"step_executed", read_step_executed},
    {"cluster_redirect", read_cluster_redirect},
    {"slot_migration_started", read_migration<tl::slot_migration_started>},
    {"slot_migration_completed", read_migration<tl::slot_migration_completed>},
    {"tls_handshake", read_tls_handshake},
    {"transaction_ended", read_transaction_ended},
    {"pubsub_published", read_pubsub_published},
    {"pubsub_delivered", read_pubsub_delivered},
    {"list_pushed", read_list_pushed},
    {"list_popped", read_list_popped},
}};

auto read_detail(const std::string& kind, const json& j) -> tl::detail {
  for (const auto& r : detail_readers) {
    if (r.kind == kind) {
      return r.read(j);
    }
  }
  return read_note(j);
}

auto event_from_json(const json& j) -> tl::event {
  tl::event e;
  e.t_ns = get_or<std::int64_t>(j, "t_ns", 0);
  e.endpoint = get_or<std::string>(j, "endpoint", "");
  e.conn = get_or<std::uint64_t>(j, "conn", 0);
  e.what = read_detail(get_or<std::string>(j, "kind", "note"), j);
  return e;
}

auto optional_double(const std::optional<double>& d) -> json {
  return d ? json(*d) : json(nullptr);
}

auto check_to_json(const v::check_result& c) -> json {
  json figures = json::array();
  for (const auto& f : c.figures) {
    figures.push_back({{"name", f.name}, {"value", f.value}, {"unit", f.unit}});
  }
  json bands = json::array();
  for (const auto& t : c.tolerances) {
    bands.push_back({{"name", t.name},
                     {"low", optional_double(t.low)},
                     {"high", optional_double(t.high)},
                     {"unit", t.unit},
                     {"rule", t.rule}});
  }
  json excerpt = json::array();
  for (const auto& e : c.excerpt) {
    excerpt.push_back(event_to_json(e));
  }
  return {{"id", c.id},
          {"meaning", c.meaning},
          {"status", v::to_string(c.outcome)},
          {"summary", c.summary},
          {"critical", c.critical},
          {"findings", c.findings},
          {"violations", c.violations},
          {"figures", figures},
          {"tolerances", bands},
          {"excerpt", excerpt}};
}

auto check_from_json(const json& j) -> v::check_result {
  v::check_result c;
  c.id = get_or<std::string>(j, "id", "");
  c.meaning = get_or<std::string>(j, "meaning", "");
  c.outcome =
      v::parse_status(get_or<std::string>(j, "status", "skipped")).value_or(v::status::skipped);
  c.summary = get_or<std::string>(j, "summary", "");
  c.critical = get_or(j, "critical", true);
  c.findings = get_or(j, "findings", std::vector<std::string>{});
  c.violations = get_or(j, "violations", std::vector<std::string>{});
  for (const auto& f : j.value("figures", json::array())) {
    c.figures.push_back({get_or<std::string>(f, "name", ""), get_or(f, "value", 0.0),
                         get_or<std::string>(f, "unit", "")});
  }
  for (const auto& t : j.value("tolerances", json::array())) {
    v::tolerance band;
    band.name = get_or<std::string>(t, "name", "");
    if (t.contains("low") && !t["low"].is_null()) {
      band.low = t["low"].get<double>();
    }
    if (t.contains("high") && !t["high"].is_null()) {
      band.high = t["high"].get<double>();
    }
    band.unit = get_or<std::string>(t, "unit", "");
    band.rule = get_or<std::string>(t, "rule", "");
    c.tolerances.push_back(band);
  }
  for (const auto& e : j.value("excerpt", json::array())) {
    c.excerpt.push_back(event_from_json(e));
  }
  return c;
}

auto command_to_json(const v::command_outcome& c) -> json {
  json j{{"id", c.id},
         {"args", c.args},
         {"purpose", c.purpose},
         {"intended_ns", c.intended_ns},
         {"issued_ns", c.issued_ns},
         {"sent_ns", c.sent_ns},
         {"done_ns", c.done_ns},
         {"completed", c.completed},
         {"ok", c.ok}};
  if (c.ok) {
    j["reply"] = c.reply;
  } else {
    j["error_class"] = c.error_class;
    j["message"] = c.message;
  }
  return j;
}

auto command_from_json(const json& j) -> v::command_outcome {
  v::command_outcome c;
  c.id = get_or<std::uint64_t>(j, "id", 0);
  c.args = get_or(j, "args", std::vector<std::string>{});
  c.purpose = get_or<std::string>(j, "purpose", "");
  c.intended_ns = get_or<std::int64_t>(j, "intended_ns", 0);
  c.issued_ns = get_or<std::int64_t>(j, "issued_ns", 0);
  c.sent_ns = get_or<std::int64_t>(j, "sent_ns", 0);
  c.done_ns = get_or<std::int64_t>(j, "done_ns", 0);
  c.completed = get_or(j, "completed", false);
  c.ok = get_or(j, "ok", false);
  c.reply = get_or<std::string>(j, "reply", "");
  c.error_class = get_or<std::string>(j, "error_class", "");
  c.message = get_or<std::string>(j, "message", "");
  return c;
}

auto case_to_json(const v::case_result& c) -> json {
  json checks = json::array();
  for (const auto& check : c.checks) {
    checks.push_back(check_to_json(check));
  }
  json windows = json::array();
  for (const auto& w : c.windows) {
    windows.push_back({{"kind", w.kind},
                       {"label", w.label},
                       {"start_ns", w.start_ns},
                       {"end_ns", w.end_ns},
                       {"endpoint", w.endpoint}});
  }
  json commands = json::array();
  for (const auto& cmd : c.commands) {
    commands.push_back(command_to_json(cmd));
  }
  json events = json::array();
  for (const auto& e : c.timeline) {
    events.push_back(event_to_json(e));
  }
  json endpoints = json::array();
  for (const auto& e : c.endpoints) {
    endpoints.push_back({{"name", e.name}, {"address", e.address}});
  }
  json process{{"started", c.process.started},
               {"exit_code", c.process.exit_code ? json(*c.process.exit_code) : json(nullptr)},
               {"signal", c.process.signal ? json(*c.process.signal) : json(nullptr)},
               {"killed_by_watchdog", c.process.killed_by_watchdog},
               {"stderr_tail", c.process.stderr_tail}};
  json client{{"name", c.client.name},
              {"library", c.client.library},
              {"version", c.client.version},
              {"language", c.client.language},
              {"capabilities", c.client.capabilities},
              {"reply_timeout", c.client.reply_timeout},
              {"command", c.client.command}};
  return {{"scenario_id", c.scenario_id},
          {"title", c.title},
          {"description", c.description},
          {"tags", c.tags},
          {"scenario_file", c.scenario_file},
          {"repetition", c.repetition},
          {"seed", c.seed},
          {"client", client},
          {"outcome", v::to_string(c.outcome)},
          {"outcome_detail", c.outcome_detail},
          {"steps_not_run", c.steps_not_run},
          {"start_ns", c.start_ns},
          {"end_ns", c.end_ns},
          {"endpoints", endpoints},
          {"checks", checks},
          {"windows", windows},
          {"commands", commands},
          {"timeline", events},
          {"driver_log", c.driver_log},
          {"process", process}};
}

auto case_from_json(const json& j) -> v::case_result {
  v::case_result c;
  c.scenario_id = get_or<std::string>(j, "scenario_id", "");
  c.title = get_or<std::string>(j, "title", "");
  c.description = get_or<std::string>(j, "description", "");
  c.tags = get_or(j, "tags", std::vector<std::string>{});
  c.scenario_file = get_or<std::string>(j, "scenario_file", "");
  c.repetition = get_or(j, "repetition", 0);
  c.seed = get_or<std::uint64_t>(j, "seed", 0);
  const json client = j.value("client", json::object());
  c.client.name = get_or<std::string>(client, "name", "");
  c.client.library = get_or<std::string>(client, "library", "");
  c.client.version = get_or<std::string>(client, "version", "");
  c.client.language = get_or<std::string>(client, "language", "");
  c.client.capabilities = get_or(client, "capabilities", std::vector<std::string>{});
  c.client.reply_timeout = get_or<std::string>(client, "reply_timeout", "");
  c.client.command = get_or<std::string>(client, "command", "");
  c.outcome = v::parse_case_outcome(get_or<std::string>(j, "outcome", "error"))
                  .value_or(v::case_outcome::error);
  c.outcome_detail = get_or<std::string>(j, "outcome_detail", "");
  c.steps_not_run = get_or(j, "steps_not_run", std::vector<std::string>{});
  c.start_ns = get_or<std::int64_t>(j, "start_ns", 0);
  c.end_ns = get_or<std::int64_t>(j, "end_ns", 0);
  for (const auto& e : j.value("endpoints", json::array())) {
    c.endpoints.push_back(
        {get_or<std::string>(e, "name", ""), get_or<std::string>(e, "address", "")});
  }
  for (const auto& check : j.value("checks", json::array())) {
    c.checks.push_back(check_from_json(check));
  }
  for (const auto& w : j.value("windows", json::array())) {
    c.windows.push_back({get_or<std::string>(w, "kind", ""), get_or<std::string>(w, "label", ""),
                         get_or<std::int64_t>(w, "start_ns", 0),
                         get_or<std::int64_t>(w, "end_ns", 0),
                         get_or<std::string>(w, "endpoint", "")});
  }
  for (const auto& cmd : j.value("commands", json::array())) {
    c.commands.push_back(command_from_json(cmd));
  }
  for (const auto& e : j.value("timeline", json::array())) {
    c.timeline.push_back(event_from_json(e));
  }
  c.driver_log = get_or(j, "driver_log", std::vector<std::string>{});
  const json process = j.value("process", json::object());
  c.process.started = get_or(process, "started", false);
  if (const auto code = optional_int(process, "exit_code")) {
    c.process.exit_code = static_cast<int>(*code);
  }
  if (const auto sig = optional_int(process, "signal")) {
    c.process.signal = static_cast<int>(*sig);
  }
  c.process.killed_by_watchdog = get_or(process, "killed_by_watchdog", false);
  c.process.stderr_tail = get_or<std::string>(process, "stderr_tail", "");
  return c;
}

}  // namespace

auto event_to_json_line(const timeline::event& e) -> std::string {
  json j = event_to_json(e);
  if (const auto* step = std::get_if<tl::step_executed>(&e.what)) {
    j["late_ns"] = e.t_ns - step->scheduled_ns;
  }
  // A client's bytes need not be UTF-8: replaced, never a throw from the recording thread.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

auto to_json(const verdict::run_result& run) -> std::string {
  json cases = json::array();
  std::size_t passed = 0;
  std::size_t failed = 0;
  for (const auto& c : run.cases) {
    cases.push_back(case_to_json(c));
    passed += c.outcome == v::case_outcome::passed ? 1 : 0;
    failed +=
        c.outcome == v::case_outcome::passed || c.outcome == v::case_outcome::unsupported ? 0 : 1;
  }
  json doc{{"format", "schsim-report"},
           {"format_version", json_format_version},
           {"schsim_version", run.schsim_version},
           {"suite_version", run.suite_version},
           {"started_at", run.started_at},
           {"command_line", run.command_line},
           {"totals", {{"cases", run.cases.size()}, {"passed", passed}, {"not_passed", failed}}}};
  if (run.shard) {
    doc["shard"] = {{"index", run.shard->index},
                    {"count", run.shard->count},
                    {"planned", run.shard->planned},
                    {"assigned", run.shard->assigned}};
  }
  doc["cases"] = std::move(cases);
  // Invalid UTF-8 from a driver's stderr must not make the whole report unwritable.
  return doc.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

auto run_from_json(const std::string& text) -> verdict::run_result {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("not a schsim report: ") + e.what());
  }
  if (!doc.is_object() || doc.value("format", "") != "schsim-report") {
    throw std::runtime_error("not a schsim report: missing \"format\": \"schsim-report\"");
  }
  try {
    v::run_result run;
    run.schsim_version = get_or<std::string>(doc, "schsim_version", "");
    run.suite_version = get_or<std::string>(doc, "suite_version", "");
    run.started_at = get_or<std::string>(doc, "started_at", "");
    run.command_line = get_or<std::string>(doc, "command_line", "");
    for (const auto& c : doc.value("cases", json::array())) {
      run.cases.push_back(case_from_json(c));
    }
    if (doc.contains("shard")) {
      const auto& s = doc.at("shard");
      run.shard = v::shard_info{s.at("index").get<int>(), s.at("count").get<int>(),
                                s.at("planned").get<std::vector<std::string>>(),
                                s.at("assigned").get<std::vector<std::string>>()};
    }
    return run;
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("malformed schsim report: ") + e.what());
  }
}

}  // namespace schsim::reports
