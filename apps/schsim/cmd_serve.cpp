// `schsim serve [scenario]`: the simulator with a scenario's timeline, for any external client,
// optionally with the control API (fault injector, cae-resp-proxy, verdict; docs/control-api.md).
#include <schsim/control/api.hpp>
#include <schsim/control/http_server.hpp>
#include <schsim/control/live_backend.hpp>
#include <schsim/core/clock.hpp>
#include <schsim/core/scenario/expand.hpp>
#include <schsim/core/timeline/recorder.hpp>
#include <schsim/engine/driver.hpp>
#include <schsim/reports/files.hpp>
#include <schsim/reports/json.hpp>
#include <schsim/reports/timeline_writer.hpp>
#include <schsim/scenario_io/load.hpp>
#include <schsim/simulator/certificates.hpp>
#include <schsim/simulator/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"
#include "serve_verdict.hpp"

namespace schsim::app {
namespace {

namespace fs = std::filesystem;
namespace sc = schsim::scenario;
namespace tl = schsim::timeline;

// The scenario `serve` runs without one: a single SCH-enabled endpoint and no timeline.
auto default_scenario() -> sc::scenario {
  sc::scenario s;
  s.meta.id = "default";
  s.meta.title = "one SCH-enabled endpoint, no timeline";
  s.topo.start = "node-a";
  s.topo.endpoints.push_back(sc::endpoint{.name = "node-a"});
  return s;
}

// With the control API and no scenario: a database endpoint and a second node on another
// loopback address and the same port (as Redis Enterprise nodes serve one database port), so a
// fault injector `bind` has somewhere to move the endpoint to.
auto default_control_scenario() -> sc::scenario {
  auto s = default_scenario();
  s.meta.id = "default-fault-injector";
  s.meta.title = "a database endpoint on node-a, node-b ready for bind, no timeline";
  s.topo.endpoints.push_back(
      sc::endpoint{.name = "node-b", .host = "127.0.0.2", .same_port_as = "node-a"});
  return s;
}

struct serve_options {
  std::string scenario;
  std::optional<std::uint64_t> seed;
  bool loop = false;
  std::string loop_pause = "1s";
  std::string duration;
  bool exit_when_done = false;
  std::string endpoints_json;
  std::string timeline_jsonl;
  std::vector<std::string> ports;  // name=port
  std::string host;
  std::string upstream;  // HOST:PORT: proxy mode
  bool no_record_commands = false;
  std::string control;  // HOST:PORT of the control API; empty: off
  std::string control_token;
  std::size_t control_max_body = 1024 * 1024;
  std::string report_dir;
  std::string tls_dir;  // where the run's certificates go (TLS endpoints); empty: a temp dir
  std::string command_line;
  bool keep_timeline = false;
};

// `--upstream 127.0.0.1:6379` -> the proxy mode's upstream; nullopt (and a message) when bad.
auto parse_upstream(const std::string& text) -> std::optional<simulator::upstream_config> {
  const auto colon = text.rfind(':');
  int port = -1;
  if (colon != std::string::npos && colon > 0) {
    try {
      std::size_t used = 0;
      port = std::stoi(text.substr(colon + 1), &used);
      if (used != text.size() - colon - 1) {
        port = -1;
      }
    } catch (const std::exception&) {
    }
  }
  boost::system::error_code ec;
  if (port > 0) {
    (void)boost::asio::ip::make_address(text.substr(0, colon), ec);
  }
  if (port <= 0 || port > 65535 || ec) {
    std::cerr << "schsim serve: --upstream " << text << ": expected IP:PORT, e.g. 127.0.0.1:6379\n";
    return std::nullopt;
  }
  return simulator::upstream_config{text.substr(0, colon), static_cast<std::uint16_t>(port)};
}

struct control_address {
  std::string host;
  std::uint16_t port = 0;
};

// Written to a temporary name and renamed, so a script polling for the file never reads half.
void write_endpoints_json(const fs::path& path, const sc::scenario& s, std::uint64_t seed,
                          const std::vector<simulator::endpoint_info>& endpoints,
                          const std::optional<control_address>& control) {
  nlohmann::json j{{"scenario", s.meta.id},
                   {"suite_version", s.meta.suite_version},
                   {"seed", seed},
                   {"start", s.topo.start},
                   {"endpoints", nlohmann::json::array()}};
  for (const auto& e : endpoints) {
    j["endpoints"].push_back(
        {{"name", e.name}, {"host", e.host}, {"port", e.port}, {"address", e.address()}});
  }
  if (control) {
    const auto address = control->host + ":" + std::to_string(control->port);
    j["control"] = {{"host", control->host},
                    {"port", control->port},
                    {"address", address},
                    {"url", "http://" + address}};
  }
  const auto tmp = fs::path(path.string() + ".tmp");
  {
    std::ofstream out(tmp);
    out << j.dump(2) << '\n';
  }
  fs::rename(tmp, path);
}

auto load_served_scenario(const serve_options& opt, sc::scenario& s, bool& has_timeline) -> int {
  if (opt.scenario.empty()) {
    s = opt.control.empty() ? default_scenario() : default_control_scenario();
    has_timeline = false;
    return ok;
  }
  auto loaded = scenario_io::load_file(scenario_path(opt.scenario));
  if (!loaded.ok()) {
    for (const auto& d : loaded.errors) {
      std::cerr << scenario_io::to_string(d) << '\n';
    }
    return usage_error;
  }
  s = std::move(*loaded.value);
  has_timeline = true;
  return ok;
}

// --port NAME=PORT (or PORT with one endpoint) and --host.
auto apply_endpoint_options(const serve_options& opt, sc::scenario& s) -> bool {
  for (const auto& p : opt.ports) {
    const auto eq = p.find('=');
    sc::endpoint* e = nullptr;
    for (auto& candidate : s.topo.endpoints) {
      if (eq == std::string::npos ? s.topo.endpoints.size() == 1
                                  : candidate.name == p.substr(0, eq)) {
        e = &candidate;
      }
    }
    const auto port_text = eq == std::string::npos ? p : p.substr(eq + 1);
    int port = -1;
    try {
      port = std::stoi(port_text);
    } catch (const std::exception&) {
    }
    if (e == nullptr || port < 0 || port > 65535) {
      std::cerr << "schsim serve: --port " << p
                << ": expected NAME=PORT with NAME one of the scenario's endpoints\n";
      return false;
    }
    e->port = static_cast<std::uint16_t>(port);
  }
  if (!opt.host.empty()) {
    for (auto& e : s.topo.endpoints) {
      e.host = opt.host;
    }
  }
  return true;
}

auto parse_control_address(const std::string& text) -> std::optional<control_address> {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return std::nullopt;
  }
  control_address a{text.substr(0, colon), 0};
  try {
    const auto port = std::stoi(text.substr(colon + 1));
    if (port < 0 || port > 65535) {
      return std::nullopt;
    }
    a.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return a;
}

// Warns about what is reachable beyond this machine (issue: serve bound everything silently).
void warn_about_exposure(const serve_options& opt, const sc::scenario& s) {
  for (const auto& e : s.topo.endpoints) {
    if (!control::is_loopback(e.host) && e.requirepass.empty() && e.users.empty()) {
      spdlog::warn(
          "endpoint {} listens on {}, beyond this machine, with no password (the "
          "scenario sets no requirepass): anyone who can reach it can read and write "
          "its keyspace",
          e.name, e.host);
    }
  }
  if (const auto a = parse_control_address(opt.control); a && !control::is_loopback(a->host)) {
    spdlog::warn(
        "the control API listens on {}, beyond this machine: anyone who can reach it "
        "can inject faults, write to and close client connections{}",
        opt.control, opt.control_token.empty() ? "; set --control-token" : "");
  }
}

// The report directory must be writable before anything runs (results are never lost at exit).
auto check_report_dir(const std::string& dir) -> bool {
  std::error_code ec;
  fs::create_directories(dir, ec);
  const auto probe = fs::path(dir) / ".schsim-write-test";
  std::ofstream out(probe);
  if (ec || !out) {
    std::cerr << "schsim serve: --report " << dir << ": cannot write there\n";
    return false;
  }
  out.close();
  fs::remove(probe, ec);
  return true;
}

/// One `schsim serve` session: each member function is one step of run().
class serve_run {
 public:
  explicit serve_run(const serve_options& opt) : opt_(opt) {}
  ~serve_run() {
    // The control API observes the recorder; stopping the server below records events.
    if (api_subscription_ != 0) {
      record_.unsubscribe(api_subscription_);
    }
  }
  serve_run(const serve_run&) = delete;
  auto operator=(const serve_run&) -> serve_run& = delete;

