#pragma once
/**
 * @file
 * @brief The control API's backend over a running simulator::server and scenario engine.
 *
 * Fault-injector steps go to an engine::driver of their own (the served scenario's topology,
 * no steps of its own, a run that never ends), so they are scheduled, recorded and replayed to
 * new connections by the same code as a scenario file's steps. The cae-resp-proxy calls use the
 * simulator's control calls (send_raw, close_connections, set_command_interceptor), each of
 * which is recorded in the timeline.
 */

#include <schsim/control/api.hpp>
#include <schsim/core/scenario/model.hpp>
#include <schsim/engine/driver.hpp>
#include <schsim/simulator/server.hpp>

#include <functional>
#include <memory>

namespace schsim::control {

/// The deployment the fault injector describes: the served scenario's topology with the ports
/// the server actually bound.
auto deployment_from(const scenario::scenario& s,
                     const std::vector<simulator::endpoint_info>& bound) -> deployment;

/// The scenario the fault injector's own engine runs: `s`'s topology and settings, no steps, a
/// duration without end.
auto fault_injector_scenario(const scenario::scenario& s) -> scenario::scenario;

/// RESP array of bulk strings: how every client sends a command (the form interceptors match).
auto encode_command(std::span<const std::string_view> args) -> std::string;

class live_backend final : public backend {
 public:
  using verdict_fn = std::function<nlohmann::json()>;
  live_backend(simulator::server& server, engine::driver& fi_driver, verdict_fn verdict);

  void run_steps(std::vector<scenario::step> steps) override;
  void set_maint_notifications(bool enabled) override;
  [[nodiscard]] auto connections() const -> std::vector<client_connection> override;
  auto send_to_connection(std::uint64_t id, const std::string& bytes, const std::string& label)
      -> bool override;
  auto close_connection(std::uint64_t id, const std::string& reason) -> bool override;
  void set_interceptors(std::vector<interceptor> list) override;
  auto verdict() -> nlohmann::json override;

 private:
  simulator::server& server_;
  engine::driver& driver_;
  verdict_fn verdict_;
};

}  // namespace schsim::control
