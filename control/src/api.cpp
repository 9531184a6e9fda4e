#include <schsim/control/api.hpp>

#include <boost/beast/core/detail/base64.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <sstream>

namespace schsim::control {
namespace {

using json = nlohmann::json;
using query_map = std::map<std::string, std::string, std::less<>>;

auto json_response(int status, const json& body) -> response {
  return response{status, body.dump(), "application/json"};
}

auto error_response(int status, const std::string& message) -> response {
  return json_response(status, {{"error", message}});
}

auto percent_decode(std::string_view text) -> std::string {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size()) {
      int value = 0;
      const auto* first = text.data() + i + 1;
      if (std::from_chars(first, first + 2, value, 16).ptr == first + 2) {
        out.push_back(static_cast<char>(value));
        i += 2;
      } else {
        out.push_back('%');
      }
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Wall-clock RFC 3339 for the action's times (go-redis decodes them as time.Time).
auto rfc3339(std::int64_t mono_ns) -> std::string {
  if (mono_ns == 0) {
    return {};
  }
  const auto offset = std::chrono::system_clock::now().time_since_epoch() -
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(
                          mono_clock::now().time_since_epoch());
  const auto wall = std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds{mono_ns}) +
      offset};
  const auto secs = std::chrono::system_clock::to_time_t(wall);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << '.' << std::setw(3) << std::setfill('0')
      << ms.count() << 'Z';
  return out.str();
}

auto split_ids(std::string_view text) -> std::vector<std::string> {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (!item.empty()) {
      out.emplace_back(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

// cae-resp-proxy's `encoding`: base64 (the default) or raw.
auto decode_body(const std::string& body, const query_map& query)
    -> std::variant<std::string, std::string> {  // bytes | error
  const auto it = query.find("encoding");
  const std::string encoding = it == query.end() ? "base64" : it->second;
  if (encoding == "raw") {
    return std::variant<std::string, std::string>(std::in_place_index<0>, body);
  }
  if (encoding != "base64") {
    return std::variant<std::string, std::string>(
        std::in_place_index<1>, "encoding must be base64 or raw, not \"" + encoding + "\"");
  }
  std::string text;
  std::ranges::copy_if(body, std::back_inserter(text),
                       [](char c) { return c != '\n' && c != '\r' && c != ' '; });
  const bool valid =
      text.size() % 4 == 0 && std::ranges::all_of(text, [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/' || c == '=';
      });
  if (!valid) {
    return std::variant<std::string, std::string>(std::in_place_index<1>,
                                                  "the body is not valid base64");
  }
  std::string out(boost::beast::detail::base64::decoded_size(text.size()), '\0');
  const auto [written, read] =
      boost::beast::detail::base64::decode(out.data(), text.data(), text.size());
  out.resize(written);
  return std::variant<std::string, std::string>(std::in_place_index<0>, std::move(out));
}

auto parse_json_body(const request& req) -> std::variant<json, std::string> {
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    return std::string("malformed JSON body: ") + e.what();
  }
}

}  // namespace

auto to_string(action_status s) -> std::string_view {
  switch (s) {
    case action_status::pending:
      return "pending";
    case action_status::running:
      return "running";
    case action_status::success:
      return "success";
    case action_status::failed:
      return "failed";
  }
  return "failed";
}

auto action_record::to_json() const -> json {
  json j{{"action_id", id},
         {"type", type},
         {"status", to_string(status)},
         {"error", error.empty() ? json(nullptr) : json(error)},
         {"output", output},
         {"summary", summary},
         {"parameters", parameters}};
  if (start_ns != 0) {
    j["start_time"] = rfc3339(start_ns);
  }
  if (end_ns != 0) {
    j["end_time"] = rfc3339(end_ns);
  }
  return j;
}

auto split_target(std::string_view target) -> std::pair<std::string, query_map> {
  const auto q = target.find('?');
  std::pair<std::string, query_map> out{percent_decode(target.substr(0, q)), {}};
  if (q == std::string_view::npos) {
    return out;
  }
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto item = rest.substr(0, amp);
    const auto eq = item.find('=');
    out.second[percent_decode(item.substr(0, eq))] =
        eq == std::string_view::npos ? std::string{} : percent_decode(item.substr(eq + 1));
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
  }
  return out;
}

auto proxy_connection_id(std::uint64_t id) -> std::string { return "conn_" + std::to_string(id); }

auto parse_proxy_connection_id(std::string_view text) -> std::optional<std::uint64_t> {
  if (text.starts_with("conn_")) {
    text.remove_prefix(5);
  }
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return id;
}

auto proxy_node_id(const served_endpoint& e) -> std::string {
  return e.address() + "@" + std::to_string(e.port);
}

control_api::control_api(backend& b, deployment d, api_options options)
    : backend_(b),
      deployment_(std::move(d)),
      options_(std::move(options)),
      state_(fi_state::initial(deployment_)) {}

auto control_api::find_action(std::string_view id) const -> const action_record* {
  const auto it = actions_.find(id);
  return it == actions_.end() ? nullptr : &it->second;
}

auto control_api::handle(const request& req, time_point now) -> response {
  if (!options_.token.empty() && req.authorization != "Bearer " + options_.token) {
    return error_response(401, "missing or wrong bearer token (Authorization: Bearer <token>)");
  }
  const auto [path, query] = split_target(req.target);
  if (auto r = handle_fault_injector(req, path, query, now)) {
    return *r;
  }
  if (auto r = handle_proxy(req, path, query)) {
    return *r;
  }
  if (path == "/schsim/verdict" && req.method == "GET") {
    return json_response(200, backend_.verdict());
  }
  return error_response(
      404, "no route " + req.method + " " + path + " (docs/control-api.md lists the routes)");
}

void control_api::observe(const timeline::event& e) {
  const auto* st = std::get_if<timeline::step_executed>(&e.what);
  if (st == nullptr) {
    return;
  }
  const auto owner = step_owner_.find(st->step);
  if (owner == step_owner_.end()) {
    return;
  }
  const auto it = actions_.find(owner->second);
  step_owner_.erase(owner);
  if (it == actions_.end()) {
    return;
  }
  it->second.remaining.erase(st->step);
  finish_if_done(it->second, e.t_ns);
}

void control_api::finish_if_done(action_record& a, std::int64_t now_ns) {
  if (a.status == action_status::running && a.remaining.empty()) {
    a.status = action_status::success;
    a.end_ns = now_ns;
  }
}

void control_api::forget_old_actions() {
  while (order_.size() > options_.max_actions) {
    const auto it = actions_.find(order_.front());
    if (it != actions_.end() && it->second.status == action_status::running) {
      break;  // never forget a running action
    }
    if (it != actions_.end()) {
      actions_.erase(it);
    }
    order_.pop_front();
  }
}

auto control_api::handle_fault_injector(const request& req, std::string_view path,
                                        const query_map& query, time_point now)
    -> std::optional<response> {
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  if (path == "/health" && get) {
    return json_response(200, {{"status", "ok"}, {"scenario", deployment_.scenario_id}});
  }
  if (path == "/actions" && get) {
    return json_response(200, {{"action_types", known_action_types()}});
  }
  if (path == "/action" && post) {
    return post_action(req, now);
  }
  if (path == "/action" && get) {
    json list = json::array();
    for (const auto& id : order_) {
      if (const auto* a = find_action(id)) {
        list.push_back({{"job_id", a->id},
                        {"action_id", a->id},
                        {"action_type", a->type},
                        {"status", to_string(a->status)},
                        {"submitted_at", rfc3339(a->submitted_ns)}});
      }
    }
    return json_response(200, {{"actions", list}});
  }
  if (path.starts_with("/action/") && get) {
    const auto id = path.substr(8);
    if (const auto* a = find_action(id)) {
      return json_response(200, a->to_json());
    }
    return error_response(404, "no action with id \"" + std::string(id) + "\"");
  }
  const bool slot_migrate = path == "/slot-migrate";
  if ((slot_migrate || path == "/topology-change-standalone") && get) {
    const auto it = query.find("effect");
    const auto effect = it == query.end() ? std::string{} : it->second;
    auto triggers = slot_migrate ? slot_migrate_triggers(effect, deployment_)
                                 : standalone_triggers(effect, deployment_);
    if (!triggers) {
      std::string list;
      for (const auto e :
           slot_migrate ? known_slot_migrate_effects() : known_standalone_effects()) {
        list += (list.empty() ? "" : ", ") + std::string(e);
      }
      return error_response(400, "effect \"" + effect + "\" is not one of " + list);
    }
    return json_response(200, *triggers);
  }
  if (slot_migrate && post) {
    return post_slot_migrate(query, now);
  }
  if (path == "/rladmin" && post) {
    return start_action("execute_rladmin_command", {{"rladmin_command", req.body}}, now);
  }
  return std::nullopt;
}

auto control_api::post_action(const request& req, time_point now) -> response {
  auto parsed = parse_json_body(req);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    return error_response(400, *error);
  }
  auto& body = std::get<json>(parsed);
  if (!body.is_object()) {
    return error_response(400, "the body must be a JSON object {\"type\", \"parameters\"}, not " +
                                   std::string(body.type_name()));
  }
  if (!body.contains("type") || !body["type"].is_string()) {
    return error_response(400,
                          "the body needs \"type\", a string (one of the types GET /actions "
                          "lists)");
  }
  json params = body.value("parameters", json::object());
  if (!params.is_object()) {
    return error_response(400, "\"parameters\" must be an object");
  }
  return start_action(body["type"].get<std::string>(), std::move(params), now);
}