  auto run() -> int {
    if (const auto rc = prepare(); rc != ok) {
      return rc;
    }
    if (!open_timeline_jsonl() || !start_server() || !start_control()) {
      return usage_error;
    }
    announce();
    if (has_timeline_) {
      start_timeline();
    }
    arm_stop_conditions();
    io_.run();
    return finish();
  }

 private:
  auto prepare() -> int {
    if (const auto rc = load_served_scenario(opt_, s_, has_timeline_); rc != ok) {
      return rc;
    }
    if (!apply_endpoint_options(opt_, s_)) {
      return usage_error;
    }
    if (!opt_.duration.empty()) {
      run_for_ = scenario_io::parse_duration(opt_.duration);
      if (!run_for_) {
        std::cerr << "schsim serve: --duration " << opt_.duration << ": use e.g. 10s or 500ms\n";
        return usage_error;
      }
    }
    const auto pause = scenario_io::parse_duration(opt_.loop_pause);
    if (!pause) {
      std::cerr << "schsim serve: --loop-pause " << opt_.loop_pause << ": use e.g. 1s\n";
      return usage_error;
    }
    loop_pause_ = *pause;
    if (!opt_.control.empty() && !parse_control_address(opt_.control)) {
      std::cerr << "schsim serve: --control " << opt_.control
                << ": expected HOST:PORT, e.g. 127.0.0.1:0 (port 0: chosen by the OS)\n";
      return usage_error;
    }
    if (!opt_.report_dir.empty() && !check_report_dir(opt_.report_dir)) {
      return usage_error;
    }
    warn_about_exposure(opt_, s_);
    seed_ = opt_.seed ? *opt_.seed : s_.seed ? *s_.seed : std::random_device{}();
    spdlog::info("scenario {} ({}), seed {}", s_.meta.id, s_.meta.title, seed_);
    return ok;
  }

