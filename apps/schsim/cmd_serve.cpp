// `schsim serve [scenario]`: the simulator with a scenario's timeline, for any external client.
#include <schsim/core/clock.hpp>
#include <schsim/core/timeline/recorder.hpp>
#include <schsim/engine/driver.hpp>
#include <schsim/reports/json.hpp>
#include <schsim/scenario_io/load.hpp>
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

// Written to a temporary name and renamed, so a script polling for the file never reads half.
void write_endpoints_json(const fs::path& path, const sc::scenario& s, std::uint64_t seed,
                          const std::vector<simulator::endpoint_info>& endpoints) {
  nlohmann::json j{{"scenario", s.meta.id},
                   {"suite_version", s.meta.suite_version},
                   {"seed", seed},
                   {"start", s.topo.start},
                   {"endpoints", nlohmann::json::array()}};
  for (const auto& e : endpoints) {
    j["endpoints"].push_back(
        {{"name", e.name}, {"host", e.host}, {"port", e.port}, {"address", e.address()}});
  }
  const auto tmp = fs::path(path.string() + ".tmp");
  {
    std::ofstream out(tmp);
    out << j.dump(2) << '\n';
  }
  fs::rename(tmp, path);
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

auto run_serve(const serve_options& opt) -> int {
  sc::scenario s;
  bool has_timeline = false;
  if (opt.scenario.empty()) {
    s = default_scenario();
  } else {
    const auto path = scenario_path(opt.scenario);
    auto loaded = scenario_io::load_file(path);
    if (!loaded.ok()) {
      for (const auto& d : loaded.errors) {
        std::cerr << scenario_io::to_string(d) << '\n';
      }
      return usage_error;
    }
    s = std::move(*loaded.value);
    has_timeline = true;
  }
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
      return usage_error;
    }
    e->port = static_cast<std::uint16_t>(port);
  }
  if (!opt.host.empty()) {
    for (auto& e : s.topo.endpoints) {
      e.host = opt.host;
    }
  }
  std::optional<std::chrono::milliseconds> run_for;
  if (!opt.duration.empty()) {
    run_for = scenario_io::parse_duration(opt.duration);
    if (!run_for) {
      std::cerr << "schsim serve: --duration " << opt.duration << ": use e.g. 10s or 500ms\n";
      return usage_error;
    }
  }
  const auto loop_pause = scenario_io::parse_duration(opt.loop_pause);
  if (!loop_pause) {
    std::cerr << "schsim serve: --loop-pause " << opt.loop_pause << ": use e.g. 1s\n";
    return usage_error;
  }

  const std::uint64_t seed = opt.seed ? *opt.seed : s.seed ? *s.seed : std::random_device{}();
  spdlog::info("scenario {} ({}), seed {}", s.meta.id, s.meta.title, seed);

  boost::asio::io_context io;
  // serve never reads the timeline back: events go to the observers below (the JSONL file, the
  // step log, the scenario engine) and are dropped, so a long run's memory does not grow with
  // its traffic (a stored timeline held 876 MiB after a few million commands).
  timeline::recorder record(timeline::retention::observers_only);
  std::ofstream jsonl;
  if (!opt.timeline_jsonl.empty()) {
    jsonl.open(opt.timeline_jsonl);
    if (!jsonl) {
      std::cerr << "schsim serve: cannot write " << opt.timeline_jsonl << '\n';
      return usage_error;
    }
    nlohmann::json head{{"kind", "run"},
                        {"scenario", s.meta.id},
                        {"seed", seed},
                        {"suite_version", s.meta.suite_version},
                        {"t_ns", to_ns(mono_clock::now())}};
    jsonl << head.dump() << '\n' << std::flush;
  }
  // Every event goes to the JSONL file as it happens; steps are also logged.
  record.subscribe([&](const tl::event& e) {
    if (jsonl.is_open()) {
      jsonl << reports::event_to_json_line(e) << '\n' << std::flush;
    }
    if (const auto* st = std::get_if<tl::step_executed>(&e.what)) {
      spdlog::info("step {} ({}) {:.3f} ms late: {}", st->step, st->action,
                   static_cast<double>(e.t_ns - st->scheduled_ns) / 1e6, st->detail);
    }
  });

  auto config = engine::make_server_config(s);
  // Load runs: without it every command and reply is a timeline event, built, handed to the
  // observers and written to the JSONL file.
  config.record_commands = !opt.no_record_commands;
  if (!opt.upstream.empty()) {
    if (s.topo.cluster) {
      std::cerr << "schsim serve: --upstream: proxy mode serves a standalone deployment, and "
                << s.meta.id << " is a cluster\n";
      return usage_error;
    }
    config.upstream = parse_upstream(opt.upstream);
    if (!config.upstream) {
      return usage_error;
    }
  }
  simulator::server server(io.get_executor(), std::move(config), record);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "schsim serve: cannot start the endpoints: " << e.what() << '\n';
    return usage_error;
  }
  const auto endpoints = server.endpoints();
  for (const auto& e : endpoints) {
    std::cout << e.name << ' ' << e.address() << '\n';
  }
  std::cout << std::flush;
  if (!opt.endpoints_json.empty()) {
    write_endpoints_json(opt.endpoints_json, s, seed, endpoints);
  }

  std::unique_ptr<engine::driver> driver;
  boost::asio::steady_timer restart(io);
  bool stopping = false;
  auto shutdown = [&](const std::string& why) {
    if (stopping) {
      return;
    }
    stopping = true;
    spdlog::info("stopping: {}", why);
    if (driver) {
      driver->stop();
    }
    restart.cancel();
    server.stop();
    io.stop();
  };
  std::function<void()> start_timeline = [&] {
    driver = std::make_unique<engine::driver>(io.get_executor(), server, record, s, seed);
    driver->start([&](const std::string& error) {
      if (error.empty()) {
        spdlog::info("timeline of {} finished", s.meta.id);
      } else {
        spdlog::warn("timeline of {} finished: {}", s.meta.id, error);
      }
      if (opt.loop && !stopping) {
        restart.expires_after(*loop_pause);
        restart.async_wait([&](boost::system::error_code ec) {
          if (!ec && !stopping) {
            start_timeline();
          }
        });
      } else if (opt.exit_when_done) {
        boost::asio::post(io, [&] { shutdown("timeline finished"); });
      }
    });
  };
  if (has_timeline) {
    start_timeline();
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signo) {
    if (!ec) {
      shutdown(signo == SIGINT ? "SIGINT" : "SIGTERM");
    }
  });
  boost::asio::steady_timer deadline(io);
  if (run_for) {
    deadline.expires_after(*run_for);
    deadline.async_wait([&](boost::system::error_code ec) {
      if (!ec) {
        shutdown("--duration reached");
      }
    });
  }
  io.run();
  if (driver) {
    driver->stop();
  }
  return ok;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<serve_options>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Run the simulator for any client: prints `NAME HOST:PORT` per endpoint, runs the "
      "scenario's timeline, stops on Ctrl-C/SIGTERM");
  cmd->add_option("scenario", opt->scenario,
                  "Scenario file or built-in id (see `schsim list`); none: one SCH endpoint");
  cmd->add_option("--seed", opt->seed,
                  "Seed for every random choice (default: the scenario's, "
                  "else random; always printed)");
  cmd->add_flag("--loop", opt->loop, "Run the timeline again each time it finishes");
  cmd->add_option("--loop-pause", opt->loop_pause, "Pause between loops")->capture_default_str();
  cmd->add_option("--duration", opt->duration, "Stop after this long, e.g. 30s");
  cmd->add_flag("--exit-when-done", opt->exit_when_done,
                "Stop when the timeline has finished (without --loop)");
  cmd->add_option("--endpoints-json", opt->endpoints_json,
                  "Write the endpoints, seed and scenario id to this JSON file once listening");
  cmd->add_option("--timeline-jsonl", opt->timeline_jsonl,
                  "Append every server event (with scheduled and actual step times) as JSON "
                  "lines");
  cmd->add_option("--port", opt->ports, "Fixed port, NAME=PORT (or PORT with one endpoint)");
  cmd->add_option("--host", opt->host, "Listen address for every endpoint (default 127.0.0.1)");
  cmd->add_option("--upstream", opt->upstream,
                  "Proxy mode: forward data commands to this Redis (HOST:PORT, an IP address) "
                  "and relay its replies; schsim answers the handshake and injects pushes and "
                  "faults");
  cmd->add_flag("--no-record-commands", opt->no_record_commands,
                "Do not record each command and reply in the timeline (load benchmarks); "
                "connections, handshakes, pushes and steps are still recorded");
  cmd->callback([opt, &exit_code] { exit_code = run_serve(*opt); });
}

}  // namespace schsim::app