auto control_api::post_slot_migrate(const query_map& query, time_point now) -> response {
  json params = json::object();
  for (const auto* key : {"effect", "bdb_id", "cluster_index", "source_node", "target_node"}) {
    if (const auto it = query.find(key); it != query.end()) {
      params[key] = it->second;
    }
  }
  // go-redis sends trigger=, its mock reads variant=: accept both.
  for (const auto* key : {"trigger", "variant"}) {
    if (const auto it = query.find(key); it != query.end()) {
      params["trigger"] = it->second;
    }
  }
  return start_action("slot_migrate", std::move(params), now);
}

auto control_api::start_action(std::string type, json params, time_point now) -> response {
  const auto id = "action-" + std::to_string(next_action_);
  auto result = plan_action(id, type, params, deployment_, state_, options_.timing);
  if (const auto* e = std::get_if<plan_error>(&result); e && e->rejected) {
    return error_response(400, e->message);
  }
  ++next_action_;
  auto& a = actions_[id];
  a.id = id;
  a.type = type;
  a.parameters = std::move(params);
  a.submitted_ns = a.start_ns = to_ns(now);
  order_.push_back(id);
  if (const auto* e = std::get_if<plan_error>(&result)) {
    a.status = action_status::failed;
    a.error = e->message;
    a.end_ns = a.start_ns;
  } else {
    auto& plan = std::get<action_plan>(result);
    a.output = std::move(plan.output);
    a.summary = std::move(plan.summary);
    a.status = action_status::running;
    for (const auto& st : plan.steps) {
      a.remaining.insert(st.id);
      step_owner_[st.id] = id;
    }
    if (type == "update_cluster_config" || type == "reset_cluster") {
      backend_.set_maint_notifications(state_.maint_notifications);
    }
    if (!plan.steps.empty()) {
      try {
        // Steps due now run inside this call; observe() may finish the action here.
        backend_.run_steps(std::move(plan.steps));
      } catch (const std::exception& ex) {
        for (const auto& step : a.remaining) {
          step_owner_.erase(step);
        }
        a.remaining.clear();
        a.status = action_status::failed;
        a.error = std::string("the scenario engine refused the steps: ") + ex.what();
        a.end_ns = to_ns(mono_clock::now());
      }
    }
    finish_if_done(a, to_ns(mono_clock::now()));
  }
  json body{{"action_id", id}, {"status", to_string(a.status)}};
  if (!a.error.empty()) {
    body["message"] = a.error;
  }
  forget_old_actions();
  return json_response(200, body);
}