  // The verdict needs the record; without it serve keeps nothing (a stored timeline held
  // 876 MiB after a few million commands) and events only go to the observers.
  // --keep-timeline keeps it as `schsim run` does for its checks (load benchmarks).
  [[nodiscard]] auto keeps_record() const -> bool {
    return !opt_.control.empty() || !opt_.report_dir.empty() || opt_.keep_timeline;
  }

  auto open_timeline_jsonl() -> bool {
    if (!opt_.timeline_jsonl.empty()) {
      try {
        jsonl_ = std::make_shared<reports::jsonl_timeline_writer>(opt_.timeline_jsonl);
      } catch (const std::exception& e) {
        std::cerr << "schsim serve: " << e.what() << '\n';
        return false;
      }
      nlohmann::json head{{"kind", "run"},
                          {"scenario", s_.meta.id},
                          {"seed", seed_},
                          {"suite_version", s_.meta.suite_version},
                          {"t_ns", to_ns(mono_clock::now())}};
      jsonl_->write_line(head.dump());
      // Every event goes to the file, buffered; closed (everything written) by finish().
      record_.subscribe(jsonl_);
    }
    record_.subscribe(
        [](const tl::event& e) {
          if (const auto* st = std::get_if<tl::step_executed>(&e.what)) {
            spdlog::info("step {} ({}) {:.3f} ms late: {}", st->step, st->action,
                         static_cast<double>(e.t_ns - st->scheduled_ns) / 1e6, st->detail);
          }
        },
        tl::interest::no_commands);
    return true;
  }

