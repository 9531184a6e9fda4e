#include "session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace schsim::simulator::detail {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Reads go into one buffer per thread and are copied into the session's parser at once, so an
/// idle session holds no read buffer (16 KiB each made 10,000 idle connections cost 160 MiB).
constexpr std::size_t read_chunk = 16 * 1024;
/// Reads per session before it lets other handlers run (fairness under a pipelining flood).
constexpr int reads_per_turn = 4;
/// The first byte of a TLS record carrying a handshake message (a ClientHello opens with it).
constexpr unsigned char tls_record_handshake = 0x16;

auto thread_read_buffer() -> std::array<char, read_chunk>& {
  thread_local std::array<char, read_chunk> buffer;
  return buffer;
}

auto would_block(const boost::system::error_code& ec) -> bool {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

auto endpoint_string(const tcp::endpoint& ep) -> std::string {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

/// Appends a short rendering of a reply for the timeline to `out`: the first line (at most 128
/// bytes), or `$"payload"` for strings (at most 64 bytes of the payload, then `...`).
void summarize(std::string_view frame, std::string& out) {
  if (frame.empty()) {
    return;
  }
  const std::size_t eol = std::min(frame.find("\r\n"), frame.size());
  const std::string_view line = frame.substr(0, eol);
  if ((frame[0] == '$' || frame[0] == '=' || frame[0] == '!') && line != "$-1") {
    std::size_t len = 0;
    std::from_chars(line.data() + 1, line.data() + line.size(), len);
    constexpr std::size_t shown = 64;
    const std::string_view payload =
        frame.substr(std::min(eol + 2, frame.size()), std::min(len, shown));
    out.push_back(frame[0]);
    out.push_back('"');
    out.append(payload);
    if (len > shown) {
      out.append("...");
    }
    out.push_back('"');
    return;
  }
  out.append(line.substr(0, 128));
}

auto close_how_of(const boost::system::error_code& ec) -> timeline::close_how {
  // A TLS peer that closes TCP without close_notify ends the stream "truncated": still its FIN.
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    return timeline::close_how::fin;
  }
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
    return timeline::close_how::rst;
  }
  return timeline::close_how::error;
}

}  // namespace

void server_core::record(const std::string& endpoint, std::uint64_t conn, timeline::detail what) {
  if (stopped) {
    return;
  }
  recorder->record(timeline::event{to_ns(mono_clock::now()), endpoint, conn, std::move(what)});
}

void server_core::record_at(std::int64_t t_ns, const std::string& endpoint, std::uint64_t conn,
                            timeline::detail what) {
  if (stopped) {
    return;
  }
  recorder->record(timeline::event{t_ns, endpoint, conn, std::move(what)});
}

void server_core::record_command(const std::string& endpoint, std::uint64_t conn,
                                 std::uint64_t index, std::span<const std::string_view> args,
                                 std::int64_t t_ns) {
  if (stopped) {
    return;
  }
  recorder->record_command(timeline::command_view{t_ns, endpoint, conn, index, args});
}

void server_core::record_reply(const std::string& endpoint, std::uint64_t conn, std::uint64_t index,
                               bool error, std::string_view summary, std::int64_t t_ns) {
  if (stopped) {
    return;
  }
  recorder->record_reply(timeline::reply_view{t_ns, endpoint, conn, index, error, summary});
}

flush_workers::flush_workers(std::size_t threads) {
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i] { work(i + 1); });
  }
}

flush_workers::~flush_workers() {
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : threads_) {
    t.join();
  }
}

void flush_workers::write_slice(std::size_t slice) {
  const std::size_t parts = threads_.size() + 1;
  const std::size_t from = job_.size() * slice / parts;
  const std::size_t to = job_.size() * (slice + 1) / parts;
  for (std::size_t i = from; i < to; ++i) {
    job_[i]->direct_write();
  }
}

void flush_workers::run(std::span<session* const> sessions) {
  {
    const std::lock_guard lock(mutex_);
    job_ = sessions;
    running_ = threads_.size();
    ++generation_;
  }
  start_.notify_all();
  write_slice(0);
  std::unique_lock lock(mutex_);
  finished_.wait(lock, [this] { return running_ == 0; });
  job_ = {};
}

void flush_workers::work(std::size_t slice) {
  std::uint64_t seen = 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    start_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) {
      return;
    }
    seen = generation_;
    lock.unlock();
    write_slice(slice);
    lock.lock();
    if (--running_ == 0) {
      finished_.notify_one();
    }
  }
}

void server_core::deliver(std::vector<publication> publications) {
  for (auto& p : publications) {
    const auto shared = std::make_shared<const publication>(std::move(p));
    for (const auto& receiver : shared->receivers) {
      if (const auto it = sessions.find(receiver.conn); it != sessions.end()) {
        it->second->deliver(shared, receiver);
      }
    }
  }
}

void server_core::drop_unserved_shard_channels(const cluster_state& cluster) {
  const auto dropped =
      pubsub.drop_unserved_shard_channels([&](std::string_view node, std::string_view channel) {
        const auto* owner = cluster.owner(schsim::cluster::key_slot(channel));
        return owner != nullptr && owner->name == node;
      });
  for (const auto& d : dropped) {
    if (const auto it = sessions.find(d.conn); it != sessions.end()) {
      it->second->push_sunsubscribe(d.channel, d.remaining);
    }
  }
}

void server_core::record_pushed(const std::string& endpoint, std::uint64_t conn,
                                const std::vector<list_element_event>& pushed) {
  if (!config.record_commands) {
    return;
  }
  for (const auto& p : pushed) {
    record(endpoint, conn, timeline::list_pushed{p.key, p.element, conn == 0});
  }
}

void server_core::serve_blocked_clients(time_point now) {
  if (blocking.has_ready()) {
    deliver_unblocked(serve_blocked(data, blocking, now));
  }
  arm_block_timer();
}

void server_core::deliver_unblocked(std::vector<unblocked_reply> replies) {
  for (auto& reply : replies) {
    const auto it = sessions.find(reply.conn);
    if (it == sessions.end()) {
      continue;  // cannot happen: a closing session leaves the registry first
    }
    record_pushed(it->second->endpoint().config.name, reply.conn, reply.pushed);
    it->second->unblocked(std::move(reply));
  }
}

