// schsim-refclient-driver: the reference client behind the harness's JSON-lines driver protocol
// (docs/driver-protocol.md). One io_context thread runs the client; the main thread reads stdin
// and posts each line to it, so commands stay open-loop: a slow command never blocks reading
// the next one. stdout carries protocol lines only (under a mutex); stderr is free-form logging.

#include <schsim/core/clock.hpp>
#include <schsim/refclient/broken.hpp>
#include <schsim/refclient/client.hpp>
#include <schsim/refclient/cluster_client.hpp>
#include <schsim/refclient/config.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "blocking_consumer.hpp"

#ifndef SCHSIM_VERSION
#define SCHSIM_VERSION "0.0.0"
#endif

namespace {

using json = nlohmann::json;
namespace asio = boost::asio;
namespace rc = schsim::refclient;

auto now_ns() -> std::int64_t { return schsim::to_ns(schsim::mono_clock::now()); }

class output {
 public:
  void line(const json& j) {
    const auto text = j.dump(-1, ' ', false, json::error_handler_t::replace);
    const std::lock_guard lock{mutex_};
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

 private:
  std::mutex mutex_;
};

/// "a short rendering of the reply (string, integer as decimal, nil, array as JSON)".
auto render_json(const schsim::resp3::value& v) -> json;

auto render(const schsim::resp3::value& v) -> std::string {
  using schsim::resp3::type;
  switch (v.kind) {
    case type::null:
      return "nil";
    case type::integer:
      return std::to_string(v.integer);
    case type::boolean:
      return v.boolean ? "true" : "false";
    case type::array:
    case type::set:
    case type::push:
    case type::map:
      return render_json(v).dump(-1, ' ', false, json::error_handler_t::replace);
    default:
      return v.text;
  }
}

auto render_json(const schsim::resp3::value& v) -> json {
  using schsim::resp3::type;
  switch (v.kind) {
    case type::null:
      return nullptr;
    case type::integer:
      return v.integer;
    case type::boolean:
      return v.boolean;
    case type::array:
    case type::set:
    case type::push: {
      json a = json::array();
      for (const auto& e : v.elements) a.push_back(render_json(e));
      return a;
    }
    case type::map: {
      json o = json::object();
      for (std::size_t i = 0; i + 1 < v.elements.size(); i += 2) {
        o[render(v.elements[i])] = render_json(v.elements[i + 1]);
      }
      return o;
    }
    default:
      return v.text;
  }
}

auto to_json(const rc::client_event::field& f) -> json {
  return std::visit([](const auto& x) { return json(x); }, f);
}

/// What configure decided: the client's configuration, and whether it runs in cluster mode.
struct driver_config {
  rc::resolved_config client;
  bool cluster = false;
};

struct settings_error {
  std::string error_class;  // "config" or "unsupported"
  std::string feature;
  std::string message;
};

auto millis(const json& s, const char* key, std::chrono::milliseconds& out) -> void {
  if (s.contains(key) && !s[key].is_null())
    out = std::chrono::milliseconds{s[key].get<std::int64_t>()};
}

/// Maps the harness settings onto the client configuration.
auto make_config(const json& msg, const rc::broken_set& broken)
    -> std::variant<driver_config, settings_error> {
  rc::client_config c;
  bool cluster = false;
  c.broken = broken;
  try {
    const auto& ep = msg.at("endpoint");
    c.host = ep.at("host").get<std::string>();
    c.port = ep.at("port").get<std::uint16_t>();
    const json s = msg.value("settings", json::object());
    if (msg.contains("tls") && !msg["tls"].is_null()) {
      const auto& t = msg["tls"];
      c.tls =
          rc::tls_config{t.at("ca_file").get<std::string>(), t.at("server_name").get<std::string>(),
                         t.value("cert_file", std::string{}), t.value("key_file", std::string{})};
      c.security = rc::transport_security::tls;
    }
    // The endpoint is then the seed node: the slot map comes from its CLUSTER SLOTS.
    cluster = s.value("cluster", false);
    if (s.contains("protocol") && !s["protocol"].is_null()) c.protocol = s["protocol"].get<int>();
    if (s.contains("mode") && !s["mode"].is_null()) {
      const auto m = rc::parse_maint_mode(s["mode"].get<std::string>());
      if (!m) return settings_error{"config", "", "unknown mode " + s["mode"].dump()};
      c.maint.mode = *m;
    }
    if (s.contains("endpoint_type") && !s["endpoint_type"].is_null()) {
      const auto t = rc::parse_endpoint_type(s["endpoint_type"].get<std::string>());
      if (!t)
        return settings_error{"config", "", "unknown endpoint_type " + s["endpoint_type"].dump()};
      c.maint.moving_endpoint_type = *t;
    }
    std::chrono::milliseconds timeout{0};
    millis(s, "timeout_ms", timeout);
    if (timeout.count() > 0) c.read_timeout = c.write_timeout = timeout;
    millis(s, "read_timeout_ms", c.read_timeout);
    millis(s, "write_timeout_ms", c.write_timeout);
    millis(s, "connect_timeout_ms", c.dial_timeout);
    millis(s, "relaxed_timeout_ms", c.maint.relaxed_timeout);
    if (c.maint.relaxed_timeout.count() <= 0) {
      // -1 disables relaxation (redis-py): relaxed == normal makes every window a no-op.
      c.maint.relaxed_timeout = c.read_timeout;
    }
    millis(s, "post_handoff_relaxed_ms", c.maint.post_handoff_relaxed_duration);
    millis(s, "handoff_timeout_ms", c.maint.handoff_timeout);
    millis(s, "relaxed_window_max_ms", c.maint.relaxed_window_max_duration);
    millis(s, "queue_timeout_ms", c.queue_timeout);
    if (s.contains("pool_size") && !s["pool_size"].is_null())
      c.pool_size = s["pool_size"].get<int>();
    if (s.contains("min_idle_conns") && !s["min_idle_conns"].is_null()) {
      c.min_idle_conns = s["min_idle_conns"].get<int>();
    }
    if (s.contains("grow_at_outstanding") && !s["grow_at_outstanding"].is_null()) {
      c.grow_at_outstanding = s["grow_at_outstanding"].get<int>();
    }
    if (s.contains("max_handoff_retries") && !s["max_handoff_retries"].is_null()) {
      c.maint.max_handoff_retries = s["max_handoff_retries"].get<int>();
    }
    if (s.contains("username") && s["username"].is_string())
      c.username = s["username"].get<std::string>();
    if (s.contains("password") && s["password"].is_string())
      c.password = s["password"].get<std::string>();
    if (s.value("retry_idempotent", false)) c.retry = rc::retry_policy::idempotent_only;
  } catch (const json::exception& e) {
    return settings_error{"config", "", std::string{"bad configure message: "} + e.what()};
  }
  auto r = rc::resolve(c);
  if (auto* e = std::get_if<rc::config_error>(&r)) return settings_error{"config", "", e->message};
  return driver_config{std::get<rc::resolved_config>(std::move(r)), cluster};
}

/// Everything here runs on the io_context thread.
class session {
 public:
  session(asio::io_context& io, output& out, rc::broken_set broken, std::promise<void>& finished)
      : io_{io}, out_{out}, broken_{broken}, finished_{finished} {}

