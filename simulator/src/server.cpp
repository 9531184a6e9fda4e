#include <schsim/simulator/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <stdexcept>

#include "session.hpp"

namespace schsim::simulator {

struct server::impl : detail::server_core {
  using server_core::server_core;
  /// Cluster mode only; the endpoints' handlers point at it.
  cluster_state cluster;
};

namespace {

using detail::endpoint_state;
using detail::server_core;
using detail::session;
using detail::tcp;
namespace asio = boost::asio;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

auto run_session(std::shared_ptr<session> s) -> asio::awaitable<void> { co_await s->run(); }

void on_accept(const std::shared_ptr<server_core>& core, endpoint_state& ep, tcp::socket sock) {
  const std::uint64_t id = core->next_connection_id++;
  boost::system::error_code ec;
  const auto peer = sock.remote_endpoint(ec);
  const std::string peer_text =
      ec ? std::string("?") : peer.address().to_string() + ":" + std::to_string(peer.port());
  sock.set_option(tcp::no_delay(true), ec);
  ++core->stats.total_connections;
  core->record(ep.config.name, id, timeline::connection_opened{peer_text});
  if (ep.mode == accept_mode::refuse) {
    core->record(ep.config.name, id,
                 timeline::connection_closed{timeline::close_initiator::server,
                                             timeline::close_how::rst, "accept mode refuse"});
    sock.set_option(asio::socket_base::linger(true, 0), ec);
    sock.close(ec);
    return;
  }
  const auto role = ep.mode == accept_mode::blackhole ? detail::session_role::blackhole
                                                      : detail::session_role::serve;
  auto s = std::make_shared<session>(core, ep, std::move(sock), id, role);
  core->sessions.emplace(id, s);
  core->stats.connected_clients = core->sessions.size();
  asio::co_spawn(core->executor, run_session(std::move(s)),
                 [core, id](const std::exception_ptr& e) {
                   core->sessions.erase(id);
                   core->stats.connected_clients = core->sessions.size();
                   if (e) {
                     std::rethrow_exception(e);  // a simulator bug: let it reach the edge
                   }
                 });
}

auto accept_loop(std::shared_ptr<server_core> core, endpoint_state* ep) -> asio::awaitable<void> {
  asio::steady_timer backoff(core->executor);
  for (;;) {
    if (core->stopped) {
      co_return;
    }
    if (ep->mode == accept_mode::not_accepting) {
      // Connections queue in the listen backlog until the mode changes.
      ep->mode_changed.expires_at(time_point::max());
      co_await ep->mode_changed.async_wait(use_tuple);
      continue;
    }
    auto [ec, sock] = co_await ep->acceptor.async_accept(use_tuple);
    if (core->stopped) {
      co_return;
    }
    if (ec == asio::error::operation_aborted) {
      continue;  // cancelled by a mode change
    }
    if (ec) {
      // e.g. EMFILE: back off rather than spin, as the Asio throttling proxy does.
      core->record(ep->config.name, 0, timeline::note{"accept failed: " + ec.message()});
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    on_accept(core, *ep, std::move(sock));
  }
}

auto to_string(accept_mode m) -> const char* {
  switch (m) {
    case accept_mode::serve:
      return "serve";
    case accept_mode::refuse:
      return "refuse";
    case accept_mode::blackhole:
      return "blackhole";
    case accept_mode::not_accepting:
      return "not_accepting";
  }
  return "?";
}

}  // namespace

server::server(boost::asio::any_io_executor executor, server_config config,
               timeline::recorder& record)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(config), record)) {}

server::~server() { stop(); }

