#pragma once
/**
 * @file
 * @brief The control API's request routing, without sockets.
 *
 * control_api::handle() takes one parsed HTTP request and answers it: the fault injector's
 * routes (`/action`, `/slot-migrate`, ...; docs/control-api.md), cae-resp-proxy's routes
 * (`/stats`, `/connections`, `/send-to-*`, `/interceptors`, `/nodes`) and schsim's own
 * (`/schsim/verdict`). It acts through a `backend`, which the live server implements over the
 * simulator and the scenario engine and tests implement with a fake, so every mapping is
 * tested without a socket. http_server.hpp puts it on a Beast listener.
 */

#include <schsim/control/fault_injector.hpp>
#include <schsim/core/clock.hpp>
#include <schsim/core/scenario/model.hpp>
#include <schsim/core/timeline/event.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace schsim::control {

struct request {
  std::string method;  ///< "GET", "POST", "DELETE", ...
  std::string target;  ///< path and query, e.g. "/action/3?x=1"
  std::string body;
  std::string content_type;
  std::string authorization;  ///< the Authorization header's value
};

struct response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

/// One client connection, as cae-resp-proxy's /stats and /connections show it.
struct client_connection {
  std::uint64_t id = 0;
  std::string endpoint;
  std::string peer;  ///< "127.0.0.1:54321"
  std::int64_t opened_ns = 0;
};

/// A canned reply for a command whose whole RESP message equals `match` (case-insensitive),
/// as cae-resp-proxy's POST /interceptors installs it.
struct interceptor {
  std::string name;
  std::string match;
  std::string response;
};

/// What the control API acts on. Called on the server's executor only.
class backend {
 public:
  virtual ~backend() = default;
  /// Hands already-expanded steps to the scenario engine (due "now"); throws
  /// std::invalid_argument when the engine refuses them.
  virtual void run_steps(std::vector<scenario::step> steps) = 0;
  /// Server-side switch for every maintenance push (update_cluster_config).
  virtual void set_maint_notifications(bool enabled) = 0;
  [[nodiscard]] virtual auto connections() const -> std::vector<client_connection> = 0;
  /// Writes `bytes` to the connection at a frame boundary; false when it is not open.
  virtual auto send_to_connection(std::uint64_t id, const std::string& bytes,
                                  const std::string& label) -> bool = 0;
  /// Closes the connection (FIN); false when it is not open.
  virtual auto close_connection(std::uint64_t id, const std::string& reason) -> bool = 0;
  /// Replaces the interceptors (newest first).
  virtual void set_interceptors(std::vector<interceptor> list) = 0;
  /// The server-side verdict over what was served so far (the report's JSON).
  virtual auto verdict() -> nlohmann::json = 0;
};

enum class action_status { pending, running, success, failed };
auto to_string(action_status s) -> std::string_view;

/// One fault-injector action and how it went.
struct action_record {
  std::string id;
  std::string type;
  nlohmann::json parameters;
  action_status status = action_status::pending;
  nlohmann::json output = nlohmann::json::object();
  std::string error;
  std::string summary;
  /// Steps not executed yet; the action succeeds when none is left.
  std::set<std::string, std::less<>> remaining;
  std::int64_t submitted_ns = 0;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;

  [[nodiscard]] auto to_json() const -> nlohmann::json;
};

struct api_options {
  /// Non-empty: every request must carry `Authorization: Bearer <token>` (else 401).
  std::string token;
  /// Request bodies above this get 413 (enforced by the HTTP layer while reading).
  std::size_t max_body_bytes = 1024 * 1024;
  /// Finished actions kept for GET /action/{id}; the oldest finished ones go first.
  std::size_t max_actions = 10000;
  fi_timing timing;
};

class control_api {
 public:
  control_api(backend& b, deployment d, api_options options = {});

  /// Answers one request; `now` stamps new actions.
  auto handle(const request& req, time_point now) -> response;
  /// Feed every recorded event (step_executed ends actions).
  void observe(const timeline::event& e);

  [[nodiscard]] auto find_action(std::string_view id) const -> const action_record*;
  [[nodiscard]] auto state() const -> const fi_state& { return state_; }
  [[nodiscard]] auto options() const -> const api_options& { return options_; }

 private:
  struct route;
  auto handle_fault_injector(const request& req, std::string_view path,
                             const std::map<std::string, std::string, std::less<>>& query,
                             time_point now) -> std::optional<response>;
  auto handle_proxy(const request& req, std::string_view path,
                    const std::map<std::string, std::string, std::less<>>& query)
      -> std::optional<response>;
  [[nodiscard]] auto node_view(bool stats) const -> response;
  auto post_action(const request& req, time_point now) -> response;
  auto start_action(std::string type, nlohmann::json params, time_point now) -> response;
  auto post_slot_migrate(const std::map<std::string, std::string, std::less<>>& query,
                         time_point now) -> response;
  auto send_to(const request& req, const std::vector<std::uint64_t>& ids,
               const std::map<std::string, std::string, std::less<>>& query) -> response;
  auto post_interceptor(const request& req) -> response;
  auto post_scenarios(const request& req) -> response;
  void finish_if_done(action_record& a, std::int64_t now_ns);
  void forget_old_actions();

  backend& backend_;
  deployment deployment_;
  api_options options_;
  fi_state state_;
  std::uint64_t next_action_ = 1;
  std::map<std::string, action_record, std::less<>> actions_;
  std::deque<std::string> order_;
  /// step id -> action id, for steps not executed yet.
  std::map<std::string, std::string, std::less<>> step_owner_;
  std::vector<interceptor> interceptors_;
};

/// "/a/b?x=1&y=%20" -> path "/a/b", query {x: "1", y: " "}.
auto split_target(std::string_view target)
    -> std::pair<std::string, std::map<std::string, std::string, std::less<>>>;

/// "conn_<id>", cae-resp-proxy's connection id form, and back.
auto proxy_connection_id(std::uint64_t id) -> std::string;
auto parse_proxy_connection_id(std::string_view text) -> std::optional<std::uint64_t>;
/// cae-resp-proxy's node id: "<host>:<port>@<port>" (the simulator is its own target).
auto proxy_node_id(const served_endpoint& e) -> std::string;

}  // namespace schsim::control