void server_core::arm_block_timer() {
  const auto due = blocking.next_deadline().value_or(time_point::max());
  if (due == block_timer_at) {
    return;
  }
  block_timer_at = due;
  if (due == time_point::max()) {
    block_timer.cancel();
    return;
  }
  block_timer.expires_at(due);
  // The timer is this object's member: a wait still pending when it is destroyed (or re-armed)
  // ends with operation_aborted, so `this` is only used on success.
  block_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped) {
      return;
    }
    block_timer_at = time_point::max();
    deliver_unblocked(expire_blocked(blocking, mono_clock::now()));
    arm_block_timer();
  });
}

void server_core::flush() {
  flush_posted = false;
  // Swap out first: a pump can record events whose observers queue more output.
  std::vector<std::shared_ptr<session>> queued;
  queued.swap(flush_queue);
  const std::size_t threshold = config.parallel_flush_min_sessions;
  if (threshold > 0 && queued.size() > threshold) {
    // Fork-join: the sends of bytes already queued run on the workers; everything else
    // (accounting, timeline events, the asynchronous fallback) stays on this thread, after the
    // join, in queue order as before.
    std::vector<session*> claimed;
    claimed.reserve(queued.size());
    for (const auto& s : queued) {
      if (s->claim_direct_write()) {
        claimed.push_back(s.get());
      }
    }
    if (!workers) {
      const std::size_t cores = std::max(2U, std::thread::hardware_concurrency());
      workers = std::make_unique<flush_workers>(std::min<std::size_t>(cores - 1, 3));
    }
    workers->run(claimed);
    for (const auto& s : queued) {
      s->finish_direct_write();
    }
  } else {
    for (const auto& s : queued) {
      s->pump();
    }
  }
  queued.clear();
  if (flush_queue.empty()) {
    flush_queue.swap(queued);  // keep the capacity for the next fan-out
  }
}

/// Proxy mode: the client connection's own connection to the upstream Redis.
struct session::upstream_link {
  upstream_link(const asio::any_io_executor& ex, const resp3::parser_limits& limits)
      : socket(ex), frames(limits) {}
  tcp::socket socket;
  bool connected = false;
  bool writing = false;
  bool failed = false;
  std::string unsent;    // commands not yet handed to a write (before the connect, or behind one)
  std::string inflight;  // the write in progress
  upstream_frames frames;
  std::vector<char> read_buffer = std::vector<char>(read_chunk);
  /// What to do with each reply the upstream owes, in order: relay it to the client, or drop
  /// it (the upstream's answer to a HELLO schsim already answered).
  enum class reply_use : std::uint8_t { relay, drop };
  fifo<reply_use> expect;
};

/// A TLS connection: the stream over the session's own socket (so closing, lingering and
/// resetting stay the socket's) and a read buffer of its own (an asynchronous read cannot use
/// the per-thread one that plaintext reads borrow synchronously).
struct session::tls_link {
  tls_link(tcp::socket& socket, asio::ssl::context& context) : stream(socket, context) {}
  asio::ssl::stream<tcp::socket&> stream;
  std::vector<char> read_buffer = std::vector<char>(read_chunk);
};