  /// TLS endpoints: makes the run's certificates and writes them where a client can read them.
  auto make_certificates() -> bool {
    try {
      certs_ = engine::make_run_certificates(s_);
      if (!certs_) {
        return true;
      }
      std::filesystem::path dir = opt_.tls_dir;
      if (dir.empty()) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "schsim-tls-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
          std::cerr << "schsim serve: cannot create a directory for the certificates\n";
          return false;
        }
        dir = tmpl;
      }
      const auto files = simulator::tls::write_certificates(*certs_, dir);
      spdlog::info("TLS: CA certificate {} (every TLS endpoint's certificate is signed by it)",
                   files.ca_file.string());
    } catch (const std::exception& e) {
      std::cerr << "schsim serve: --tls-dir: " << e.what() << '\n';
      return false;
    }
    return true;
  }

  auto start_server() -> bool {
    if (!make_certificates()) {
      return false;
    }
    auto config = engine::make_server_config(s_, certs_ ? &*certs_ : nullptr);
    // Load runs: without it every command and reply is a timeline event, built, handed to the
    // observers and written to the JSONL file.
    config.record_commands = !opt_.no_record_commands;
    if (!opt_.upstream.empty()) {
      if (s_.topo.cluster) {
        std::cerr << "schsim serve: --upstream: proxy mode serves a standalone deployment, and "
                  << s_.meta.id << " is a cluster\n";
        return false;
      }
      config.upstream = parse_upstream(opt_.upstream);
      if (!config.upstream) {
        return false;
      }
    }
    server_ = std::make_unique<simulator::server>(io_.get_executor(), std::move(config), record_);
    try {
      server_->start();
    } catch (const std::exception& e) {
      std::cerr << "schsim serve: cannot start the endpoints: " << e.what() << '\n';
      return false;
    }
    start_ns_ = to_ns(mono_clock::now());
    return true;
  }

  // The fault injector's own engine run, the control API and its HTTP listener.
  auto start_control() -> bool {
    if (opt_.control.empty()) {
      return true;
    }
    const auto address = *parse_control_address(opt_.control);
    // Its own seed, so its automatic seqs do not repeat those of the scenario's timeline.
    fi_driver_ = std::make_unique<engine::driver>(io_.get_executor(), *server_, record_,
                                                  control::fault_injector_scenario(s_), seed_ + 1);
    fi_driver_->start();
    backend_ = std::make_unique<control::live_backend>(*server_, *fi_driver_,
                                                       [this] { return verdict_json(); });
    control::api_options options;
    options.token = opt_.control_token;
    options.max_body_bytes = opt_.control_max_body;
    api_ = std::make_unique<control::control_api>(
        *backend_, control::deployment_from(s_, server_->endpoints()), options);
    // The API follows its actions' steps only: commands and replies need no event built for it.
    api_subscription_ = record_.subscribe([this](const tl::event& e) { api_->observe(e); },
                                          tl::interest::no_commands);
    http_ = std::make_unique<control::http_server>(
        io_.get_executor(),
        control::http_options{address.host, address.port, opt_.control_max_body},
        [this](const control::request& r) { return api_->handle(r, mono_clock::now()); });
    try {
      http_->start();
    } catch (const std::exception& e) {
      std::cerr << "schsim serve: --control " << opt_.control << ": cannot listen: " << e.what()
                << '\n';
      return false;
    }
    control_ = control_address{address.host, http_->port()};
    return true;
  }

  void announce() {
    const auto endpoints = server_->endpoints();
    for (const auto& e : endpoints) {
      std::cout << e.name << ' ' << e.address() << '\n';
    }
    if (control_) {
      std::cout << "control http://" << control_->host << ':' << control_->port << '\n';
    }
    std::cout << std::flush;
    if (!opt_.endpoints_json.empty()) {
      write_endpoints_json(opt_.endpoints_json, s_, seed_, endpoints, control_);
    }
  }

