#include <schsim/core/maint/codec.hpp>
#include <schsim/core/overloaded.hpp>
#include <schsim/core/resp3/serializer.hpp>
#include <schsim/engine/driver.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace schsim::engine {
namespace {

namespace sc = schsim::scenario;
namespace sim = schsim::simulator;

using schsim::overloaded;

auto one_connection(conn_id id) -> sim::selector {
  sim::selector s;
  s.which = sim::selector::scope::connection;
  s.connection = id;
  return s;
}

auto addresses_of(const sim::server& server, const sc::scenario& s)
    -> std::vector<endpoint_address> {
  std::vector<endpoint_address> out;
  for (const auto& info : server.endpoints()) {
    endpoint_address a{info.name, info.host, {}, info.port};
    if (const auto* e = s.topo.find(info.name)) {
      a.fqdn = e->fqdn;
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

auto to_accept_mode(sc::endpoint_state s) -> sim::accept_mode {
  switch (s) {
    case sc::endpoint_state::up:
      return sim::accept_mode::serve;
    case sc::endpoint_state::down:
      return sim::accept_mode::refuse;
    case sc::endpoint_state::not_accepting:
      return sim::accept_mode::not_accepting;
    case sc::endpoint_state::blackhole:
      return sim::accept_mode::blackhole;
  }
  return sim::accept_mode::serve;
}

auto tls_server_name(const sc::endpoint& e) -> std::string {
  return e.fqdn.empty() ? e.host : e.fqdn;
}

auto make_run_certificates(const sc::scenario& s) -> std::optional<sim::tls::certificate_set> {
  std::vector<sim::tls::leaf_spec> leaves;
  bool client_auth = false;
  for (const auto& e : s.topo.endpoints) {
    if (!e.tls) {
      continue;
    }
    client_auth = client_auth || e.tls_client_auth;
    sim::tls::leaf_spec leaf{e.name, e.name, {}, {}, false};
    std::vector<std::string> names = e.tls_cert_names;
    if (names.empty()) {
      names.push_back(e.host);
      if (!e.fqdn.empty()) {
        names.push_back(e.fqdn);
      }
    }
    for (auto& n : names) {
      boost::system::error_code ec;
      (void)boost::asio::ip::make_address(n, ec);
      (ec ? leaf.dns_names : leaf.ip_addresses).push_back(std::move(n));
    }
    leaves.push_back(std::move(leaf));
  }
  if (leaves.empty()) {
    return std::nullopt;
  }
  if (client_auth) {
    leaves.push_back(sim::tls::leaf_spec{
        client_certificate_id, "schsim client", {"client.schsim.invalid"}, {}, true});
  }
  // Valid from an hour ago, so a client whose clock is a little behind still accepts it.
  const auto now = std::chrono::system_clock::now();
  return sim::tls::make_certificates("schsim run CA " + s.meta.id, leaves,
                                     {now - std::chrono::hours(1), std::chrono::hours(25)});
}

auto make_server_config(const sc::scenario& s, const sim::tls::certificate_set* certs)
    -> sim::server_config {
  sim::server_config config;
  config.cluster = s.topo.cluster;
  for (const auto& e : s.topo.endpoints) {
    sim::endpoint_config ec;
    ec.name = e.name;
    ec.host = e.host;
    ec.port = e.port;
    ec.same_port_as = e.same_port_as;
    ec.profile.sch_supported = e.sch;
    ec.profile.resp3_supported = e.resp3;
    ec.profile.requirepass = e.requirepass;
    for (const auto& u : e.users) {
      ec.profile.users.push_back(sim::acl_user{u.name, u.password});
    }
    ec.profile.server_version = e.server_version;
    ec.initial_mode = to_accept_mode(e.initial_state);
    ec.slots = e.slots;
    if (e.tls) {
      if (certs == nullptr) {
        throw std::invalid_argument("endpoint " + e.name +
                                    " speaks TLS but the run has no certificates");
      }
      const auto& leaf = certs->leaf(e.name);
      ec.tls = sim::endpoint_tls_config{leaf.cert_pem, leaf.key_pem, e.tls_only,
                                        e.tls_client_auth ? certs->ca_cert_pem : std::string()};
    }
    config.endpoints.push_back(std::move(ec));
  }
  return config;
}

struct driver::impl : std::enable_shared_from_this<impl> {
  impl(boost::asio::any_io_executor executor, sim::server& srv, timeline::recorder& rec,
       const sc::scenario& s, std::uint64_t seed_value)
      : ex(std::move(executor)),
        server(srv),
        record(rec),
        rng(seed_value),
        seed(seed_value),
        eng(s, addresses_of(srv, s), rng),
        timer(ex) {}

  // Called on the recording thread, possibly from inside a server call or from our own
  // record(); the engine is only ever entered from a posted handler, never re-entrantly.
  void on_event(const timeline::event& e) {
    if (std::holds_alternative<timeline::step_executed>(e.what) ||
        std::holds_alternative<timeline::note>(e.what)) {
      return;
    }
    std::lock_guard lock(mutex);
    pending.push_back(e);
    if (!kick_posted) {
      kick_posted = true;
      boost::asio::post(ex, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
          self->kick();
        }
      });
    }
  }

  void kick() {
    std::vector<timeline::event> events;
    {
      std::lock_guard lock(mutex);
      events.swap(pending);
      kick_posted = false;
    }
    if (running) {
      process(events);
    }
  }

  void process(std::span<const timeline::event> events) {
    // Steps that fall due while this wake's steps run are run now, not after another trip
    // through the timer: under load a trip waits behind every queued socket completion, and
    // one trip per step would make a dense schedule drift further behind with every step. The
    // bound only keeps a misbehaving engine from pinning the thread.
    constexpr int max_rounds_per_wake = 1000;
    for (int round = 0; round < max_rounds_per_wake; ++round) {
      std::optional<time_point> next_deadline;
      for (auto& a : eng.next(mono_clock::now(), round == 0 ? events : decltype(events){})) {
        std::visit(overloaded{[&](perform& p) { execute(p); },
                              [&](const wait_until& w) { next_deadline = w.deadline; },
                              [&](const finished& f) { finish(f.error); }},
                   a);
        if (!running) {
          return;
        }
      }
      if (!next_deadline) {
        return;
      }
      if (*next_deadline > mono_clock::now() || round + 1 == max_rounds_per_wake) {
        arm(*next_deadline);
        return;
      }
    }
  }

  void arm(time_point deadline) {
    timer.expires_at(deadline);
    timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) {
        return;  // re-armed or stopped
      }
      if (auto self = weak.lock()) {
        self->kick();
      }
    });
  }

  void finish(const std::string& error) {
    running = false;
    timer.cancel();
    record.unsubscribe(subscription);
    subscription = 0;
    if (on_finished) {
      auto handler = std::move(on_finished);
      handler(error);
    }
  }

  void execute(perform& p) {
    const auto actual = mono_clock::now();
    std::string endpoint;
    std::visit(overloaded{[&](const push_command& c) {
                            const auto dialect_name = maint::describe(c.dialect);
                            for (const auto& d : c.deliveries) {
                              const auto bytes =
                                  resp3::serialize(maint::encode(d.notification, c.dialect));
                              sim::push_meta meta;
                              meta.name =
                                  std::string(maint::wire_name(maint::kind_of(d.notification)));
                              meta.seq = maint::seq_of(d.notification);
                              meta.time_s = maint::time_of(d.notification);
                              meta.dialect = dialect_name;
                              meta.step = p.step;
                              // A replay answers a handshake: it must not overtake that handshake's
                              // +OK.
                              meta.order = c.replay ? sim::push_order::in_reply_order
                                                    : sim::push_order::immediate;
                              server.send_push(one_connection(d.conn), bytes, meta);
                            }
                          },
                          [&](const raw_command& c) {
                            for (const auto id : c.connections) {
                              server.send_raw(one_connection(id), c.bytes, p.step);
                            }
                          },
                          [&](const latency_command& c) {
                            endpoint = c.endpoint;
                            server.set_reply_latency(c.endpoint, c.delay);
                          },
                          [&](const stall_command& c) {
                            endpoint = c.endpoint;
                            server.stall_replies(c.endpoint);
                          },
                          [&](const release_command& c) {
                            endpoint = c.endpoint;
                            server.release_replies(c.endpoint);
                          },
                          [&](const fragment_command& c) {
                            endpoint = c.endpoint;
                            server.set_fragmentation(c.endpoint, c.chunk_bytes, c.pause);
                          },
                          [&](const close_command& c) {
                            const auto mode = c.how == sc::close_mode::fin ? sim::close_mode::fin
                                                                           : sim::close_mode::rst;
                            const auto point = c.point == sc::close_point::between_frames
                                                   ? sim::close_point::between_frames
                                                   : sim::close_point::mid_frame;
                            for (const auto id : c.connections) {
                              server.close_connections(one_connection(id), mode, point, c.reason);
                            }
                          },
                          [&](const accept_command& c) {
                            endpoint = c.endpoint;
                            server.set_accept_mode(c.endpoint, to_accept_mode(c.state));
                          },
                          [&](const slot_migration_command& c) {
                            endpoint = c.from;
                            if (c.what == slot_migration_command::phase::begin) {
                              server.begin_slot_migration(c.from, c.to, c.slots, c.migrate_for);
                            } else {
                              server.complete_slot_migration(c.from, c.to, c.slots);
                            }
                          },
                          [](const no_command&) {}},
               p.what);
    record.record(
        timeline::event{to_ns(actual), endpoint, 0,
                        timeline::step_executed{p.step, p.action, to_ns(p.scheduled), p.detail}});
    // The step is in the timeline: now write what it queued, without waiting for a handler
    // posted behind the socket completions already queued.
    server.flush_output();
  }

  boost::asio::any_io_executor ex;
  sim::server& server;
  timeline::recorder& record;
  std::mt19937_64 rng;
  std::uint64_t seed;
  scenario_engine eng;
  boost::asio::steady_timer timer;
  std::mutex mutex;
  std::vector<timeline::event> pending;
  bool kick_posted = false;
  std::size_t subscription = 0;
  bool running = false;
  finished_handler on_finished;
};