auto make_tls_context(const endpoint_config& cfg) -> std::unique_ptr<asio::ssl::context> {
  const endpoint_tls_config& tls = *cfg.tls;
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  const auto where = [&](const char* what, const boost::system::error_code& ec) {
    return std::runtime_error("endpoint " + cfg.name + ": TLS " + what + ": " + ec.message());
  };
  boost::system::error_code ec;
  // TLS 1.2 and 1.3 only, as Redis 7 serves by default.
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1,
                   ec);
  ctx->use_certificate_chain(asio::buffer(tls.cert_pem), ec);
  if (ec) {
    throw where("certificate", ec);
  }
  ctx->use_private_key(asio::buffer(tls.key_pem), asio::ssl::context::pem, ec);
  if (ec) {
    throw where("private key", ec);
  }
  if (!tls.client_ca_pem.empty()) {
    ctx->add_certificate_authority(asio::buffer(tls.client_ca_pem), ec);
    if (ec) {
      throw where("client CA", ec);
    }
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

session::session(std::shared_ptr<server_core> core, endpoint_state& ep, tcp::socket socket,
                 std::uint64_t id, session_role role)
    : core_(std::move(core)),
      ep_(&ep),
      socket_(std::move(socket)),
      wake_(socket_.get_executor()),
      pause_(socket_.get_executor()),
      role_(role),
      parser_(core_->config.limits, resp3::inline_mode::accepted),
      pubsub_limit_(core_->config.pubsub_output_limit) {
  state_.id = id;
  boost::system::error_code ec;
  const auto peer = socket_.remote_endpoint(ec);
  state_.peer = ec ? std::string("?") : endpoint_string(peer);
  const auto local = socket_.local_endpoint(ec);
  state_.local = ec ? std::string("?") : endpoint_string(local);
  state_.opened_at = mono_clock::now();
  // Reads and writes try the socket directly before waiting (see run() and pump()).
  socket_.non_blocking(true, ec);
  ep_->handler.init_session(state_);
  if (core_->config.upstream && role_ == session_role::serve) {
    upstream_ = std::make_unique<upstream_link>(socket_.get_executor(), core_->config.limits);
  }
  transport_ready_ = ep_->tls_context == nullptr;
}

session::~session() = default;

auto session::run() -> asio::awaitable<void> {
  // Read without a buffer of our own: try the socket (non-blocking), and only when it has
  // nothing wait for readiness. Asio's reactor is edge-triggered, so after a wait we read until
  // the socket would block, yielding every few reads to keep a flooding client from starving
  // the others.
  int reads = 0;
  if (upstream_) {
    asio::co_spawn(socket_.get_executor(), run_upstream(), asio::detached);
  }
  if (!transport_ready_ && !co_await start_transport()) {
    co_return;
  }
  if (tls_) {
    co_await read_tls();
    co_return;
  }
  for (;;) {
    // Looked up after every resumption: with several threads on the executor the coroutine
    // may resume on another thread, whose buffer is the one free to use now.
    auto& buffer = thread_read_buffer();
    boost::system::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
    if (would_block(ec)) {
      reads = 0;
      auto [wait_ec] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
      if (done_) {
        co_return;
      }
      if (wait_ec) {
        ec = wait_ec;
      } else {
        continue;
      }
    }
    if (done_) {
      co_return;
    }
    if (ec) {
      read_failed(ec);
      co_return;
    }
    consume(std::string_view(buffer.data(), n));
    if (done_) {
      co_return;
    }
    if (++reads >= reads_per_turn) {
      reads = 0;
      co_await asio::post(socket_.get_executor(), asio::use_awaitable);
      if (done_) {
        co_return;
      }
    }
  }
}

void session::read_failed(const boost::system::error_code& ec) {
  if (draining_) {
    // Our FIN is out and recorded; the client's FIN (or reset) ends the linger.
    peer_eof_ = true;
    finish(close_->by, close_->how, close_->reason, false);
    return;
  }
  const std::string reason =
      close_how_of(ec) == close_how::fin ? "client closed the connection" : ec.message();
  finish(close_initiator::client, close_how_of(ec), reason, true);
}

// ---------------------------------------------------------------------------------------------
// TLS

void session::record_tls(timeline::tls_handshake what) {
  core_->record(ep_->config.name, state_.id, std::move(what));
}

auto session::peek_first_byte() -> asio::awaitable<std::optional<unsigned char>> {
  for (;;) {
    unsigned char first = 0;
    const ssize_t n = ::recv(socket_.native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 1) {
      co_return first;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      const boost::system::error_code ec =
          n == 0 ? boost::system::error_code(asio::error::eof)
                 : boost::system::error_code(errno, asio::error::get_system_category());
      record_tls({false, false, {}, {}, false, "closed before the first byte: " + ec.message()});
      read_failed(ec);
      co_return std::nullopt;
    }
    auto [wait_ec] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
    if (done_) {
      co_return std::nullopt;
    }
    if (wait_ec) {
      record_tls({false,
                  false,
                  {},
                  {},
                  false,
                  wait_ec == asio::error::operation_aborted
                      ? "no byte within the TLS handshake timeout"
                      : "waiting for the first byte: " + wait_ec.message()});
      finish(close_initiator::server, close_how::fin, "TLS handshake timeout", true);
      co_return std::nullopt;
    }
  }
}

auto session::start_transport() -> asio::awaitable<bool> {
  // One deadline for the whole handshake: cancelling the socket ends the wait or the TLS
  // handshake in progress, whichever it is.
  pause_.expires_after(core_->config.tls_handshake_timeout);
  pause_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->done_ && !self->transport_ready_) {
      boost::system::error_code ignored;
      self->socket_.cancel(ignored);
    }
  });
  const auto first = co_await peek_first_byte();
  bool ok = false;
  if (first && *first == tls_record_handshake) {
    ok = co_await handshake_tls();
  } else if (first && ep_->config.tls->only) {
    record_tls({false, false, {}, {}, false, "plaintext on a TLS-only endpoint"});
    finish(close_initiator::server, close_how::fin, "plaintext on a TLS-only endpoint", true);
  } else if (first) {
    record_tls({false, false, {}, {}, false, {}});
    ok = true;
  }
  pause_.cancel();
  if (!ok || done_) {
    co_return false;
  }
  transport_ready_ = true;
  pump();  // what control calls queued during the handshake
  co_return !done_;
}

auto session::handshake_tls() -> asio::awaitable<bool> {
  tls_ = std::make_unique<tls_link>(socket_, *ep_->tls_context);
  auto [ec] = co_await tls_->stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
  if (done_) {
    co_return false;
  }
  SSL* ssl = tls_->stream.native_handle();
  timeline::tls_handshake what;
  what.tls = true;
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
    what.sni = sni;
  }
  if (ec) {
    what.error = ec == asio::error::operation_aborted ? "handshake timed out" : ec.message();
    record_tls(std::move(what));
    finish(close_initiator::server, close_how::fin, "TLS handshake failed", true);
    co_return false;
  }
  what.completed = true;
  what.version = SSL_get_version(ssl);
  what.client_certificate = SSL_get0_peer_certificate(ssl) != nullptr;
  record_tls(std::move(what));
  co_return true;
}

auto session::read_tls() -> asio::awaitable<void> {
  for (;;) {
    auto [ec, n] =
        co_await tls_->stream.async_read_some(asio::buffer(tls_->read_buffer), use_tuple);
    if (done_) {
      co_return;
    }
    if (ec) {
      read_failed(ec);
      co_return;
    }
    consume(std::string_view(tls_->read_buffer.data(), n));
    if (done_) {
      co_return;
    }
  }
}

void session::consume(std::string_view input) {
  if (role_ == session_role::blackhole || input_closed_) {
    return;  // swallowed: blackhole mode, or after QUIT / a protocol error / a close
  }
  if (input_total_ == 0 && !input.empty() && !tls_ && ep_->tls_context == nullptr &&
      static_cast<unsigned char>(input[0]) == tls_record_handshake) {
    // A TLS ClientHello on a plaintext endpoint: no RESP command starts with 0x16.
    record_tls({true, false, {}, {}, false, "TLS ClientHello on a plaintext endpoint"});
    finish(close_initiator::server, close_how::fin, "TLS on a plaintext endpoint", true);
    return;
  }
  input_total_ += input.size();
  parser_.feed(input);
  process_input();
  if (done_) {
    return;
  }
  check_output_limit();
  pump();
}

auto session::info() const -> connection_info {
  connection_info ci;
  ci.id = state_.id;
  ci.endpoint = ep_->config.name;
  ci.peer = state_.peer;
  ci.protocol = static_cast<int>(state_.protocol);
  ci.maint_enabled = state_.maint_enabled;
  ci.endpoint_type = state_.endpoint_type;
  ci.opened_at = state_.opened_at;
  ci.tls = tls_ != nullptr && transport_ready_;
  return ci;
}

auto session::open_for_output() const -> bool {
  return !done_ && !close_ && !input_closed_ && role_ == session_role::serve;
}

// ---------------------------------------------------------------------------------------------
// Reading and executing

