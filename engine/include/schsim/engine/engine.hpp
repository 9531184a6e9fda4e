#pragma once
/**
 * @file
 * @brief The scenario engine: a sans-I/O state machine that runs a scenario's timeline.
 *
 * The engine is told what happened (recorder events: connections, handshakes, commands) and what
 * time it is, and answers with what to do: perform a step on given connections, then wait until
 * a deadline. It never reads a clock, sleeps or touches a socket, so tests drive it with a
 * manual clock. driver.hpp performs its actions on a simulator::server.
 *
 *   events + now ──► next() ──► [perform{step, scheduled, command}...,  wait_until{t} | finished]
 *
 * Deadlines are absolute: `at` steps are due at start + at, `after` steps at the *scheduled*
 * time of the step they follow plus their delay, `when` steps at the stamp of the event that met
 * their condition plus their delay. A driver that runs a step late never pushes later steps back.
 */

#include <schsim/core/clock.hpp>
#include <schsim/core/cluster/slots.hpp>
#include <schsim/core/maint/codec.hpp>
#include <schsim/core/maint/notification.hpp>
#include <schsim/core/scenario/model.hpp>
#include <schsim/core/timeline/event.hpp>
#include <schsim/engine/active_registry.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace schsim::engine {

using conn_id = std::uint64_t;
using std::chrono::milliseconds;

/// Where an endpoint listens, once the simulator has started (ports chosen by the OS).
struct endpoint_address {
  std::string name;
  std::string host;
  /// Announced to connections that asked for an `*-fqdn` endpoint type; empty: host.
  std::string fqdn;
  std::uint16_t port = 0;
};

/// A connection that was already open when the timeline started (serve's loop mode).
struct known_connection {
  conn_id id = 0;
  std::string endpoint;
  time_point opened_at{};
  bool maint_enabled = false;
  std::optional<std::string> endpoint_type;
};

// ---------------------------------------------------------------------------------------------
// What the driver is asked to do

/// One push for one connection (the MOVING endpoint already in the form it asked for).
struct delivery {
  conn_id conn = 0;
  maint::notification notification;
  friend auto operator==(const delivery&, const delivery&) -> bool = default;
};

struct push_command {
  std::vector<delivery> deliveries;
  maint::dialect dialect;
  /// A replay to a connection that just opted in: must follow the handshake's +OK on the wire.
  bool replay = false;
};
struct raw_command {
  std::vector<conn_id> connections;
  std::string bytes;
};
struct latency_command {
  std::string endpoint;
  milliseconds delay{0};
};
struct stall_command {
  std::string endpoint;
};
struct release_command {
  std::string endpoint;
};
struct fragment_command {
  std::string endpoint;
  std::size_t chunk_bytes = 0;
  milliseconds pause{0};
};
struct close_command {
  std::vector<conn_id> connections;
  scenario::close_mode how = scenario::close_mode::fin;
  scenario::close_point point = scenario::close_point::between_frames;
  std::string reason;
};
struct accept_command {
  std::string endpoint;
  scenario::endpoint_state state = scenario::endpoint_state::up;
};
/// Cluster mode: slots start moving (begin) or change owner (complete) in the simulator.
struct slot_migration_command {
  enum class phase { begin, complete };
  phase what = phase::begin;
  std::string from;
  std::string to;
  schsim::cluster::slot_set slots;
  /// For begin: paces which keys have moved (simulator::cluster_state).
  milliseconds migrate_for{0};
};
/// Engine-internal steps (clear_active) still show up in the timeline; nothing to perform.
struct no_command {};

using command = std::variant<push_command, raw_command, latency_command, stall_command,
                             release_command, fragment_command, close_command, accept_command,
                             slot_migration_command, no_command>;

/// Perform one step now. Record it as a step_executed event with `scheduled` and the time it
/// actually ran.
struct perform {
  std::string step;
  std::string action;
  time_point scheduled{};
  command what;
  /// Human-readable summary for the timeline, e.g. "MOVING seq=1001 to 2 connections".
  std::string detail;
};

/// Call next() again at `deadline`, or earlier when new events arrive.
struct wait_until {
  time_point deadline{};
};

/// The timeline is over (the scenario's duration has elapsed). `error` is empty when every step
/// ran; otherwise it names the steps that never ran (a `when` condition never met).
struct finished {
  std::string error;
};

using action = std::variant<perform, wait_until, finished>;

auto operator<<(std::ostream& os, const action& a) -> std::ostream&;

// ---------------------------------------------------------------------------------------------

/// What the engine knows about one connection, from the recorder's events.
struct connection_state {
  conn_id id = 0;
  std::string endpoint;
  time_point opened_at{};
  /// 1-based, in opening order: overall and on its endpoint.
  std::uint64_t ordinal = 0;
  std::uint64_t endpoint_ordinal = 0;
  bool open = true;
  bool opted_in = false;
  std::optional<std::string> endpoint_type;
};