void server::start() {
  if (impl_->started) {
    return;
  }
  impl_->started = true;
  for (const auto& cfg : impl_->config.endpoints) {
    auto ep = std::make_unique<endpoint_state>(impl_->executor, cfg, impl_->data, impl_->pubsub,
                                               impl_->blocking);
    ep->handler.set_stats(&impl_->stats);
    if (cfg.tls) {
      ep->tls_context = detail::make_tls_context(cfg);
    }
    std::uint16_t port = cfg.port;
    if (!cfg.same_port_as.empty()) {
      const auto shared =
          std::find_if(impl_->endpoints.begin(), impl_->endpoints.end(),
                       [&](const auto& bound) { return bound->config.name == cfg.same_port_as; });
      if (shared == impl_->endpoints.end()) {
        throw std::invalid_argument("endpoint " + cfg.name + ": same_port_as names " +
                                    cfg.same_port_as + ", which is not an earlier endpoint");
      }
      port = (*shared)->port;
    }
    const tcp::endpoint where(asio::ip::make_address(cfg.host), port);
    ep->acceptor.open(where.protocol());
    ep->acceptor.set_option(tcp::acceptor::reuse_address(true));
    ep->acceptor.bind(where);
    ep->acceptor.listen(asio::socket_base::max_listen_connections);
    ep->port = ep->acceptor.local_endpoint().port();
    impl_->endpoints.push_back(std::move(ep));
  }
  if (impl_->config.cluster) {
    // Nodes are added once every port is known: CLUSTER SLOTS and -MOVED announce them.
    for (auto& ep : impl_->endpoints) {
      impl_->cluster.add_node(ep->config.name, ep->config.host, ep->port, ep->config.slots);
    }
    for (auto& ep : impl_->endpoints) {
      ep->handler.set_cluster(&impl_->cluster, ep->config.name);
      ep->handler.set_redirect_observer(
          [core = impl_.get(), name = ep->config.name](const session_state& s,
                                                       const timeline::cluster_redirect& r) {
            core->record(name, s.id, r);
          });
    }
  }
  impl_->stats.started_at = mono_clock::now();
  for (auto& ep : impl_->endpoints) {
    impl_->record(ep->config.name, 0,
                  timeline::note{"listening on " + ep->config.host + ":" +
                                 std::to_string(ep->port) + " (" + to_string(ep->mode) +
                                 (!ep->config.tls        ? ")"
                                  : ep->config.tls->only ? ", TLS only)"
                                                         : ", TLS)")});
    asio::co_spawn(impl_->executor, accept_loop(impl_, ep.get()), [](const std::exception_ptr& e) {
      if (e) {
        std::rethrow_exception(e);
      }
    });
  }
}

void server::stop() {
  if (!impl_ || impl_->stopped) {
    return;
  }
  // Sessions record their close first; after `stopped` nothing more reaches the recorder.
  auto sessions = impl_->sessions;
  for (auto& [id, s] : sessions) {
    s->stop();
  }
  impl_->stopped = true;
  impl_->flush_queue.clear();
  impl_->block_timer.cancel();
  for (auto& ep : impl_->endpoints) {
    boost::system::error_code ec;
    ep->acceptor.close(ec);
    ep->mode_changed.cancel();
  }
  impl_->sessions.clear();
}

auto server::endpoints() const -> std::vector<endpoint_info> {
  std::vector<endpoint_info> out;
  for (const auto& ep : impl_->endpoints) {
    out.push_back(endpoint_info{ep->config.name, ep->config.host, ep->port, ep->mode});
  }
  return out;
}

auto server::endpoint(const std::string& name) const -> std::optional<endpoint_info> {
  for (const auto& ep : impl_->endpoints) {
    if (ep->config.name == name) {
      return endpoint_info{ep->config.name, ep->config.host, ep->port, ep->mode};
    }
  }
  return std::nullopt;
}