driver::driver(boost::asio::any_io_executor executor, sim::server& server,
               timeline::recorder& record, const sc::scenario& s, std::uint64_t seed)
    : impl_(std::make_shared<impl>(std::move(executor), server, record, s, seed)) {}

driver::~driver() { stop(); }

void driver::start(finished_handler on_finished) {
  auto& i = *impl_;
  i.on_finished = std::move(on_finished);
  for (const auto& c : i.server.connections()) {
    i.eng.adopt(known_connection{c.id, c.endpoint, c.opened_at, c.maint_enabled, c.endpoint_type});
  }
  i.subscription =
      i.record.subscribe([weak = std::weak_ptr<impl>(impl_)](const timeline::event& e) {
        if (auto self = weak.lock()) {
          self->on_event(e);
        }
      });
  i.running = true;
  const auto now = mono_clock::now();
  i.eng.start(now);
  i.record.record(timeline::event{
      to_ns(now), {}, 0, timeline::note{"timeline started, seed " + std::to_string(i.seed)}});
  // Held for the call: a finished handler may destroy this driver.
  const auto keep = impl_;
  keep->process({});
}

void driver::add_steps(std::vector<sc::step> steps) {
  auto& i = *impl_;
  if (!i.running) {
    throw std::logic_error("the timeline is not running");
  }
  i.eng.add_steps(std::move(steps), mono_clock::now());
  const auto keep = impl_;
  keep->process({});
}

void driver::stop() {
  if (!impl_) {
    return;
  }
  auto& i = *impl_;
  i.running = false;
  i.on_finished = nullptr;
  i.timer.cancel();
  if (i.subscription != 0) {
    i.record.unsubscribe(i.subscription);
    i.subscription = 0;
  }
}

auto driver::engine() const -> const scenario_engine& { return impl_->eng; }
auto driver::running() const -> bool { return impl_->running; }
auto driver::seed() const -> std::uint64_t { return impl_->seed; }

}  // namespace schsim::engine