// cae-resp-proxy's /stats (stats = true) and /connections: keyed by node id, every node listed.
auto control_api::node_view(bool stats) const -> response {
  const std::string_view path = stats ? "/stats" : "/connections";
  json out = json::object();
  for (const auto& e : deployment_.endpoints) {
    out[proxy_node_id(e)] = path == "/stats" ? json{{"activeConnections", 0},
                                                    {"totalConnections", 0},
                                                    {"globalInterceptors", json::array()},
                                                    {"connections", json::array()}}
                                             : json::array();
  }
  for (const auto& c : backend_.connections()) {
    const auto* e = deployment_.find(c.endpoint);
    if (e == nullptr) {
      continue;
    }
    auto& node = out[proxy_node_id(*e)];
    if (path == "/connections") {
      node.push_back(proxy_connection_id(c.id));
      continue;
    }
    const auto colon = c.peer.rfind(':');
    int port = 0;
    if (colon != std::string::npos) {
      std::from_chars(c.peer.data() + colon + 1, c.peer.data() + c.peer.size(), port);
    }
    node["connections"].push_back({{"id", proxy_connection_id(c.id)},
                                   {"clientAddress", c.peer.substr(0, colon)},
                                   {"clientPort", port},
                                   {"connectedAt", rfc3339(c.opened_ns)},
                                   {"interceptors", json::array()}});
    node["activeConnections"] = node["connections"].size();
    node["totalConnections"] = node["connections"].size();
  }
  if (path == "/stats") {
    for (auto& [node, node_stats] : out.items()) {
      for (const auto& i : interceptors_) {
        node_stats["globalInterceptors"].push_back({{"name", i.name}});
      }
    }
  }
  return json_response(200, out);
}