  void handle(const json& msg) {
    const auto type = msg.value("type", std::string{});
    if (type == "hello") return on_hello(msg);
    if (type == "configure") return on_configure(msg);
    if (type == "connect") return on_connect();
    if (type == "command") return on_command(msg);
    if (type == "subscribe") return on_subscribe(msg);
    if (type == "block") return on_block(msg);
    if (type == "transaction") return on_transaction(msg);
    if (type == "shutdown") return on_shutdown();
    // Unknown types are ignored (forward compatibility), but say so on stderr.
    std::cerr << "refclient-driver: ignoring message type '" << type << "'\n";
  }

  void on_eof() {
    shutdown_clients();
    asio::post(io_, [this] { finish(); });
  }

 private:
  void on_hello(const json&) {
    json broken = json::array();
    for (auto m : rc::all_broken_modes()) {
      if (broken_.has(m)) broken.push_back(std::string{rc::to_string(m)});
    }
    out_.line({{"type", "hello"},
               {"protocol", 1},
               {"client", "schsim-refclient"},
               {"version", SCHSIM_VERSION},
               {"language", "c++"},
               {"capabilities",
                {"maint_notifications", "relaxed_timeouts", "handoff", "moving_null_endpoint",
                 "mode_auto", "mode_enabled", "resp2", "auth", "reconnect", "pipelining", "cluster",
                 "tls", "pubsub", "sharded_pubsub", "blocking", "transactions"}},
               {"timeouts", {{"reply", "command"}}},
               {"broken", broken}});
  }