namespace {

auto matches(const selector& which, const session& s) -> bool {
  switch (which.which) {
    case selector::scope::all:
      break;
    case selector::scope::endpoint:
      if (s.endpoint().config.name != which.endpoint) {
        return false;
      }
      break;
    case selector::scope::connection:
      if (s.id() != which.connection) {
        return false;
      }
      break;
  }
  return !which.opted_in_only || s.maint_enabled();
}

auto find_endpoint(server_core& core, const std::string& name) -> endpoint_state& {
  for (auto& ep : core.endpoints) {
    if (ep->config.name == name) {
      return *ep;
    }
  }
  throw std::invalid_argument("schsim simulator: no endpoint named '" + name + "'");
}

template <class Fn>
auto for_each_selected(server_core& core, const selector& which, Fn fn) -> std::size_t {
  // Copy: a control call can end a session (output limit), which erases it from the map later.
  std::vector<std::shared_ptr<session>> selected;
  for (const auto& [id, s] : core.sessions) {
    if (matches(which, *s)) {
      selected.push_back(s);
    }
  }
  std::size_t n = 0;
  for (const auto& s : selected) {
    n += fn(*s) ? 1 : 0;
  }
  return n;
}

void wake_endpoint(server_core& core, const endpoint_state& ep) {
  for (const auto& [id, s] : core.sessions) {
    if (&s->endpoint() == &ep) {
      s->wake();
    }
  }
}

}  // namespace

auto server::connections(const selector& which) const -> std::vector<connection_info> {
  std::vector<connection_info> out;
  for (const auto& [id, s] : impl_->sessions) {
    if (matches(which, *s)) {
      out.push_back(s->info());
    }
  }
  return out;
}

auto server::send_push(const selector& which, const std::string& bytes, const push_meta& meta)
    -> std::size_t {
  if (!impl_->maint_pushes_enabled) {
    const auto would_reach = connections(which).size();
    impl_->record({}, 0,
                  timeline::note{meta.name + " seq=" + std::to_string(meta.seq) + " not sent to " +
                                 std::to_string(would_reach) +
                                 " connection(s): maintenance notifications are off"});
    return 0;
  }
  // One copy of the metadata for the whole fan-out; each session appends the bytes to its
  // output stream and keeps a reference to the metadata until the frame is written.
  const auto shared = std::make_shared<const push_meta>(meta);
  return for_each_selected(*impl_, which, [&](session& s) { return s.push(bytes, shared); });
}

auto server::send_raw(const selector& which, const std::string& bytes, const std::string& step)
    -> std::size_t {
  auto meta = std::make_shared<push_meta>();
  meta->step = step;
  const std::shared_ptr<const push_meta> shared = std::move(meta);
  return for_each_selected(*impl_, which, [&](session& s) { return s.raw(bytes, shared); });
}

void server::flush_output() { impl_->flush(); }

void server::set_reply_latency(const std::string& endpoint, std::chrono::milliseconds delay) {
  auto& ep = find_endpoint(*impl_, endpoint);
  ep.reply_latency = std::max(delay, std::chrono::milliseconds(0));
  impl_->record(
      endpoint, 0,
      timeline::note{"reply latency " + std::to_string(ep.reply_latency.count()) + " ms"});
  wake_endpoint(*impl_, ep);
}

void server::stall_replies(const std::string& endpoint) {
  auto& ep = find_endpoint(*impl_, endpoint);
  ep.stalled = true;
  impl_->record(endpoint, 0, timeline::note{"replies stalled"});
}

void server::release_replies(const std::string& endpoint) {
  auto& ep = find_endpoint(*impl_, endpoint);
  ep.stalled = false;
  impl_->record(endpoint, 0, timeline::note{"replies released"});
  wake_endpoint(*impl_, ep);
}

void server::set_fragmentation(const std::string& endpoint, std::size_t chunk_bytes,
                               std::chrono::milliseconds pause) {
  auto& ep = find_endpoint(*impl_, endpoint);
  ep.chunk_bytes = chunk_bytes;
  ep.chunk_pause = std::max(pause, std::chrono::milliseconds(0));
  impl_->record(endpoint, 0,
                timeline::note{chunk_bytes == 0
                                   ? std::string("fragmentation off")
                                   : "fragmentation " + std::to_string(chunk_bytes) +
                                         " bytes, pause " + std::to_string(pause.count()) + " ms"});
  wake_endpoint(*impl_, ep);
}

