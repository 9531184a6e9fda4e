#include <schsim/control/live_backend.hpp>

#include <algorithm>
#include <cctype>

namespace schsim::control {
namespace {

namespace sim = schsim::simulator;

auto one_connection(std::uint64_t id) -> sim::selector {
  sim::selector s;
  s.which = sim::selector::scope::connection;
  s.connection = id;
  return s;
}

auto lower(std::string s) -> std::string {
  std::ranges::transform(s, s.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

auto deployment_from(const scenario::scenario& s, const std::vector<sim::endpoint_info>& bound)
    -> deployment {
  deployment d;
  d.scenario_id = s.meta.id;
  d.cluster = s.topo.cluster;
  d.start = s.topo.start;
  for (const auto& e : s.topo.endpoints) {
    served_endpoint out;
    out.name = e.name;
    out.host = e.host;
    out.fqdn = e.fqdn;
    out.port = e.port;
    out.shards = e.shards;
    out.slots = e.slots;
    if (const auto it = std::ranges::find(bound, e.name, &sim::endpoint_info::name);
        it != bound.end()) {
      out.host = it->host;
      out.port = it->port;
    }
    d.endpoints.push_back(std::move(out));
  }
  if (const auto* start = s.topo.find(s.topo.start)) {
    d.password = start->requirepass;
  }
  if (!s.client.user.empty()) {
    d.username = s.client.user;
  }
  return d;
}

auto fault_injector_scenario(const scenario::scenario& s) -> scenario::scenario {
  auto out = s;
  out.steps.clear();
  // Fifty years: the engine's end, which a serve session never reaches (and far from the
  // int64 nanosecond limit of time_point).
  out.duration = std::chrono::hours{24 * 365 * 50};
  return out;
}

auto encode_command(std::span<const std::string_view> args) -> std::string {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

live_backend::live_backend(sim::server& server, engine::driver& fi_driver, verdict_fn verdict)
    : server_(server), driver_(fi_driver), verdict_(std::move(verdict)) {}

void live_backend::run_steps(std::vector<scenario::step> steps) {
  driver_.add_steps(std::move(steps));
}

void live_backend::set_maint_notifications(bool enabled) {
  server_.set_maint_pushes_enabled(enabled);
}

auto live_backend::connections() const -> std::vector<client_connection> {
  std::vector<client_connection> out;
  for (const auto& c : server_.connections()) {
    out.push_back(client_connection{c.id, c.endpoint, c.peer, to_ns(c.opened_at)});
  }
  return out;
}

auto live_backend::send_to_connection(std::uint64_t id, const std::string& bytes,
                                      const std::string& label) -> bool {
  const auto sent = server_.send_raw(one_connection(id), bytes, label);
  server_.flush_output();
  return sent > 0;
}

auto live_backend::close_connection(std::uint64_t id, const std::string& reason) -> bool {
  const auto closed = server_.close_connections(one_connection(id), sim::close_mode::fin,
                                                sim::close_point::between_frames, reason);
  server_.flush_output();
  return closed > 0;
}

void live_backend::set_interceptors(std::vector<interceptor> list) {
  if (list.empty()) {
    server_.set_command_interceptor({});
    return;
  }
  for (auto& i : list) {
    i.match = lower(i.match);
  }
  // cae-resp-proxy compares the whole message, lower-cased, with the lower-cased match.
  server_.set_command_interceptor([list = std::move(list)](std::span<const std::string_view> args)
                                      -> std::optional<sim::intercepted_reply> {
    const auto message = lower(encode_command(args));
    for (const auto& i : list) {
      if (message == i.match) {
        return sim::intercepted_reply{i.name, i.response};
      }
    }
    return std::nullopt;
  });
}

auto live_backend::verdict() -> nlohmann::json {
  if (!verdict_) {
    return {{"error", "the verdict is off"}};
  }
  return verdict_();
}

}  // namespace schsim::control