void session::process_input() {
  const time_point now = mono_clock::now();
  // A complete command comes as views into the parser's buffer (no string per argument); they
  // stay valid while it executes, since nothing is fed to the parser until this loop returns.
  // A blocked connection's later commands stay there, unparsed, until it is unblocked (Redis
  // processes a blocked client's input only then).
  std::optional<resp3::value> request;
  while (!input_closed_ && !done_ && !blocked_) {
    const auto form = parser_.next_request(args_, request);
    if (form == resp3::parser::request_form::views) {
      execute(args_, now);
      continue;
    }
    if (form == resp3::parser::request_form::none) {
      if (parser_.failed()) {
        protocol_error("ERR " + parser_.error_message(), parser_.error_offset(), now);
      }
      return;
    }
    const request_check check = request_args(*request, args_);
    switch (check.kind) {
      case request_kind::ignore:
        break;
      case request_kind::protocol_error:
        protocol_error(check.error, input_total_ - parser_.buffered(), now);
        return;
      case request_kind::command:
        execute(args_, now);
        break;
    }
  }
}

void session::execute(std::span<const std::string_view> args, time_point now) {
  const std::uint64_t index = commands_++;
  ++core_->stats.total_commands;
  if (core_->config.record_commands) {
    // Stamped with the time the batch was read (one clock read per batch, not per command);
    // the recorder raises a stamp older than the newest event it holds, so order and time agree.
    core_->record_command(ep_->config.name, state_.id, index, args, to_ns(now));
  }

  // The control API's interceptors answer a command before the handler or the upstream does.
  std::optional<intercepted_reply> canned;
  if (core_->interceptor) {
    canned = core_->interceptor(args);
    if (canned) {
      core_->record(ep_->config.name, state_.id,
                    timeline::note{"command answered by interceptor " + canned->interceptor});
    }
  }
  if (!canned && upstream_ && forward_to_upstream(args, index)) {
    return;
  }
  command_outcome outcome = queue_reply(args, index, canned, now);
  if (upstream_ && !canned && !outcome.error) {
    // HELLO and RESET also change the upstream connection (its protocol), once schsim has
    // accepted them; the upstream's own reply is not the client's.
    auto decision = route_command(args);
    if (decision.route == proxy_route::both) {
      send_upstream(encode_command(std::span<const std::string>(decision.upstream_args)), false);
    }
  }
  report_outcome(std::move(outcome), now);
}

auto session::queue_reply(std::span<const std::string_view> args, std::uint64_t index,
                          const std::optional<intercepted_reply>& canned, time_point now)
    -> command_outcome {
  const bool recording = core_->config.record_commands;
  frame_mark mark;
  mark.kind = frame_kind::reply;
  mark.index = index;
  command_outcome outcome;
  auto run = [&](std::string& out) {
    if (canned) {
      out += canned->bytes;
      return command_outcome{};
    }
    state_.command_index = index;
    return ep_->handler.execute(state_, args, now, out);
  };
  const auto note_popped = [&] {
    if (!outcome.popped.empty()) {
      mark.popped = std::make_shared<const std::vector<list_element_event>>(outcome.popped);
    }
  };
  const bool direct = held_.empty() && ep_->reply_latency.count() == 0 && !ep_->stalled;
  if (direct) {
    // Fast path: the reply goes straight into the ready buffer, no copy.
    const std::size_t before = out_.size();
    outcome = run(out_);
    if (outcome.blocked) {
      blocked_ = true;  // no reply yet: unblocked() queues it
      return outcome;
    }
    const std::size_t len = out_.size() - before;
    mark.start = queued_;
    mark.end = queued_ + len;
    mark.error = outcome.error;
    note_popped();
    if (recording) {
      add_summary(std::string_view(out_).substr(before), mark);
    }
    queued_ += len;
    marks_.push_back(std::move(mark));
    if (outcome.then == after_reply::close) {
      input_closed_ = true;
      close_ = close_request{close_initiator::client, close_how::fin, "QUIT", queued_};
    }
    return outcome;
  }
  std::string bytes;
  outcome = run(bytes);
  if (outcome.blocked) {
    blocked_ = true;
    return outcome;
  }
  mark.error = outcome.error;
  note_popped();
  if (recording) {
    add_summary(bytes, mark);
  }
  std::optional<close_request> close_after;
  if (outcome.then == after_reply::close) {
    input_closed_ = true;
    close_after = close_request{close_initiator::client, close_how::fin, "QUIT", 0};
  }
  enqueue(bytes, std::move(mark), std::move(close_after), now + ep_->reply_latency, true);
  return outcome;
}

void session::report_outcome(command_outcome outcome, time_point now) {
  // Recorded after the reply is queued, so an observer that reacts with send_push() (e.g. the
  // scenario engine replaying an active notification) lands behind the +OK.
  if (outcome.hello) {
    core_->record(ep_->config.name, state_.id, std::move(*outcome.hello));
  }
  if (outcome.maint) {
    core_->record(ep_->config.name, state_.id, std::move(*outcome.maint));
  }
  if (outcome.transaction && core_->config.record_commands) {
    core_->record(ep_->config.name, state_.id, std::move(*outcome.transaction));
  }
  core_->record_pushed(ep_->config.name, state_.id, outcome.pushed);
  if (!outcome.publications.empty()) {
    if (core_->config.record_commands) {
      for (const auto& p : outcome.publications) {
        core_->record(ep_->config.name, state_.id,
                      timeline::pubsub_published{p.channel, p.sharded, p.receivers.size(),
                                                 payload_seq(p.payload), p.payload.size()});
      }
    }
    // After the reply: a publisher subscribed to its own channel reads the count first.
    core_->deliver(std::move(outcome.publications));
  }
  // After the reply too: a push served to a blocked client is counted in the pusher's reply.
  if (outcome.blocked || core_->blocking.has_ready()) {
    core_->serve_blocked_clients(now);
  }
}

void session::unblocked(unblocked_reply reply) {
  if (done_ || !blocked_) {
    return;
  }
  blocked_ = false;
  frame_mark mark;
  mark.kind = frame_kind::reply;
  mark.index = reply.index;
  mark.error = reply.error;
  if (core_->config.record_commands) {
    add_summary(reply.reply, mark);
  }
  if (!reply.popped.empty()) {
    mark.popped = std::make_shared<const std::vector<list_element_event>>(std::move(reply.popped));
  }
  const time_point now = mono_clock::now();
  enqueue(reply.reply, std::move(mark), std::nullopt, now + ep_->reply_latency, true);
  schedule_flush();
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->resume_input(); });
}