  void start_timeline() {
    driver_ = std::make_unique<engine::driver>(io_.get_executor(), *server_, record_, s_, seed_);
    driver_->start([this](const std::string& error) {
      if (error.empty()) {
        spdlog::info("timeline of {} finished", s_.meta.id);
      } else {
        spdlog::warn("timeline of {} finished: {}", s_.meta.id, error);
      }
      if (opt_.loop && !stopping_) {
        restart_.expires_after(loop_pause_);
        restart_.async_wait([this](boost::system::error_code ec) {
          if (!ec && !stopping_) {
            start_timeline();
          }
        });
      } else if (opt_.exit_when_done) {
        boost::asio::post(io_, [this] { shutdown("timeline finished"); });
      }
    });
  }

  void arm_stop_conditions() {
    signals_.async_wait([this](boost::system::error_code ec, int signo) {
      if (!ec) {
        shutdown(signo == SIGINT ? "SIGINT" : "SIGTERM");
      }
    });
    if (run_for_) {
      deadline_.expires_after(*run_for_);
      deadline_.async_wait([this](boost::system::error_code ec) {
        if (!ec) {
          shutdown("--duration reached");
        }
      });
    }
  }

  void shutdown(const std::string& why) {
    if (stopping_) {
      return;
    }
    stopping_ = true;
    spdlog::info("stopping: {}", why);
    if (driver_) {
      driver_->stop();
    }
    restart_.cancel();
    signals_.cancel();
    deadline_.cancel();
    if (http_) {
      http_->stop();
    }
    server_->stop();
    io_.stop();
  }

  // The served scenario with every step the engines ran (or still had scheduled).
  [[nodiscard]] auto served_record_now() const -> served_record {
    served_record r;
    r.scn = sc::expand(s_);
    if (fi_driver_) {
      const auto& fi_steps = fi_driver_->engine().steps();
      r.scn.steps.insert(r.scn.steps.end(), fi_steps.begin(), fi_steps.end());
    }
    r.events = record_.snapshot();
    r.endpoints = server_->endpoints();
    r.start_ns = start_ns_;
    r.end_ns = to_ns(mono_clock::now());
    r.seed = seed_;
    r.command_line = opt_.command_line;
    return r;
  }

  auto verdict_json() -> nlohmann::json {
    return nlohmann::json::parse(reports::to_json(serve_verdict(served_record_now())));
  }

  auto finish() -> int {
    if (driver_) {
      driver_->stop();
    }
    if (fi_driver_) {
      fi_driver_->stop();
    }
    if (jsonl_) {
      // Everything recorded until now is in the file: nothing is lost on a clean stop.
      if (const auto error = jsonl_->close(); !error.empty()) {
        std::cerr << "schsim serve: " << opt_.timeline_jsonl << ": " << error << '\n';
        return usage_error;
      }
    }
    if (opt_.report_dir.empty()) {
      return ok;
    }
    try {
      const auto run = serve_verdict(served_record_now());
      for (const auto& p : reports::write_reports(run, opt_.report_dir)) {
        spdlog::info("wrote {}", p.string());
      }
      return run.cases.front().outcome == verdict::case_outcome::passed ? ok : check_failed;
    } catch (const std::exception& e) {
      std::cerr << "schsim serve: cannot write the report to " << opt_.report_dir << ": "
                << e.what() << '\n';
      return internal_error;
    }
  }