  void on_configure(const json& msg) {
    auto r = make_config(msg, broken_);
    if (auto* e = std::get_if<settings_error>(&r)) {
      if (e->error_class == "unsupported") {
        out_.line({{"type", "unsupported"}, {"feature", e->feature}, {"message", e->message}});
      } else {
        out_.line({{"type", "error"}, {"error_class", "config"}, {"message", e->message}});
      }
      return;
    }
    config_ = std::get<driver_config>(std::move(r));
    out_.line({{"type", "configured"}});
  }

  void on_connect() {
    if (!config_) {
      out_.line({{"type", "connect_failed"},
                 {"t_ns", now_ns()},
                 {"error_class", "other"},
                 {"message", "connect before configure"}});
      return;
    }
    shutdown_clients();
    client_.reset();
    cluster_.reset();
    auto sink = [this](const rc::client_event& e) { on_event(e); };
    auto on_connected = [this](std::optional<rc::command_error> e) {
      if (!e) {
        out_.line({{"type", "connected"}, {"t_ns", now_ns()}});
      } else {
        out_.line({{"type", "connect_failed"},
                   {"t_ns", now_ns()},
                   {"error_class", std::string{rc::to_string(e->kind)}},
                   {"message", e->message}});
      }
    };
    if (config_->cluster) {
      cluster_ = std::make_unique<rc::cluster_client>(io_.get_executor(), config_->client, sink);
      cluster_->connect(on_connected);
    } else {
      client_ = std::make_unique<rc::client>(io_.get_executor(), config_->client, sink);
      client_->connect(on_connected);
    }
  }

  void shutdown_clients() {
    if (blocking_) blocking_->stop();  // before the client cancels the pending call
    if (client_) client_->shutdown();
    if (cluster_) cluster_->shutdown();
  }

  void on_command(const json& msg) {
    const json id = msg.value("id", json{});
    const auto sent = now_ns();
    std::vector<std::string> args;
    try {
      for (const auto& a : msg.at("args")) {
        args.push_back(a.is_string() ? a.get<std::string>() : a.dump());
      }
    } catch (const json::exception& e) {
      out_.line({{"type", "result"},
                 {"id", id},
                 {"ok", false},
                 {"error_class", "other"},
                 {"message", std::string{"bad command: "} + e.what()},
                 {"sent_ns", sent},
                 {"t_ns", now_ns()}});
      return;
    }
    if (!client_ && !cluster_) {
      out_.line({{"type", "result"},
                 {"id", id},
                 {"ok", false},
                 {"error_class", "connection"},
                 {"message", "not connected"},
                 {"sent_ns", sent},
                 {"t_ns", now_ns()}});
      return;
    }
    auto done = [this, id, sent](rc::command_result r) {
      json line{{"type", "result"}, {"id", id}};
      if (const auto* v = std::get_if<schsim::resp3::value>(&r)) {
        line["ok"] = true;
        line["reply"] = render(*v);
      } else {
        const auto& e = std::get<rc::command_error>(r);
        line["ok"] = false;
        line["error_class"] = std::string{rc::to_string(e.kind)};
        line["message"] = e.message;
      }
      line["sent_ns"] = sent;
      line["t_ns"] = now_ns();
      out_.line(line);
    };
    if (cluster_) {
      cluster_->execute(std::move(args), std::move(done));
    } else {
      client_->execute(std::move(args), std::move(done));
    }
  }