void session::resume_input() {
  if (done_ || blocked_) {
    return;
  }
  process_input();
  if (done_) {
    return;
  }
  check_output_limit();
  pump();
}

void session::protocol_error(const std::string& reply_text, std::uint64_t offset, time_point now) {
  input_closed_ = true;
  const std::string message = reply_text.starts_with("ERR ") ? reply_text.substr(4) : reply_text;
  core_->record(ep_->config.name, state_.id, timeline::protocol_error{message, offset});
  std::string bytes = "-" + reply_text + "\r\n";
  frame_mark mark;
  mark.kind = frame_kind::error;
  mark.error = true;
  enqueue(bytes, std::move(mark),
          close_request{close_initiator::server, close_how::fin, "protocol error", 0},
          now + ep_->reply_latency, true);
}

// ---------------------------------------------------------------------------------------------
// Output bookkeeping

void session::enqueue(std::string_view bytes, frame_mark mark,
                      std::optional<close_request> close_after, time_point due,
                      bool keep_reply_order) {
  // A push (or Pub/Sub frame) in reply order waits only behind held replies; a reply also waits for
  // its own due time and for a stall.
  const bool hold =
      keep_reply_order &&
      (!held_.empty() || (mark.kind != frame_kind::push && mark.kind != frame_kind::pubsub &&
                          (ep_->stalled || due > mono_clock::now())));
  if (!hold) {
    append_ready(bytes, std::move(mark));
    if (close_after) {
      close_after->at = queued_;
      close_ = std::move(close_after);
    }
    return;
  }
  held_bytes_ += bytes.size();
  held_.push_back(held_frame{std::string(bytes), due, std::move(mark), std::move(close_after)});
}

void session::append_ready(std::string_view bytes, frame_mark mark) {
  mark.start = queued_;
  mark.end = queued_ + bytes.size();
  out_.append(bytes);
  queued_ = mark.end;
  marks_.push_back(std::move(mark));
}

void session::promote(time_point now, bool force_one) {
  while (!held_.empty() && !close_) {
    held_frame& h = held_.front();
    if (h.awaiting_upstream) {
      return;  // replies keep their order: nothing overtakes one still upstream
    }
    if (!force_one && (ep_->stalled || h.due > now)) {
      return;
    }
    held_bytes_ -= h.bytes.size();
    append_ready(h.bytes, std::move(h.mark));
    if (h.close_after) {
      h.close_after->at = queued_;
      close_ = std::move(h.close_after);
    }
    held_.pop_front();
    if (force_one) {
      return;
    }
  }
}

auto session::output_backlog() const -> std::size_t {
  return static_cast<std::size_t>(queued_ - written_) + held_bytes_;
}

auto session::check_pubsub_limit() -> bool {
  if (done_ || !core_->pubsub.subscribed(state_.id)) {
    return false;
  }
  auto why = pubsub_limit_.check(output_backlog(), mono_clock::now());
  if (!why) {
    return false;
  }
  // Redis frees the client (a close, not a reset) and drops what it had not written.
  finish(close_initiator::server, close_how::fin, *why, true);
  return true;
}

void session::check_output_limit() {
  if (!done_ && output_backlog() > core_->config.max_output_buffer) {
    finish(close_initiator::server, close_how::rst, "output buffer limit", true);
  }
}

void session::add_summary(std::string_view reply, frame_mark& mark) {
  mark.summary_at = summaries_base_ + summaries_.size();
  summarize(reply, summaries_);
  mark.summary_len =
      static_cast<std::uint32_t>(summaries_base_ + summaries_.size() - mark.summary_at);
}

void session::release_summaries() {
  if (marks_.empty() && held_.empty()) {
    summaries_base_ += summaries_.size();
    summaries_.clear();  // keeps its capacity: the next replies' summaries allocate nothing
    return;
  }
  constexpr std::size_t keep_at_most = 64 * 1024;
  if (summaries_.size() < keep_at_most) {
    return;
  }
  // A client whose replies never all drain: drop the summaries no pending frame refers to.
  // (Not necessarily a prefix in frame order: a proxied reply is summarized when the upstream
  // answers, after replies schsim gave itself to later commands.)
  std::uint64_t lowest = summaries_base_ + summaries_.size();
  const auto lower = [&](const frame_mark& m) {
    if (m.kind == frame_kind::reply && m.summary_len > 0) {
      lowest = std::min(lowest, m.summary_at);
    }
  };
  for (const auto& m : marks_) {
    lower(m);
  }
  for (const auto& h : held_) {
    lower(h.mark);
  }
  summaries_.erase(0, static_cast<std::size_t>(lowest - summaries_base_));
  summaries_base_ = lowest;
}

void session::record_written(std::int64_t t_ns) {
  const bool recording = core_->config.record_commands;
  // One clock read for every reply this write completed, when the writer did not stamp it.
  std::int64_t reply_t_ns = t_ns;
  while (!marks_.empty() && (marks_.front().start < written_ || marks_.front().end <= written_)) {
    frame_mark& m = marks_.front();
    // A push is written when its first byte is: from then on the client can read it and act,
    // however long the rest of a fragmented write takes. Every other frame counts once whole.
    if (m.kind == frame_kind::push && !m.recorded) {
      record_push_written(m, t_ns);
    }
    if (m.end > written_) {
      break;
    }
    switch (m.kind) {
      case frame_kind::reply:
        if (m.popped) {
          record_popped(m, timeline::list_popped::outcome::written);
        }
        if (recording) {
          if (reply_t_ns == 0) {
            reply_t_ns = to_ns(mono_clock::now());
          }
          const std::string_view summary =
              m.summary_len == 0
                  ? std::string_view()
                  : std::string_view(summaries_)
                        .substr(static_cast<std::size_t>(m.summary_at - summaries_base_),
                                m.summary_len);
          core_->record_reply(ep_->config.name, state_.id, m.index, m.error, summary, reply_t_ns);
        }
        break;
      case frame_kind::push:
        break;  // recorded at its first byte, above
      case frame_kind::raw:
        core_->record(ep_->config.name, state_.id,
                      timeline::note{"raw bytes written: " + std::to_string(m.end - m.start) +
                                     (m.meta->step.empty() ? "" : " (step " + m.meta->step + ")")});
        break;
      case frame_kind::error:
        break;  // the protocol_error event already tells
      case frame_kind::pubsub:
        if (recording && m.message) {
          record_delivered(m, t_ns);
        }
        break;
    }
    marks_.pop_front();
  }
  if (recording) {
    release_summaries();
  }
}