  const serve_options& opt_;
  sc::scenario s_;
  bool has_timeline_ = false;
  std::uint64_t seed_ = 0;
  std::optional<std::chrono::milliseconds> run_for_;
  std::chrono::milliseconds loop_pause_{1000};
  boost::asio::io_context io_;
  tl::recorder record_{keeps_record() ? tl::retention::all : tl::retention::observers_only};
  std::shared_ptr<reports::jsonl_timeline_writer> jsonl_;
  std::optional<simulator::tls::certificate_set> certs_;
  std::unique_ptr<simulator::server> server_;
  std::int64_t start_ns_ = 0;
  std::unique_ptr<engine::driver> fi_driver_;
  std::unique_ptr<control::live_backend> backend_;
  std::unique_ptr<control::control_api> api_;
  std::unique_ptr<control::http_server> http_;
  std::size_t api_subscription_ = 0;
  std::optional<control_address> control_;
  std::unique_ptr<engine::driver> driver_;
  boost::asio::steady_timer restart_{io_};
  boost::asio::signal_set signals_{io_, SIGINT, SIGTERM};
  boost::asio::steady_timer deadline_{io_};
  bool stopping_ = false;
};

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<serve_options>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Run the simulator for any client: prints `NAME HOST:PORT` per endpoint, runs the "
      "scenario's timeline, stops on Ctrl-C/SIGTERM");
  cmd->add_option("scenario", opt->scenario,
                  "Scenario file or built-in id (see `schsim list`); none: one SCH endpoint "
                  "(two with --control: node-a and node-b on 127.0.0.2, same port)");
  cmd->add_option("--seed", opt->seed,
                  "Seed for every random choice (default: the scenario's, "
                  "else random; always printed)");
  cmd->add_flag("--loop", opt->loop, "Run the timeline again each time it finishes");
  cmd->add_option("--loop-pause", opt->loop_pause, "Pause between loops")->capture_default_str();
  cmd->add_option("--duration", opt->duration, "Stop after this long, e.g. 30s");
  cmd->add_flag("--exit-when-done", opt->exit_when_done,
                "Stop when the timeline has finished (without --loop)");
  cmd->add_option("--endpoints-json", opt->endpoints_json,
                  "Write the endpoints, seed, scenario id and control address to this JSON file "
                  "once listening");
  cmd->add_option("--timeline-jsonl", opt->timeline_jsonl,
                  "Write every server event (with scheduled and actual step times) as JSON "
                  "lines; buffered, flushed every 100 ms, at each step and when serve stops");
  cmd->add_option("--port", opt->ports, "Fixed port, NAME=PORT (or PORT with one endpoint)");
  cmd->add_option("--host", opt->host,
                  "Listen address for every endpoint (default 127.0.0.1). The endpoints have no "
                  "password unless the scenario sets requirepass: another address than loopback "
                  "exposes the keyspace (a warning is printed)");
  cmd->add_option("--upstream", opt->upstream,
                  "Proxy mode: forward data commands to this Redis (HOST:PORT, an IP address) "
                  "and relay its replies; schsim answers the handshake and injects pushes and "
                  "faults");
  cmd->add_flag("--keep-timeline", opt->keep_timeline,
                "Keep every event in memory, as `schsim run` does for its checks (memory grows "
                "with traffic; for load benchmarks)");
  cmd->add_flag("--no-record-commands", opt->no_record_commands,
                "Do not record each command and reply in the timeline (load benchmarks); "
                "connections, handshakes, pushes and steps are still recorded");
  cmd->add_option("--control", opt->control,
                  "Serve the control API (fault injector, cae-resp-proxy, /schsim/verdict; "
                  "docs/control-api.md) on HOST:PORT, e.g. 127.0.0.1:0 (port 0: chosen by the "
                  "OS, printed as `control http://HOST:PORT` and written to --endpoints-json). "
                  "Keeps the whole timeline in memory for the verdict");
  cmd->add_option("--control-token", opt->control_token,
                  "Require `Authorization: Bearer TOKEN` on every control API request (401 "
                  "without it)");
  cmd->add_option("--control-max-body", opt->control_max_body,
                  "Largest control API request body in bytes (413 above it)")
      ->capture_default_str();
  cmd->add_option("--tls-dir", opt->tls_dir,
                  "TLS endpoints: write the run's CA (ca.pem) and certificates here (default: a "
                  "new directory under the system temp directory, printed at start)");
  cmd->add_option("--report", opt->report_dir,
                  "At exit (also on SIGINT/SIGTERM), run the server-side checks over what was "
                  "served and write report.json, junit.xml and index.html to this directory; "
                  "exit 1 when a check failed");
  cmd->callback([opt, &exit_code] {
    opt->command_line = "schsim serve " + (opt->scenario.empty() ? "(no scenario)" : opt->scenario);
    exit_code = serve_run(*opt).run();
  });
}

}  // namespace schsim::app