  /// A MULTI/EXEC block through the client's transaction API (standalone client only: the
  /// reference cluster client has no transactions).
  void on_transaction(const json& msg) {
    const json id = msg.value("id", json{});
    const auto sent = now_ns();
    auto answer = [this, id, sent](rc::command_result r) {
      json line{{"type", "transaction_result"}, {"id", id}};
      const auto* v = std::get_if<schsim::resp3::value>(&r);
      if (v != nullptr && v->kind == schsim::resp3::type::array) {
        line["ok"] = true;
        json replies = json::array();
        for (const auto& e : v->elements) replies.push_back(render(e));
        line["replies"] = replies;
      } else if (v != nullptr) {
        line["ok"] = false;  // EXEC answered null: a watched key changed
        line["error_class"] = "aborted";
        line["message"] = "EXEC answered " + render(*v);
      } else {
        const auto& e = std::get<rc::command_error>(r);
        line["ok"] = false;
        line["error_class"] = std::string{rc::to_string(e.kind)};
        line["message"] = e.message;
      }
      line["sent_ns"] = sent;
      line["t_ns"] = now_ns();
      out_.line(line);
    };
    rc::transaction_block block;
    try {
      for (const auto& k : msg.value("watch", json::array()))
        block.watch.push_back(k.get<std::string>());
      for (const auto& c : msg.at("commands")) {
        block.commands.push_back(c.get<std::vector<std::string>>());
      }
    } catch (const json::exception& e) {
      return answer(
          rc::command_error{rc::error_class::other, std::string{"bad transaction: "} + e.what()});
    }
    if (!client_) {
      return answer(rc::command_error{
          cluster_ ? rc::error_class::other : rc::error_class::connection,
          cluster_ ? "the reference cluster client has no transactions" : "not connected"});
    }
    client_->transaction(std::move(block), std::move(answer));
  }

  /// The workload's subscription: the standalone client's subscribe(), or in cluster mode the
  /// cluster client's sharded Pub/Sub (kind shard only: it has no cluster-wide SUBSCRIBE).
  void on_subscribe(const json& msg) {
    const auto failed = [this](std::string_view error_class, std::string message) {
      out_.line({{"type", "subscribe_failed"},
                 {"t_ns", now_ns()},
                 {"error_class", error_class},
                 {"message", std::move(message)}});
    };
    const auto kind_name = msg.value("kind", std::string{"channel"});
    if (!client_ && !(cluster_ && kind_name == "shard")) {
      return failed("other", cluster_ ? "the reference cluster client has only sharded Pub/Sub"
                                      : "subscribe before connect");
    }
    const auto kind = kind_name == "pattern" ? rc::subscription_kind::pattern
                      : kind_name == "shard" ? rc::subscription_kind::shard
                                             : rc::subscription_kind::channel;
    std::vector<std::string> names;
    for (const auto& c : msg.value("channels", json::array())) {
      if (c.is_string()) names.push_back(c.get<std::string>());
    }
    auto on_message = [this](rc::pubsub_message m) {
      json line{{"type", "message"}, {"channel", m.channel}, {"payload", m.payload}};
      line["pattern"] = m.pattern ? json(*m.pattern) : json(nullptr);
      line["t_ns"] = now_ns();
      out_.line(line);
    };
    auto on_done = [this, failed](std::optional<rc::command_error> e) {
      if (!e) {
        out_.line({{"type", "subscribed"}, {"t_ns", now_ns()}});
      } else {
        failed(rc::to_string(e->kind), e->message);
      }
    };
    if (cluster_) {
      return cluster_->ssubscribe(std::move(names), std::move(on_message), std::move(on_done));
    }
    client_->subscribe(kind, std::move(names), std::move(on_message), std::move(on_done));
  }

  /// The workload's blocking consumer (standalone client only: the reference cluster client has
  /// no execute_blocking).
  void on_block(const json& msg) {
    const auto failed = [this](std::string message) {
      out_.line({{"type", "block_failed"},
                 {"t_ns", now_ns()},
                 {"error_class", "other"},
                 {"message", std::move(message)}});
    };
    if (!client_) {
      return failed(cluster_ ? "the reference cluster client has no blocking consumer"
                             : "block before connect");
    }
    if (blocking_) return failed("a blocking consumer is already running");
    blocking_ = std::make_unique<schsim::refclient_driver::blocking_consumer>(
        *client_, [this](const json& line) { out_.line(line); }, [] { return now_ns(); });
    if (auto why = blocking_->start(msg)) {
      blocking_.reset();
      return failed(*why);
    }
    out_.line({{"type", "block_started"}, {"t_ns", now_ns()}});
  }