auto control_api::handle_proxy(const request& req, std::string_view path, const query_map& query)
    -> std::optional<response> {
  const bool get = req.method == "GET";
  const bool post = req.method == "POST";
  const bool del = req.method == "DELETE";
  if (path == "/nodes" && get) {
    json ids = json::array();
    for (const auto& e : deployment_.endpoints) {
      ids.push_back(proxy_node_id(e));
    }
    return json_response(200, {{"ids", ids}});
  }
  if (path == "/nodes" && post) {
    return error_response(501,
                          "schsim cannot add a node at run time: declare every node in the "
                          "scenario's topology (a spare starts with state = \"down\")");
  }
  if ((path == "/stats" || path == "/connections") && get) {
    return node_view(path == "/stats");
  }
  if (path.starts_with("/send-to-client/") && post) {
    const auto id = parse_proxy_connection_id(path.substr(16));
    return send_to(req, id ? std::vector<std::uint64_t>{*id} : std::vector<std::uint64_t>{0},
                   query);
  }
  if (path == "/send-to-clients" && post) {
    const auto it = query.find("connectionIds");
    const auto names = it == query.end() ? std::vector<std::string>{} : split_ids(it->second);
    if (names.empty()) {
      return error_response(400, "connectionIds is required: a comma-separated list of ids");
    }
    std::vector<std::uint64_t> ids;
    const auto open = backend_.connections();
    for (const auto& n : names) {
      const auto id = parse_proxy_connection_id(n);
      // cae-resp-proxy drops ids it does not know.
      if (id && std::ranges::find(open, *id, &client_connection::id) != open.end()) {
        ids.push_back(*id);
      }
    }
    return send_to(req, ids, query);
  }
  if (path == "/send-to-all-clients" && post) {
    std::vector<std::uint64_t> ids;
    for (const auto& c : backend_.connections()) {
      ids.push_back(c.id);
    }
    return send_to(req, ids, query);
  }
  if (path.starts_with("/connections/") && del) {
    const auto name = std::string(path.substr(13));
    const auto id = parse_proxy_connection_id(name);
    const bool closed = id && backend_.close_connection(*id, "closed by DELETE /connections");
    return json_response(200, {{"success", closed}, {"connectionId", name}});
  }
  if (path == "/interceptors" && post) {
    return post_interceptor(req);
  }
  if (path == "/scenarios" && post) {
    return post_scenarios(req);
  }
  return std::nullopt;
}

auto control_api::send_to(const request& req, const std::vector<std::uint64_t>& ids,
                          const query_map& query) -> response {
  auto decoded = decode_body(req.body, query);
  if (decoded.index() == 1) {
    return error_response(400, std::get<1>(decoded));
  }
  const auto& bytes = std::get<0>(decoded);
  json results = json::array();
  for (const auto id : ids) {
    const auto name = proxy_connection_id(id);
    if (backend_.send_to_connection(id, bytes, "control API send-to-client")) {
      results.push_back({{"success", true}, {"connectionId", name}});
    } else {
      results.push_back(
          {{"success", false}, {"error", "Connection not found"}, {"connectionId", name}});
    }
  }
  // One connection: the bare SendResult, as cae-resp-proxy's /send-to-client/:id answers.
  if (req.target.starts_with("/send-to-client/")) {
    auto single = results.at(0);
    if (single["success"] == false) {
      single["connectionId"] = std::string(split_target(req.target).first.substr(16));
    }
    return json_response(200, single);
  }
  return json_response(200, {{"results", results}});
}

auto control_api::post_interceptor(const request& req) -> response {
  auto parsed = parse_json_body(req);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    return error_response(400, *error);
  }
  const auto& body = std::get<json>(parsed);
  for (const auto* key : {"name", "match", "response", "encoding"}) {
    if (!body.is_object() || !body.contains(key) || !body[key].is_string()) {
      return error_response(400, std::string("interceptor needs \"") + key + "\", a string");
    }
  }
  const query_map encoding{{"encoding", body["encoding"].get<std::string>()}};
  auto match = decode_body(body["match"].get<std::string>(), encoding);
  auto reply = decode_body(body["response"].get<std::string>(), encoding);
  if (match.index() == 1 || reply.index() == 1) {
    return error_response(
        400, "interceptor: " + (match.index() == 1 ? std::get<1>(match) : std::get<1>(reply)));
  }
  interceptor i{body["name"].get<std::string>(), std::get<0>(match), std::get<0>(reply)};
  // The newest runs first; the same name replaces the old one (cae-resp-proxy's semantics).
  std::erase_if(interceptors_, [&](const interceptor& old) { return old.name == i.name; });
  interceptors_.insert(interceptors_.begin(), i);
  backend_.set_interceptors(interceptors_);
  return json_response(200, {{"success", true}, {"name", i.name}});
}

auto control_api::post_scenarios(const request& req) -> response {
  (void)req;
  return error_response(501,
                        "POST /scenarios (canned replies for the next N commands) is not "
                        "implemented by schsim; use POST /interceptors or a scenario file");
}

}  // namespace schsim::control