void session::record_delivered(const frame_mark& m, std::int64_t t_ns) {
  timeline::pubsub_delivered ev;
  ev.channel = m.message->channel;
  ev.pattern = m.receiver->pattern.value_or("");
  ev.sharded = m.message->sharded;
  ev.seq = payload_seq(m.message->payload);
  ev.bytes = m.message->payload.size();
  if (t_ns != 0) {
    core_->record_at(t_ns, ep_->config.name, state_.id, std::move(ev));
  } else {
    core_->record(ep_->config.name, state_.id, std::move(ev));
  }
}

void session::record_popped(const frame_mark& m, timeline::list_popped::outcome result) {
  if (!core_->config.record_commands) {
    return;
  }
  for (const auto& p : *m.popped) {
    core_->record(ep_->config.name, state_.id,
                  timeline::list_popped{p.key, p.element, p.index, result});
  }
}

void session::record_lost_pops() {
  for (auto& m : marks_) {
    if (m.popped) {
      record_popped(m, timeline::list_popped::outcome::lost);
      m.popped.reset();
    }
  }
  for (auto& h : held_) {
    if (h.mark.popped) {
      record_popped(h.mark, timeline::list_popped::outcome::lost);
      h.mark.popped.reset();
    }
  }
}

void session::record_push_written(frame_mark& m, std::int64_t t_ns) {
  m.recorded = true;
  timeline::push_written ev;
  ev.name = m.meta->name;
  ev.seq = m.meta->seq;
  ev.time_s = m.meta->time_s;
  ev.bytes = static_cast<std::size_t>(m.end - m.start);
  ev.dialect = m.meta->dialect;
  ev.step = m.meta->step;
  if (t_ns != 0) {
    core_->record_at(t_ns, ep_->config.name, state_.id, std::move(ev));
  } else {
    core_->record(ep_->config.name, state_.id, std::move(ev));
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

void session::schedule_flush() {
  if (done_ || flush_scheduled_) {
    return;
  }
  flush_scheduled_ = true;
  core_->flush_queue.push_back(shared_from_this());
  if (!core_->flush_posted) {
    core_->flush_posted = true;
    asio::post(core_->executor, [core = core_] { core->flush(); });
  }
}

void session::pump() {
  flush_scheduled_ = false;
  if (check_pubsub_limit()) {
    return;
  }
  if (pumping_) {
    // Called back from an observer of an event this pump recorded: finish this round first.
    pump_again_ = true;
    return;
  }
  pumping_ = true;
  do {
    pump_again_ = false;
    pump_once();
  } while (pump_again_ && !done_);
  pumping_ = false;
}

auto session::claim_direct_write() -> bool {
  if (tls_ || !transport_ready_ || done_ || writing_ || pausing_ || closing_ || pumping_ ||
      close_ || !held_.empty() || ep_->chunk_bytes > 0 || out_start_ >= queued_) {
    return false;
  }
  direct_claimed_ = true;
  direct_take_ = static_cast<std::size_t>(queued_ - out_start_);
  return true;
}

void session::direct_write() noexcept {
  direct_sent_ =
      ::send(socket_.native_handle(), out_.data(), direct_take_, MSG_DONTWAIT | MSG_NOSIGNAL);
  direct_errno_ = direct_sent_ < 0 ? errno : 0;
  direct_at_ns_ = to_ns(mono_clock::now());
}

void session::finish_direct_write() {
  if (!direct_claimed_) {
    pump();
    return;
  }
  direct_claimed_ = false;
  if (direct_sent_ < 0 && direct_errno_ != EAGAIN && direct_errno_ != EWOULDBLOCK) {
    flush_scheduled_ = false;
    const boost::system::error_code ec(direct_errno_, asio::error::get_system_category());
    finish(close_initiator::client, close_how_of(ec), "write failed: " + ec.message(), true);
    return;
  }
  const auto n = static_cast<std::size_t>(std::max<std::ptrdiff_t>(direct_sent_, 0));
  if (n > 0) {
    out_.erase(0, n);
    out_start_ += n;
    written_ += n;
    record_written(direct_at_ns_);
  }
  if (!done_) {
    pump();  // the rest, if the socket did not take it all
  }
}

void session::pump_once() {
  if (done_ || writing_ || pausing_ || closing_ || direct_claimed_ || !transport_ready_) {
    return;
  }
  for (;;) {
    if (!held_.empty()) {
      promote(mono_clock::now(), false);
    }
    const std::uint64_t limit = close_ ? std::min(close_->at, queued_) : queued_;
    if (out_start_ < limit) {
      std::size_t take = static_cast<std::size_t>(limit - out_start_);
      const std::size_t chunk = ep_->chunk_bytes;
      if (chunk > 0) {
        take = std::min(take, chunk);
      }
      // The socket is non-blocking: write what it takes now, and only the rest asynchronously.
      // (TLS: everything asynchronously; the stream cannot write part of a record and stop.)
      boost::system::error_code ec;
      std::size_t n = tls_ ? 0 : socket_.write_some(asio::buffer(out_.data(), take), ec);
      if (would_block(ec)) {
        ec = {};
        n = 0;
      }
      if (ec) {
        finish(close_initiator::client, close_how_of(ec), "write failed: " + ec.message(), true);
        return;
      }
      if (n < take) {
        // The socket is full: the rest of this chunk goes out asynchronously from inflight_,
        // while new frames keep arriving in out_.
        inflight_.assign(out_, n, take - n);
      }
      if (take == out_.size()) {
        out_.clear();
      } else {
        out_.erase(0, take);
      }
      out_start_ += take;
      written_ += n;
      record_written();
      if (done_) {
        return;
      }
      if (n < take) {
        start_async_write();
        return;
      }
      if (chunk > 0 && ep_->chunk_pause.count() > 0 && written_ < limit) {
        after_chunk();
        return;
      }
      continue;
    }
    if (close_ && written_ >= close_->at) {
      begin_close();
      return;
    }
    if (!held_.empty() && !ep_->stalled && !close_ && !held_.front().awaiting_upstream) {
      arm_wake(held_.front().due);
    }
    return;
  }
}

void session::start_async_write() {
  writing_ = true;
  auto done = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
    self->write_done(ec, n);
  };
  if (tls_) {
    asio::async_write(tls_->stream, asio::buffer(inflight_), std::move(done));
  } else {
    asio::async_write(socket_, asio::buffer(inflight_), std::move(done));
  }
}

void session::write_done(const boost::system::error_code& ec, std::size_t n) {
  writing_ = false;
  inflight_.clear();
  if (done_) {
    return;
  }
  if (ec) {
    finish(close_initiator::client, close_how_of(ec), "write failed: " + ec.message(), true);
    return;
  }
  written_ += n;
  record_written();
  const std::uint64_t limit = close_ ? std::min(close_->at, queued_) : queued_;
  if (ep_->chunk_bytes > 0 && ep_->chunk_pause.count() > 0 && written_ < limit) {
    after_chunk();
    return;
  }
  pump();
}

void session::after_chunk() {
  pausing_ = true;
  pause_.expires_after(ep_->chunk_pause);
  pause_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
    self->pausing_ = false;
    self->pump();
  });
}

