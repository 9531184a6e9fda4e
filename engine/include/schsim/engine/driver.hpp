#pragma once
/**
 * @file
 * @brief Runs a scenario_engine against a simulator::server on the server's io_context.
 *
 * The thin I/O layer around the engine: a steady_timer armed at the engine's absolute deadlines
 * (never "sleep for X", so lateness does not accumulate), a recorder subscription that feeds the
 * engine what the server observed, and the calls that perform each step on the server. Every
 * step is recorded as a timeline::step_executed event with its scheduled time; the event's own
 * stamp is when it actually ran.
 */

#include <schsim/core/scenario/model.hpp>
#include <schsim/core/timeline/recorder.hpp>
#include <schsim/engine/engine.hpp>
#include <schsim/simulator/certificates.hpp>
#include <schsim/simulator/server.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace schsim::engine {

/// The endpoint settings of a scenario as the simulator's configuration (ports 0 unless set).
/// `certs`: the run's certificates (make_run_certificates()); required when an endpoint has TLS.
auto make_server_config(const scenario::scenario& s,
                        const simulator::tls::certificate_set* certs = nullptr)
    -> simulator::server_config;

/// The leaf id of the client certificate in make_run_certificates()'s set.
inline constexpr const char* client_certificate_id = "client";

/**
 * A fresh CA and one leaf per TLS endpoint, naming its `fqdn` (a DNS name) and `host` (an IP),
 * or its `tls_cert_names` when set; plus a client leaf when an endpoint asks for client
 * certificates. nullopt when no endpoint speaks TLS.
 */
auto make_run_certificates(const scenario::scenario& s)
    -> std::optional<simulator::tls::certificate_set>;

/// The name a client verifies the certificate of `e` against when it connects to it as
/// configured (its fqdn when it has one, else its host).
auto tls_server_name(const scenario::endpoint& e) -> std::string;

/// Maps an endpoint state to the simulator's accept mode.
auto to_accept_mode(scenario::endpoint_state s) -> simulator::accept_mode;

/**
 * @brief Drives one run of a scenario's timeline.
 *
 * Create, then start() on the server's executor (the server must be started: its ports go
 * into MOVING endpoints). Not thread-safe: use it on that executor only. The driver may be
 * destroyed at any time; pending timer and event handlers then do nothing.
 */
class driver {
 public:
  /// Called once when the timeline is over; `error` as in finished::error.
  using finished_handler = std::function<void(const std::string& error)>;

  driver(boost::asio::any_io_executor executor, simulator::server& server,
         timeline::recorder& record, const scenario::scenario& s, std::uint64_t seed);
  ~driver();
  driver(const driver&) = delete;
  auto operator=(const driver&) -> driver& = delete;

  /// Adopts the connections already open, starts the timeline now and runs what is due.
  void start(finished_handler on_finished = {});
  /// Adds steps to the running timeline (scenario_engine::add_steps, `at` relative to now) and
  /// runs those already due before returning. Throws std::invalid_argument for steps the
  /// engine refuses, std::logic_error when the timeline is not running.
  void add_steps(std::vector<scenario::step> steps);
  /// Stops the timeline; nothing more is performed.
  void stop();

  [[nodiscard]] auto engine() const -> const scenario_engine&;
  [[nodiscard]] auto running() const -> bool;
  [[nodiscard]] auto seed() const -> std::uint64_t;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace schsim::engine