auto server::close_connections(const selector& which, close_mode mode, close_point point,
                               const std::string& reason) -> std::size_t {
  return for_each_selected(*impl_, which, [&](session& s) { return s.close(mode, point, reason); });
}

void server::set_maint_pushes_enabled(bool enabled) {
  if (impl_->maint_pushes_enabled != enabled) {
    impl_->maint_pushes_enabled = enabled;
    impl_->record({}, 0,
                  timeline::note{std::string("maintenance notifications ") +
                                 (enabled ? "on" : "off") + " (client_maint_notifications)"});
  }
}

void server::set_command_interceptor(command_interceptor fn) {
  impl_->interceptor = std::move(fn);
  impl_->record({}, 0,
                timeline::note{impl_->interceptor ? "command interceptors installed"
                                                  : "command interceptors removed"});
}

void server::set_accept_mode(const std::string& endpoint, accept_mode mode) {
  auto& ep = find_endpoint(*impl_, endpoint);
  if (ep.mode == mode) {
    return;
  }
  ep.mode = mode;
  impl_->record(endpoint, 0, timeline::note{std::string("accept mode ") + to_string(mode)});
  if (mode == accept_mode::not_accepting) {
    boost::system::error_code ec;
    ep.acceptor.cancel(ec);
  }
  ep.mode_changed.cancel();
}

auto server::data() -> keyspace& { return impl_->data; }

auto server::publish(const std::string& endpoint, const std::string& channel,
                     const std::string& payload, bool sharded) -> std::size_t {
  std::string node = endpoint;
  if (sharded) {
    const auto* owner =
        impl_->config.cluster ? impl_->cluster.owner(schsim::cluster::key_slot(channel)) : nullptr;
    node = owner != nullptr ? owner->name : std::string{};
  }
  auto p = sharded ? impl_->pubsub.spublish(node, channel, payload)
                   : impl_->pubsub.publish(channel, payload);
  const auto receivers = p.receivers.size();
  if (impl_->config.record_commands) {
    impl_->record(node.empty() ? endpoint : node, 0,
                  timeline::pubsub_published{p.channel, p.sharded, receivers,
                                             payload_seq(p.payload), p.payload.size()});
  }
  std::vector<publication> out;
  out.push_back(std::move(p));
  impl_->deliver(std::move(out));
  return receivers;
}

auto server::produce_list_element(std::string_view key, std::string_view element, int db)
    -> std::optional<std::size_t> {
  const time_point now = mono_clock::now();
  const auto pushed = impl_->data.push(db, key, std::span(&element, 1), list_end::right, now);
  if (pushed.wrong_type) {
    return std::nullopt;
  }
  impl_->blocking.signal_ready(db, key);
  impl_->record_pushed({}, 0, {list_element_event{std::string(key), std::string(element), 0}});
  impl_->serve_blocked_clients(now);
  return pushed.length;
}

void server::begin_slot_migration(const std::string& from, const std::string& to,
                                  const schsim::cluster::slot_set& slots,
                                  std::chrono::milliseconds migrate_for) {
  if (!impl_->config.cluster) {
    throw std::logic_error("schsim simulator: slot migration on a server not in cluster mode");
  }
  impl_->cluster.begin_migration(from, to, slots, mono_clock::now(), migrate_for);
  impl_->record(from, 0, timeline::slot_migration_started{from, to, slots.to_string()});
}

void server::complete_slot_migration(const std::string& from, const std::string& to,
                                     const schsim::cluster::slot_set& slots) {
  if (!impl_->config.cluster) {
    throw std::logic_error("schsim simulator: slot migration on a server not in cluster mode");
  }
  impl_->cluster.complete_migration(from, to, slots);
  impl_->drop_unserved_shard_channels(impl_->cluster);
  impl_->record(from, 0, timeline::slot_migration_completed{from, to, slots.to_string()});
}

auto server::cluster() const -> const cluster_state* {
  return impl_->config.cluster ? &impl_->cluster : nullptr;
}

}  // namespace schsim::simulator