void session::arm_wake(time_point due) {
  if (wake_at_ == due) {
    return;
  }
  wake_at_ = due;
  wake_.expires_at(due);
  wake_.async_wait([self = shared_from_this(), due](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted && self->wake_at_ != due) {
      return;  // re-armed for another instant
    }
    self->wake_at_ = time_point::max();
    self->pump();
  });
}

void session::begin_close() {
  closing_ = true;
  const close_request req = *close_;
  core_->record(ep_->config.name, state_.id,
                timeline::connection_closed{req.by, req.how, req.reason});
  close_recorded_ = true;
  input_closed_ = true;
  if (done_) {
    return;
  }
  if (req.how == close_how::rst) {
    // A reset discards whatever the kernel has not sent yet, so wait (briefly) until the bytes
    // this close is meant to follow have left; loopback usually empties at once.
    wait_unsent_then_reset(200);
    return;
  }
  // FIN: shut down our side, then keep reading until the client's FIN (run() ends the session
  // then) so bytes it sends in the meantime do not make the kernel answer with a reset.
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  draining_ = true;
  if (peer_eof_) {
    finish(req.by, req.how, req.reason, false);
    return;
  }
  pause_.expires_after(core_->config.fin_linger);
  pause_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
    if (!self->done_) {
      self->finish(self->close_->by, self->close_->how, self->close_->reason, false);
    }
  });
}

void session::wait_unsent_then_reset(int polls_left) {
  if (done_) {
    return;
  }
  int unsent = 0;
  if (polls_left <= 0 || ::ioctl(socket_.native_handle(), SIOCOUTQ, &unsent) != 0 || unsent == 0) {
    finish(close_->by, close_->how, close_->reason, false);
    return;
  }
  pause_.expires_after(std::chrono::milliseconds(1));
  pause_.async_wait([self = shared_from_this(), polls_left](const boost::system::error_code&) {
    self->wait_unsent_then_reset(polls_left - 1);
  });
}

void session::finish(close_initiator by, close_how how, const std::string& reason, bool record) {
  if (done_) {
    return;
  }
  done_ = true;
  record_lost_pops();
  // A transaction open at the close is discarded; the connection's watches go with it; a
  // blocked command leaves the registry with nothing popped for it.
  if (auto dropped = ep_->handler.end_session(state_); dropped && core_->config.record_commands) {
    core_->record(ep_->config.name, state_.id, std::move(*dropped));
  }
  if (record && !close_recorded_) {
    close_recorded_ = true;
    core_->record(ep_->config.name, state_.id, timeline::connection_closed{by, how, reason});
  }
  boost::system::error_code ec;
  if (how == close_how::rst && by == close_initiator::server) {
    socket_.set_option(asio::socket_base::linger(true, 0), ec);
  }
  socket_.close(ec);
  wake_.cancel();
  pause_.cancel();
  if (upstream_) {
    upstream_->socket.close(ec);
  }
}

// ---------------------------------------------------------------------------------------------
// Proxy mode (server_config::upstream; the decisions are in upstream.cpp)

auto session::forward_to_upstream(std::span<const std::string_view> args, std::uint64_t index)
    -> bool {
  if (route_command(args).route != proxy_route::upstream) {
    return false;
  }
  if (ep_->handler.auth_required() && !state_.authenticated) {
    return false;  // the handler answers -NOAUTH, as the server the client talks to
  }
  frame_mark mark;
  mark.kind = frame_kind::reply;
  mark.index = index;
  // Held in reply order until the upstream's reply fills it (relay_upstream()).
  held_.push_back(held_frame{{}, time_point::max(), std::move(mark), std::nullopt, true});
  send_upstream(encode_command(args), true);
  return true;
}

void session::send_upstream(std::string bytes, bool relay_reply) {
  upstream_->unsent.append(bytes);
  upstream_->expect.push_back(relay_reply ? upstream_link::reply_use::relay
                                          : upstream_link::reply_use::drop);
  write_upstream();
}

void session::write_upstream() {
  upstream_link& up = *upstream_;
  if (!up.connected || up.writing || up.failed || up.unsent.empty() || done_) {
    return;
  }
  up.writing = true;
  up.inflight.swap(up.unsent);
  up.unsent.clear();
  asio::async_write(up.socket, asio::buffer(up.inflight),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->upstream_->writing = false;
                      self->upstream_->inflight.clear();
                      if (ec) {
                        self->upstream_failed("writing to the upstream failed: " + ec.message());
                        return;
                      }
                      self->write_upstream();
                    });
}