/// How each step of the (expanded) timeline went.
struct step_status {
  std::optional<time_point> scheduled;
  bool done = false;
};

/**
 * @brief Runs one scenario's timeline.
 *
 * Composite actions are expanded at construction (scenario::expand). The scenario must have
 * passed scenario::validate(). `rng` is the run's seeded generator, used for the automatic seq
 * base (unless the scenario sets seq_start) and for `connection = "random"` picks; it must
 * outlive the engine.
 */
class scenario_engine {
 public:
  scenario_engine(const scenario::scenario& s, std::vector<endpoint_address> addresses,
                  std::mt19937_64& rng);

  /// Registers a connection opened before start() (it counts for `connections`, and for
  /// `handshakes` when it has opted in). Call before start().
  void adopt(const known_connection& c);
  /// Starts the timeline at `now`; the first next() call may follow immediately.
  void start(time_point now);

  /**
   * Feeds the events observed since the last call (in recording order; step_executed and other
   * kinds the engine does not use are ignored) and returns what to do at `now`: zero or more
   * perform actions, then exactly one wait_until or finished.
   */
  auto next(time_point now, std::span<const timeline::event> observed) -> std::vector<action>;

  /**
   * Appends steps to a running timeline (the control API's fault-injector actions): each must
   * be primitive (run scenario::expand() first), with an id not used yet. `at` steps are due at
   * `now + at` (not from the start), `after` steps follow the step they name, `when` steps are
   * not allowed. Throws std::invalid_argument (and adds nothing) otherwise.
   */
  void add_steps(std::vector<scenario::step> steps, time_point now);

  /// The expanded timeline.
  [[nodiscard]] auto steps() const -> const std::vector<scenario::step>& { return steps_; }
  [[nodiscard]] auto status() const -> const std::vector<step_status>& { return status_; }
  [[nodiscard]] auto all_steps_done() const -> bool;
  [[nodiscard]] auto connections() const -> const std::map<conn_id, connection_state>& {
    return conns_;
  }
  [[nodiscard]] auto registry() const -> const active_registry& { return active_; }
  [[nodiscard]] auto start_time() const -> time_point { return t0_; }
  [[nodiscard]] auto end_time() const -> time_point { return t0_ + duration_; }
  /// The seq the next automatic notification gets.
  [[nodiscard]] auto next_seq() const -> std::int64_t { return next_seq_; }

 private:
  struct counters {
    std::uint64_t total = 0;
    std::map<std::string, std::uint64_t, std::less<>> by_endpoint;
  };

  void observe(const timeline::event& e, std::vector<action>& out);
  void count(scenario::observed_counter c, const std::string& endpoint, time_point at);
  void replay_to(const connection_state& c, time_point at, std::vector<action>& out);
  void run_step(std::size_t index, time_point now, std::vector<action>& out);
  auto resolve(const scenario::target& t) -> std::vector<conn_id>;
  auto render(const maint::notification& proto, const connection_state& c) const
      -> maint::notification;
  auto address_of(const std::string& ref, const std::optional<std::string>& endpoint_type) const
      -> std::optional<std::string>;
  /// Whether a MOVING target (an endpoint name or a host:port) names `endpoint`.
  [[nodiscard]] auto names_endpoint(const std::string& ref, const std::string& endpoint) const
      -> bool;
  auto make_push(const std::string& step, time_point scheduled, const scenario::send_action& a,
                 time_point now) -> perform;

  std::vector<scenario::step> steps_;
  std::vector<step_status> status_;
  std::map<std::string, std::size_t, std::less<>> index_of_;
  /// step index → indices of the steps that run `after` it.
  std::vector<std::vector<std::size_t>> dependents_;
  std::vector<endpoint_address> addresses_;
  maint::dialect default_dialect_;
  std::mt19937_64& rng_;
  milliseconds duration_;
  time_point t0_{};
  bool started_ = false;
  std::int64_t next_seq_ = 0;
  /// The seq each send step used, for `same_seq_as` (redeliveries, one event on several nodes).
  std::map<std::string, std::int64_t, std::less<>> seq_of_step_;

  std::map<conn_id, connection_state> conns_;
  std::uint64_t opened_total_ = 0;
  std::map<std::string, std::uint64_t, std::less<>> opened_by_endpoint_;
  std::map<scenario::observed_counter, counters> counters_;
  active_registry active_;
};

/// Whether a command counts for `commands` (connection setup such as HELLO, AUTH, CLIENT,
/// SELECT does not).
auto counts_as_command(const std::vector<std::string>& args) -> bool;

}  // namespace schsim::engine