  void on_shutdown() {
    shutdown_clients();
    // Posted: the cancelled completions queued by shutdown() are written before `bye`.
    asio::post(io_, [this] {
      json stats = json::object();
      const auto pool_stats = [](const rc::client_stats& s) -> json {
        return {{"connections_opened", s.connections_opened},
                {"moving_received", s.moving_received},
                {"handoffs_started", s.handoffs_started},
                {"handoffs_completed", s.handoffs_completed},
                {"handoffs_failed", s.handoffs_failed},
                {"reconnects", s.reconnects},
                {"commands_retried", s.commands_retried}};
      };
      if (client_) stats = pool_stats(client_->stats());
      if (cluster_) {
        const auto c = cluster_->stats();
        stats = pool_stats(c.nodes);
        stats["moved"] = c.moved;
        stats["asked"] = c.asked;
        stats["smigrated_received"] = c.smigrated_received;
        stats["smigrated_duplicates"] = c.smigrated_duplicates;
        stats["topology_reloads"] = c.topology_reloads;
        stats["topology_reload_failures"] = c.topology_reload_failures;
        stats["nodes_closed"] = c.nodes_closed;
        stats["redirect_limit_hit"] = c.redirect_limit_hit;
        stats["shard_resubscribes"] = c.shard_resubscribes;
      }
      out_.line({{"type", "bye"}, {"stats", stats}});
      finish();
    });
  }

  void on_event(const rc::client_event& e) {
    json detail = json::object();
    for (const auto& [k, v] : e.detail) detail[k] = to_json(v);
    out_.line({{"type", "event"}, {"t_ns", now_ns()}, {"name", e.name}, {"detail", detail}});
  }

  void finish() {
    if (done_) return;
    done_ = true;
    finished_.set_value();
  }

  asio::io_context& io_;
  output& out_;
  rc::broken_set broken_;
  std::promise<void>& finished_;
  std::optional<driver_config> config_;
  std::unique_ptr<rc::client> client_;
  std::unique_ptr<rc::cluster_client> cluster_;
  std::unique_ptr<schsim::refclient_driver::blocking_consumer> blocking_;
  bool done_ = false;
};

void usage(std::ostream& os) {
  os << "usage: schsim-refclient-driver [--broken=MODE[,MODE...]]... [--list-broken]\n"
        "Speaks the schsim driver protocol (JSON lines) on stdin/stdout.\n";
}

}  // namespace

auto main(int argc, char** argv) -> int {
  rc::broken_set broken;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg{argv[i]};
    if (arg == "--list-broken") {
      for (auto m : rc::all_broken_modes()) {
        std::cout << rc::to_string(m) << "\t" << rc::describe(m) << "\n";
      }
      return 0;
    }
    if (arg == "--help" || arg == "-h") {
      usage(std::cout);
      return 0;
    }
    std::string_view list;
    if (arg.starts_with("--broken=")) {
      list = arg.substr(9);
    } else if (arg == "--broken" && i + 1 < argc) {
      list = argv[++i];
    } else {
      std::cerr << "schsim-refclient-driver: unknown argument '" << arg << "'\n";
      usage(std::cerr);
      return 2;
    }
    while (!list.empty()) {
      const auto comma = list.find(',');
      const auto name = list.substr(0, comma);
      const auto mode = rc::parse_broken_mode(name);
      if (!mode) {
        std::cerr << "schsim-refclient-driver: unknown broken mode '" << name
                  << "' (see --list-broken)\n";
        return 2;
      }
      broken.set(*mode);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
  }

  asio::io_context io{1};
  auto work = asio::make_work_guard(io);
  output out;
  std::promise<void> finished;
  auto finished_future = finished.get_future();
  session s{io, out, broken, finished};
  std::thread io_thread{[&io] { io.run(); }};

  // stdin is read on its own thread: a blocking getline must never stall the client.
  std::thread reader{[&] {
    std::string text;
    while (std::getline(std::cin, text)) {
      if (text.empty()) continue;
      json msg;
      try {
        msg = json::parse(text);
      } catch (const json::exception& e) {
        out.line({{"type", "error"},
                  {"error_class", "other"},
                  {"message", std::string{"not JSON: "} + e.what()}});
        continue;
      }
      const bool last = msg.value("type", std::string{}) == "shutdown";
      asio::post(io, [&s, msg = std::move(msg)] { s.handle(msg); });
      if (last) return;
    }
    asio::post(io, [&s] { s.on_eof(); });
  }};

  finished_future.wait();
  work.reset();
  io.stop();
  io_thread.join();
  std::fflush(stdout);
  // The reader may still be blocked in getline on an open stdin; do not wait for it.
  reader.detach();
  std::_Exit(0);
}