auto session::run_upstream() -> asio::awaitable<void> {
  const auto self = shared_from_this();  // the session lives as long as its upstream reader
  upstream_link& up = *upstream_;
  const upstream_config& cfg = *core_->config.upstream;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(cfg.host, ec);
  if (ec) {
    upstream_failed("upstream host " + cfg.host + " is not an IP address");
    co_return;
  }
  auto [connect_ec] = co_await up.socket.async_connect(tcp::endpoint(address, cfg.port), use_tuple);
  if (done_) {
    co_return;
  }
  if (connect_ec) {
    upstream_failed("cannot connect to the upstream " + cfg.host + ":" + std::to_string(cfg.port) +
                    ": " + connect_ec.message());
    co_return;
  }
  up.socket.set_option(tcp::no_delay(true), ec);
  up.connected = true;
  write_upstream();
  for (;;) {
    auto [read_ec, n] = co_await up.socket.async_read_some(asio::buffer(up.read_buffer), use_tuple);
    if (done_) {
      co_return;
    }
    if (read_ec) {
      upstream_failed(read_ec == asio::error::eof
                          ? "the upstream closed the connection"
                          : "reading from the upstream failed: " + read_ec.message());
      co_return;
    }
    up.frames.feed(std::string_view(up.read_buffer.data(), n));
    while (auto frame = up.frames.next()) {
      relay_upstream(std::move(*frame));
    }
    if (up.frames.failed()) {
      upstream_failed("the upstream broke the protocol: " + up.frames.error_message());
      co_return;
    }
    pump();
  }
}

void session::relay_upstream(upstream_frame frame) {
  upstream_link& up = *upstream_;
  if (frame.push) {
    // Pub/sub messages and tracking invalidations answer no command: they go to the client
    // between two frames, like schsim's own pushes.
    static const auto meta = [] {
      push_meta m;
      m.step = "upstream push";
      return std::make_shared<const push_meta>(std::move(m));
    }();
    raw(frame.bytes, meta);
    return;
  }
  if (up.expect.empty()) {
    upstream_failed("the upstream sent a reply to no command");
    return;
  }
  const auto use = up.expect.front();
  up.expect.pop_front();
  if (use == upstream_link::reply_use::relay) {
    fill_first_awaiting(std::move(frame.bytes));
  }
}

auto session::fill_first_awaiting(std::string bytes) -> bool {
  // Replies held by latency may come before it; the first one still upstream is this reply's.
  const auto it = std::find_if(held_.begin(), held_.end(),
                               [](const held_frame& h) { return h.awaiting_upstream; });
  if (it == held_.end()) {
    return false;
  }
  it->awaiting_upstream = false;
  it->due = mono_clock::now() + ep_->reply_latency;
  it->mark.error = !bytes.empty() && (bytes[0] == '-' || bytes[0] == '!');
  if (core_->config.record_commands) {
    add_summary(bytes, it->mark);
  }
  held_bytes_ += bytes.size();
  it->bytes = std::move(bytes);
  return true;
}

void session::upstream_failed(const std::string& why) {
  upstream_link& up = *upstream_;
  if (up.failed || done_) {
    return;
  }
  up.failed = true;
  boost::system::error_code ec;
  up.socket.close(ec);
  core_->record(ep_->config.name, state_.id, timeline::note{"proxy: " + why});
  // The replies still upstream are lost, as with a server that dies: the client sees the
  // connection close after what was already answered.
  close(close_mode::fin, close_point::between_frames, why);
}

// ---------------------------------------------------------------------------------------------
// Control

void session::wake() { schedule_flush(); }

void session::deliver(const std::shared_ptr<const publication>& what,
                      const pubsub_receiver& receiver) {
  if (!open_for_output()) {
    return;
  }
  std::string bytes;
  append_pubsub_message(bytes, state_.protocol, what->sharded, receiver.pattern, what->channel,
                        what->payload);
  frame_mark mark;
  mark.kind = frame_kind::pubsub;
  mark.message = what;
  mark.receiver = &receiver;
  enqueue(bytes, std::move(mark), std::nullopt, mono_clock::now(), true);
  schedule_flush();
}

void session::push_sunsubscribe(std::string_view channel, std::size_t remaining) {
  if (!open_for_output()) {
    return;
  }
  std::string bytes;
  append_subscription_reply(bytes, state_.protocol, "sunsubscribe", channel, remaining);
  frame_mark mark;
  mark.kind = frame_kind::pubsub;
  enqueue(bytes, std::move(mark), std::nullopt, mono_clock::now(), true);
  schedule_flush();
}

auto session::push(std::string_view bytes, const std::shared_ptr<const push_meta>& meta) -> bool {
  if (!open_for_output()) {
    return false;
  }
  frame_mark mark;
  mark.kind = frame_kind::push;
  mark.meta = meta;
  enqueue(bytes, std::move(mark), std::nullopt, mono_clock::now(),
          meta->order == push_order::in_reply_order);
  check_output_limit();
  schedule_flush();
  return !done_;
}

auto session::raw(std::string_view bytes, const std::shared_ptr<const push_meta>& meta) -> bool {
  if (!open_for_output()) {
    return false;
  }
  frame_mark mark;
  mark.kind = frame_kind::raw;
  mark.meta = meta;
  enqueue(bytes, std::move(mark), std::nullopt, mono_clock::now(), false);
  check_output_limit();
  schedule_flush();
  return !done_;
}

auto session::close(close_mode mode, close_point point, const std::string& reason) -> bool {
  if (done_ || close_) {
    return false;
  }
  const close_how how = mode == close_mode::rst ? close_how::rst : close_how::fin;
  input_closed_ = true;
  if (blocked_) {
    core_->blocking.unblock(state_.id);  // closing: no element is popped for it any more
  }
  std::string why = reason;
  // Everything ready (pushes and replies queued before this call) still goes out; replies held
  // by latency or a stall are dropped, as a dying server never sends them.
  std::uint64_t at = queued_;
  if (point == close_point::mid_frame) {
    // Cut the last ready frame; if it is already entirely on the wire, cut a held one instead.
    if (marks_.empty() || marks_.back().end <= out_start_) {
      promote(mono_clock::now(), true);
    }
    if (!marks_.empty() && marks_.back().end > out_start_) {
      const frame_mark& last = marks_.back();
      at = last.start >= out_start_
               ? last.start + std::max<std::uint64_t>(1, (last.end - last.start) / 2)
               : out_start_;  // already partly written (fragmentation): stop where it is
    } else {
      why += " (no frame to cut)";
    }
  }
  for (auto& h : held_) {
    if (h.mark.popped) {
      record_popped(h.mark, timeline::list_popped::outcome::lost);
    }
  }
  held_.clear();
  held_bytes_ = 0;
  close_ = close_request{close_initiator::server, how, std::move(why), at};
  schedule_flush();
  return true;
}

void session::stop() { finish(close_initiator::server, close_how::fin, "server stop", true); }

}  // namespace schsim::simulator::detail
