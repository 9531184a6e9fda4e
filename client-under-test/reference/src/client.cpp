#include <schsim/core/clock.hpp>
#include <schsim/core/maint/codec.hpp>
#include <schsim/core/resp3/parser.hpp>
#include <schsim/refclient/client.hpp>
#include <schsim/refclient/reconnect.hpp>
#include <schsim/refclient/relaxation.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <set>

// The Asio layer. Everything that decides anything is in the sans-I/O machines; this file opens
// sockets, moves bytes and arms timers.
//
//   client::impl ── pool: connections, handoff_planner, dial workers, planner timers
//     connection ── one pooled connection: pending FIFO (not yet written), a writer, and up to
//                   three sockets ("wires"): active_ (writes go here), old_ (draining during a
//                   handoff), next_ (handshaken handoff target, waiting for the swap)
//       wire ────── socket + parser + in-flight FIFO + relaxation_tracker; a reader and a
//                   reply-deadline watchdog coroutine each

namespace schsim::refclient {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using std::chrono::milliseconds;

// Named rather than anonymous: client::impl (external linkage) holds these types.
namespace client_detail {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
/// go-redis never retries a handoff dial sooner than this (handoff_worker.go).
constexpr milliseconds handoff_retry_delay{500};
/// Commands written in one socket write at most; bounds the size of one buffer.
constexpr std::size_t max_batch = 1024;

auto now() -> time_point { return mono_clock::now(); }
auto ms_text(milliseconds d) -> std::string { return std::to_string(d.count()) + " ms"; }

struct request {
  std::uint64_t id = 0;
  std::vector<std::string> args;
  std::string bytes;
  std::function<void(command_result)> done;
  time_point enqueued_at{};
  time_point written_at{};
  milliseconds timeout_at_write{0};
  bool internal = false;      // handshake command: error replies are passed on raw, never retried
  bool counted = false;       // counted in client::impl::outstanding until completed or taken
  bool completed = false;     // done() has been scheduled
  bool abandoned = false;     // timed out while its reply is still due; the reply is discarded
  bool blocking = false;      // execute_blocking(): the server may hold the reply for block_for
  milliseconds block_for{0};  // zero with `blocking`: the server may hold it forever
  // A transaction (WATCH, MULTI, commands, EXEC) is one request with one reply per command:
  // read into `parts` until the last, EXEC's, completes it.
  bool transaction = false;
  std::size_t replies_due = 1;
  std::vector<resp3::value> parts;
};
using request_ptr = std::shared_ptr<request>;

struct wire {
  wire(const asio::any_io_executor& ex, std::uint64_t wire_id, address ep, relaxation_tracker r)
      : id{wire_id}, endpoint{std::move(ep)}, socket{ex}, watchdog{ex}, relax{std::move(r)} {}
  std::uint64_t id;
  address endpoint;
  tcp::socket socket;
  /// TLS connections: the stream over `socket` (closing stays the socket's).
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  asio::steady_timer watchdog;
  relaxation_tracker relax;
  resp3::parser parser;
  std::deque<request_ptr> inflight;
  resp3::protocol protocol = resp3::protocol::resp2;
  maint_state maint = maint_state::off;
  time_point opened_at{};
  bool closed = false;
  bool current = false;                 // has been a connection's active socket
  bool relaxed_reported = false;        // last relaxation state told to the event sink
  std::vector<maint::moving> deferred;  // MOVING received before it became current
  // Pub/Sub (the subscriber connection only): confirmations still due for what was sent.
  bool subscribe_sent = false;
  std::size_t subscribe_pending = 0;
  std::size_t unsubscribe_pending = 0;
  bool subscribed = false;  // every name confirmed, not yet unsubscribed
  // Shard channels whose SSUBSCRIBE (one per channel) is unanswered, in the order sent: an
  // error reply (-MOVED) answers the first of them, a confirmation names its own.
  std::deque<std::string> ssubscribe_due;
};
using wire_ptr = std::shared_ptr<wire>;

/// Reads from the wire's TLS stream or, without TLS, its socket.
auto read_some(wire& w, asio::mutable_buffer buffer) {
  return w.tls ? w.tls->async_read_some(buffer, nothrow)
               : w.socket.async_read_some(buffer, nothrow);
}
auto write_all(wire& w, asio::const_buffer buffer) {
  return w.tls ? asio::async_write(*w.tls, buffer, nothrow)
               : asio::async_write(w.socket, buffer, nothrow);
}

/// The client side of configure.tls: the CA to verify servers against and, for mutual TLS, the
/// client's certificate. Throws std::runtime_error naming the file that could not be used.
auto make_tls_context(const tls_config& tls) -> std::shared_ptr<asio::ssl::context> {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1,
                   ec);
  ctx->load_verify_file(tls.ca_file, ec);
  if (ec) throw std::runtime_error("tls.ca_file " + tls.ca_file + ": " + ec.message());
  if (!tls.cert_file.empty()) {
    ctx->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) throw std::runtime_error("tls.cert_file " + tls.cert_file + ": " + ec.message());
    ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("tls.key_file " + tls.key_file + ": " + ec.message());
  }
  return ctx;
}

using reply_channel = asio::experimental::channel<void(boost::system::error_code, command_result)>;

/// Who ended a socket, for error messages only.
enum class closer { peer, client };

class connection;

}  // namespace client_detail

using namespace client_detail;

struct client::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor executor, resolved_config config, event_sink events)
      : ex{std::move(executor)},
        cfg{std::move(config)},
        sink{std::move(events)},
        planner{planner_params{address{cfg.config.host, cfg.config.port}, cfg.config.broken}} {}

  asio::any_io_executor ex;
  resolved_config cfg;
  event_sink sink;
  /// configure.tls: the context every connection's TLS stream uses; or why there is none.
  std::shared_ptr<asio::ssl::context> tls_ctx;
  std::string tls_setup_error;
  handoff_planner planner;
  client_stats stats;
  std::vector<std::shared_ptr<connection>> conns;
  std::map<std::uint64_t, std::shared_ptr<asio::steady_timer>> planner_timers;
  std::deque<std::function<void()>> dial_queue;
  int dials_running = 0;
  conn_id next_conn_id = 1;
  std::uint64_t next_wire_id = 1;
  std::uint64_t next_request_id = 1;
  bool shut_down = false;
  bool growing = false;
  std::function<void(const maint::smigrated&)> smigrated_handler;
  /// subscribe(): what the subscriber connection holds, and who hears about it.
  struct subscription {
    subscription_kind kind = subscription_kind::channel;
    std::vector<std::string> names;
    std::function<void(pubsub_message)> on_message;
    std::function<void(std::optional<command_error>)> first_done;  // until first confirmed
    bool ever_subscribed = false;
    std::function<void(shard_frame)> on_shard_frame;  // ssubscribe(): the cluster client
  };
  std::optional<subscription> sub;
  /// execute_blocking()'s connection, made on first use.
  std::shared_ptr<connection> blocker;
  /// execute() calls not completed yet (the cluster client closes a retired node at zero).
  std::size_t outstanding = 0;

  void emit(std::string name, std::vector<std::pair<std::string, client_event::field>> detail) {
    if (sink) sink(client_event{std::move(name), std::move(detail)});
  }
  void complete(const request_ptr& r, command_result result) {
    if (r->completed) return;
    r->completed = true;
    if (r->counted) {
      r->counted = false;
      --outstanding;
    }
    if (auto f = std::move(r->done)) {
      // Never inline: a callback that issues a command must not re-enter a loop over a FIFO.
      asio::post(ex, [f = std::move(f), res = std::move(result)]() mutable { f(std::move(res)); });
    }
  }
  auto make_tracker() const -> relaxation_tracker {
    return relaxation_tracker{cfg.config.read_timeout, cfg.config.maint.relaxed_timeout,
                              cfg.config.maint.relaxed_window_max_duration, cfg.config.broken};
  }

  auto views() const -> std::vector<conn_view>;
  auto find(conn_id id) -> std::shared_ptr<connection>;
  void on_moving(conn_id receiver, const maint::moving& m);
  void perform(const std::vector<planner_action>& actions);
  void acquire_dial_worker(std::function<void()> start);
  void release_dial_worker();
  auto add_connection() -> std::shared_ptr<connection>;
  void grow();
  void remove(conn_id id);
  auto pick_connection() -> std::shared_ptr<connection>;
  auto make_request(std::vector<std::string> args, std::function<void(command_result)> done)
      -> request_ptr;
  /// Broken split-transaction: the block's commands one at a time, each after the previous
  /// reply, through whichever connection is ready then.
  struct chatty_block {
    std::vector<std::vector<std::string>> steps;
    std::size_t next = 0;
    std::function<void(command_result)> done;
  };
  void send_chatty(std::shared_ptr<chatty_block> b);
};

namespace client_detail {

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(std::shared_ptr<client::impl> pool, conn_id id)
      : pool_{std::move(pool)},
        id_{id},
        queue_timer_{pool_->ex},
        handoff_timer_{pool_->ex},
        backoff_{pool_->cfg.config.min_reconnect_backoff, pool_->cfg.config.max_reconnect_backoff} {
  }

  [[nodiscard]] auto id() const -> conn_id { return id_; }
  /// The Pub/Sub connection: never picked for commands; subscribes on every socket it gets.
  void make_subscriber() { subscriber_ = true; }
  [[nodiscard]] auto subscriber() const -> bool { return subscriber_; }
  /// The blocking-command connection: never picked for commands either.
  void make_blocker() { blocker_ = true; }
  /// Subscriber or blocker: not one of the pool's command connections.
  [[nodiscard]] auto exclusive() const -> bool { return subscriber_ || blocker_; }
  [[nodiscard]] auto ready() const -> bool { return active_ && !handoff_ && !closed_; }
  [[nodiscard]] auto closed() const -> bool { return closed_; }
  [[nodiscard]] auto load() const -> std::size_t {
    return pending_.size() + (active_ ? active_->inflight.size() : 0);
  }
  [[nodiscard]] auto pending() const -> std::size_t { return pending_.size(); }

  /// Removes every command not written yet, without completing it: nothing of it reached a
  /// server, so the caller may send it anywhere. Their `ASKING` companions are dropped.
  auto take_unwritten() -> std::vector<request_ptr> {
    std::vector<request_ptr> out;
    for (auto& r : pending_) {
      if (r->completed) continue;
      r->completed = true;  // the write loop skips it if it holds a copy
      if (r->done) out.push_back(r);
    }
    pending_.clear();
    return out;
  }

  [[nodiscard]] auto current_wire() const -> wire_ptr { return active_ ? active_ : old_; }

  [[nodiscard]] auto view() const -> conn_view {
    conn_view v;
    v.id = id_;
    if (auto w = current_wire(); w && !w->closed) {
      v.endpoint = w->endpoint;
      v.opened_at = w->opened_at;
    }
    v.handing_off = handoff_.has_value();
    return v;
  }

  [[nodiscard]] auto snapshot() const -> connection_snapshot {
    connection_snapshot s;
    s.id = id_;
    s.handing_off = handoff_.has_value();
    s.pending = pending_.size();
    if (auto w = current_wire()) {
      const auto t = now();
      s.endpoint = w->endpoint;
      s.protocol = w->protocol;
      s.maint = w->maint;
      s.relaxed = w->relax.relaxed(t);
      s.timeout = w->relax.timeout(t);
      s.in_flight = w->inflight.size();
    }
    return s;
  }

  /// First connection of connect(): one attempt, result reported, no retries.
  void start_first(std::function<void(std::optional<command_error>)> done) {
    spawn_queue_watchdog();
    asio::co_spawn(pool_->ex, connect_first(std::move(done)), asio::detached);
  }

  /// Further pool connections: keep trying with backoff.
  void start_background() {
    spawn_queue_watchdog();
    start_reconnect();
  }

  void enqueue(request_ptr r) {
    const bool was_empty = pending_.empty();
    pending_.push_back(std::move(r));
    if (was_empty) queue_timer_.cancel();
    maybe_write();
  }

  void begin_handoff(const start_handoff& s);
  /// ssubscribe() after the first: SSUBSCRIBE `names` too on the socket that holds the rest.
  void subscribe_more(const std::vector<std::string>& names);
  void shutdown();

 private:
  auto connect_first(std::function<void(std::optional<command_error>)> done)
      -> asio::awaitable<void>;
  auto open_wire(address target, handshake_scope scope, bool relaxed)
      -> asio::awaitable<std::variant<wire_ptr, command_error>>;
  // The steps of open_wire(), in order.
  /// Resolves `target` and connects `w`'s socket to it before `timer` expires; the error if
  /// that failed or the client shut down meanwhile.
  auto dial(wire_ptr w, address target, asio::steady_timer& timer)
      -> asio::awaitable<std::optional<command_error>>;
  /// Counts and reports a connected socket (no Nagle: commands are small and latency matters).
  void note_connected(const wire_ptr& w, const address& target);
  /// Runs the handshake state machine on `w` to the end: `w` ready, or the error.
  auto handshake(wire_ptr w, address target, handshake_scope scope)
      -> asio::awaitable<std::variant<wire_ptr, command_error>>;
  /// Writes one handshake command and waits for its reply. An error reply or a cancelled wait
  /// closes `w` (a timeout counts as a handshake error); a failed write has closed it already.
  auto handshake_round_trip(wire_ptr w, std::vector<std::string> args)
      -> asio::awaitable<command_result>;
  /// Closes a wire being opened and returns the error its opening ends with.
  auto lose_opening(const wire_ptr& w, error_class kind, std::string message) -> command_error;
  /// TLS handshake on a connected wire, verifying the certificate against the configured
  /// server_name (the configured endpoint) or the host dialled (a handoff target); returns
  /// the error text, empty when the handshake completed.
  auto start_tls(wire& w, const address& target, bool handoff, asio::steady_timer& timer)
      -> asio::awaitable<std::string>;
  auto read_loop(wire_ptr w) -> asio::awaitable<void>;
  auto watchdog_loop(wire_ptr w) -> asio::awaitable<void>;
  auto write_batch(wire_ptr w, std::vector<request_ptr> batch) -> asio::awaitable<bool>;
  auto write_loop() -> asio::awaitable<void>;
  auto reconnect_loop() -> asio::awaitable<void>;
  auto queue_loop() -> asio::awaitable<void>;
  auto run_handoff_dial(handoff_dial d, std::uint64_t generation) -> asio::awaitable<void>;

  void spawn_queue_watchdog() { asio::co_spawn(pool_->ex, queue_loop(), asio::detached); }
  void maybe_write() {
    if (writing_ || !active_ || pending_.empty() || closed_) return;
    writing_ = true;
    asio::co_spawn(pool_->ex, write_loop(), asio::detached);
  }
  void start_reconnect() {
    if (reconnecting_ || closed_) return;
    reconnecting_ = true;
    asio::co_spawn(pool_->ex, reconnect_loop(), asio::detached);
  }

  // Event helpers. They are not coroutines on purpose: GCC 12 rejects a braced list of
  // pairs with string literals inside a coroutine body ("array used as initializer").
  void note_opened(const address& target, std::uint16_t local_port);
  void note_handshake(const address& target, const handshake_done& done);
  void note(std::string name, const address& target, const std::optional<command_error>& error);

  /// Emits relaxed/restored when the wire's relaxation state changed since last told.
  void report_relax(const wire_ptr& w, time_point t);

  void activate(const wire_ptr& w);
  // Pub/Sub: (un)subscribe commands are written straight to the socket (the subscriber carries
  // no command FIFO; RESP3 confirms with pushes, not replies).
  void write_raw(const wire_ptr& w, std::string bytes);
  void subscribe_on(const wire_ptr& w);
  void unsubscribe_on(const wire_ptr& w);
  /// Broken resubscribe-on-window: drops the subscription on `w` and takes it again later.
  void resubscribe_later(const wire_ptr& w);
  /// One SSUBSCRIBE per channel (or, `subscribe` false, SUNSUBSCRIBE), each its own slot.
  void write_shard_commands(const wire_ptr& w, const std::vector<std::string>& names,
                            bool subscribe);
  /// A shard frame the node's subscriber read: to the cluster client, whose routing it is.
  void tell_shard(shard_frame f);
  /// The server dropped a shard channel (its slot left) or refused it: not held here any more.
  void forget_shard_channel(const std::string& name);
  /// An error reply on the subscriber: the answer to the oldest unanswered SSUBSCRIBE.
  void on_ssubscribe_refused(const wire_ptr& w, const std::string& error);
  /// A subscribe/unsubscribe confirmation or a message: true when handled.
  auto on_pubsub_frame(const wire_ptr& w, const resp3::value& v) -> bool;
  /// The handoff swap waiting for the old socket's unsubscribe (or, broken, the new one's
  /// subscribe) confirmations.
  void resume_swap();
  void on_reply(const wire_ptr& w, resp3::value v);
  /// What a lost reply means for `r`: a transaction is judged by its EXEC, which is never
  /// idempotent (the block may have run).
  [[nodiscard]] auto lost_reply_of(const request& r) const -> lost_reply {
    static const std::vector<std::string> exec{"EXEC"};
    return on_lost_reply(r.transaction ? exec : r.args, pool_->cfg.config.retry,
                         pool_->cfg.config.broken);
  }
  void on_push(const wire_ptr& w, resp3::value v);
  void wire_lost(const wire_ptr& w, const std::string& reason, closer by);
  void run_handoff(const std::vector<handoff_action>& actions);
  void do_swap(const handoff_swap& s);
  void do_abandon(const std::string& reason);
  void abandon_blocked(const wire_ptr& w);
  void arm_handoff_timer();
  auto queue_timeout_error() const -> command_error;

  std::shared_ptr<client::impl> pool_;
  conn_id id_;
  wire_ptr active_;
  wire_ptr old_;
  wire_ptr next_;
  std::set<wire_ptr> opening_;
  std::deque<request_ptr> pending_;
  asio::steady_timer queue_timer_;
  asio::steady_timer handoff_timer_;
  std::optional<handoff_fsm> handoff_;
  std::uint64_t handoff_generation_ = 0;
  address handoff_target_;
  time_point handoff_started_{};
  backoff backoff_;
  std::optional<command_error> last_error_;
  bool writing_ = false;
  bool reconnecting_ = false;
  bool ever_connected_ = false;
  bool closed_ = false;
  bool subscriber_ = false;
  bool blocker_ = false;
  std::optional<handoff_swap> pending_swap_;
};

// --- opening a socket -------------------------------------------------------------------------

auto connection::lose_opening(const wire_ptr& w, error_class kind, std::string message)
    -> command_error {
  wire_lost(w, message, closer::client);
  return command_error{kind, std::move(message)};
}

auto connection::dial(wire_ptr w, address target, asio::steady_timer& timer)
    -> asio::awaitable<std::optional<command_error>> {
  auto self = shared_from_this();
  tcp::resolver resolver{pool_->ex};
  auto resolved =
      co_await (resolver.async_resolve(target.host, std::to_string(target.port), nothrow) ||
                timer.async_wait(nothrow));
  if (resolved.index() == 1) {
    co_return command_error{error_class::connection,
                            "dial " + target.to_string() + ": resolve timeout"};
  }
  auto [rec, results] = std::get<0>(std::move(resolved));
  if (rec)
    co_return command_error{error_class::connection,
                            "dial " + target.to_string() + ": " + rec.message()};
  if (closed_) co_return command_error{error_class::cancelled, "client shut down"};

  auto connected =
      co_await (asio::async_connect(w->socket, results, nothrow) || timer.async_wait(nothrow));
  if (connected.index() == 1) {
    co_return command_error{error_class::connection, "dial " + target.to_string() +
                                                         ": timeout after " +
                                                         ms_text(pool_->cfg.config.dial_timeout)};
  }
  if (auto [cec, ep] = std::get<0>(connected); cec) {
    co_return command_error{error_class::connection,
                            "dial " + target.to_string() + ": " + cec.message()};
  }
  if (closed_) co_return command_error{error_class::cancelled, "client shut down"};
  co_return std::nullopt;
}

void connection::note_connected(const wire_ptr& w, const address& target) {
  boost::system::error_code ignored;
  w->socket.set_option(tcp::no_delay(true), ignored);
  w->opened_at = now();
  ++pool_->stats.connections_opened;
  const auto local = w->socket.local_endpoint(ignored);
  note_opened(target, local.port());
}

auto connection::handshake_round_trip(wire_ptr w, std::vector<std::string> args)
    -> asio::awaitable<command_result> {
  auto self = shared_from_this();
  auto channel = std::make_shared<reply_channel>(pool_->ex, 1);
  auto r = std::make_shared<request>();
  r->id = pool_->next_request_id++;
  r->args = args;
  resp3::append_command(r->bytes, std::vector<std::string_view>(args.begin(), args.end()));
  r->internal = true;
  r->enqueued_at = now();
  r->done = [channel](command_result res) {
    channel->try_send(boost::system::error_code{}, std::move(res));
  };
  std::vector<request_ptr> one;  // not `{r}`: see the note on note_opened()
  one.push_back(r);
  if (!co_await write_batch(w, std::move(one))) {
    co_return command_error{error_class::connection, "handshake: connection lost while writing"};
  }
  auto [ec, result] = co_await channel->async_receive(nothrow);
  if (ec) co_return lose_opening(w, error_class::cancelled, "handshake cancelled");
  if (const auto* e = std::get_if<command_error>(&result)) {
    const auto kind = e->kind == error_class::timeout ? error_class::handshake : e->kind;
    co_return lose_opening(w, kind, "handshake (" + args[0] + "): " + e->message);
  }
  co_return result;
}

auto connection::handshake(wire_ptr w, address target, handshake_scope scope)
    -> asio::awaitable<std::variant<wire_ptr, command_error>> {
  auto self = shared_from_this();
  handshake_fsm fsm{handshake_params::from(pool_->cfg, scope)};
  auto action = fsm.start();
  for (;;) {
    if (const auto* done = std::get_if<handshake_done>(&action)) {
      w->protocol = done->protocol;
      w->maint = done->maint;
      note_handshake(target, *done);
      co_return w;
    }
    if (const auto* failed = std::get_if<handshake_failed>(&action)) {
      wire_lost(w, failed->error.message, closer::client);
      co_return failed->error;
    }
    auto reply = co_await handshake_round_trip(w, std::get<handshake_send>(action).args);
    if (auto* e = std::get_if<command_error>(&reply)) co_return std::move(*e);
    action = fsm.on_reply(std::get<resp3::value>(reply));
  }
}

auto connection::open_wire(address target, handshake_scope scope, bool relaxed)
    -> asio::awaitable<std::variant<wire_ptr, command_error>> {
  auto self = shared_from_this();
  const auto& cfg = pool_->cfg;
  auto w = std::make_shared<wire>(pool_->ex, pool_->next_wire_id++, target, pool_->make_tracker());
  opening_.insert(w);
  struct erase_on_exit {
    connection* c;
    wire_ptr w;
    ~erase_on_exit() { c->opening_.erase(w); }
  } guard{this, w};

  // One deadline for the resolve, the connect and the TLS handshake.
  asio::steady_timer timer{pool_->ex};
  timer.expires_after(cfg.config.dial_timeout);
  auto dial_error = co_await dial(w, target, timer);
  if (dial_error) co_return lose_opening(w, dial_error->kind, std::move(dial_error->message));
  note_connected(w, target);
  const bool plaintext_handoff = relaxed && cfg.config.broken.has(broken_mode::plaintext_handoff);
  if (cfg.config.tls && !plaintext_handoff) {
    // `relaxed` is set for handoff connections only.
    auto error = co_await start_tls(*w, target, relaxed, timer);
    if (!error.empty()) co_return lose_opening(w, error_class::connection, std::move(error));
    if (closed_) co_return lose_opening(w, error_class::cancelled, "client shut down");
  }
  // A handoff connection is relaxed before its handshake, as go-redis does: the new node may
  // be slow while the move is under way.
  if (relaxed) w->relax.relax_until(w->opened_at + pool_->cfg.post_handoff_relaxed_duration);
  asio::co_spawn(pool_->ex, read_loop(w), asio::detached);
  asio::co_spawn(pool_->ex, watchdog_loop(w), asio::detached);
  co_return co_await handshake(w, target, scope);
}

auto connection::connect_first(std::function<void(std::optional<command_error>)> done)
    -> asio::awaitable<void> {
  auto self = shared_from_this();
  auto result = co_await open_wire(pool_->planner.dial_target(), handshake_scope::full, false);
  if (auto* w = std::get_if<wire_ptr>(&result); w && !closed_) {
    ever_connected_ = true;
    activate(*w);
    done(std::nullopt);
    co_return;
  }
  if (auto* w = std::get_if<wire_ptr>(&result)) wire_lost(*w, "client shut down", closer::client);
  auto error = std::holds_alternative<command_error>(result)
                   ? std::get<command_error>(result)
                   : command_error{error_class::cancelled, "client shut down"};
  // Commands issued before connect() finished were never written: they fail with the reason.
  for (auto& r : pending_) pool_->complete(r, error);
  pending_.clear();
  shutdown();
  pool_->remove(id_);
  done(std::move(error));
}

auto connection::reconnect_loop() -> asio::awaitable<void> {
  auto self = shared_from_this();
  asio::steady_timer timer{pool_->ex};
  while (!closed_) {
    if (const auto delay = backoff_.next(); delay.count() > 0) {
      timer.expires_after(delay);
      co_await timer.async_wait(nothrow);
      if (closed_) break;
    }
    const auto target = pool_->planner.dial_target();
    auto result = co_await open_wire(target, handshake_scope::full, false);
    if (closed_) {
      if (auto* w = std::get_if<wire_ptr>(&result))
        wire_lost(*w, "client shut down", closer::client);
      break;
    }
    if (auto* w = std::get_if<wire_ptr>(&result)) {
      reconnecting_ = false;
      backoff_.reset();
      last_error_.reset();
      if (ever_connected_) {
        ++pool_->stats.reconnects;
        note("reconnected", target, std::nullopt);
      }
      ever_connected_ = true;
      pool_->growing = false;
      activate(*w);
      co_return;
    }
    last_error_ = std::get<command_error>(result);
    pool_->growing = false;
    note("connect_failed", target, last_error_);
  }
  reconnecting_ = false;
}

void connection::note_opened(const address& target, std::uint16_t local_port) {
  pool_->emit("connection_opened", {{"conn", static_cast<std::int64_t>(id_)},
                                    {"endpoint", target.to_string()},
                                    {"local_port", static_cast<std::int64_t>(local_port)}});
}

void connection::note_handshake(const address& target, const handshake_done& done) {
  pool_->emit("handshake", {{"conn", static_cast<std::int64_t>(id_)},
                            {"endpoint", target.to_string()},
                            {"protocol", static_cast<std::int64_t>(done.protocol)},
                            {"maint", std::string{to_string(done.maint)}}});
}

void connection::note(std::string name, const address& target,
                      const std::optional<command_error>& error) {
  std::vector<std::pair<std::string, client_event::field>> detail{
      {"conn", static_cast<std::int64_t>(id_)}, {"endpoint", target.to_string()}};
  if (error) {
    detail.emplace_back("error_class", std::string{to_string(error->kind)});
    detail.emplace_back("message", error->message);
  }
  pool_->emit(std::move(name), std::move(detail));
}

void connection::activate(const wire_ptr& w) {
  if (closed_) {
    wire_lost(w, "client shut down", closer::client);
    return;
  }
  w->current = true;
  active_ = w;
  if (subscriber_ && !w->subscribe_sent) {
    const bool again = pool_->sub && pool_->sub->ever_subscribed;
    if (!again || !pool_->cfg.config.broken.has(broken_mode::no_resubscribe)) subscribe_on(w);
  }
  auto deferred = std::move(w->deferred);
  w->deferred.clear();
  for (const auto& m : deferred) pool_->on_moving(id_, m);
  maybe_write();
}

auto connection::start_tls(wire& w, const address& target, bool handoff, asio::steady_timer& timer)
    -> asio::awaitable<std::string> {
  auto self = shared_from_this();
  if (!pool_->tls_ctx) co_return "TLS setup failed: " + pool_->tls_setup_error;
  const auto& cfg = pool_->cfg.config;
  const bool configured = target.host == cfg.host && target.port == cfg.port;
  const std::string name = configured ? cfg.tls->server_name : target.host;
  w.tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(w.socket, *pool_->tls_ctx);
  if (handoff && cfg.broken.has(broken_mode::skip_handoff_verification)) {
    w.tls->set_verify_mode(asio::ssl::verify_none);
  } else {
    w.tls->set_verify_mode(asio::ssl::verify_peer);
    w.tls->set_verify_callback(asio::ssl::host_name_verification(name));
  }
  boost::system::error_code not_ip;
  (void)asio::ip::make_address(name, not_ip);
  if (not_ip) {
    // SNI carries host names only (RFC 6066), never an IP literal.
    SSL_set_tlsext_host_name(w.tls->native_handle(), name.c_str());
  }
  auto result = co_await (w.tls->async_handshake(asio::ssl::stream_base::client, nothrow) ||
                          timer.async_wait(nothrow));
  if (result.index() == 1) {
    co_return "TLS handshake with " + target.to_string() + ": timeout after " +
        ms_text(cfg.dial_timeout);
  }
  if (auto [ec] = std::get<0>(result); ec) {
    co_return "TLS handshake with " + target.to_string() + " (verifying " + name +
        "): " + ec.message();
  }
  co_return std::string{};
}

// --- moving bytes ---------------------------------------------------------------------------

auto connection::write_batch(wire_ptr w, std::vector<request_ptr> batch) -> asio::awaitable<bool> {
  auto self = shared_from_this();
  std::string buffer;
  const auto t = now();
  const auto timeout = w->relax.timeout(t);
  for (auto& r : batch) {
    buffer += r->bytes;
    // "Written" from here on: the bytes are handed to the socket, the server may run it.
    r->written_at = t;
    r->timeout_at_write = timeout;
    w->inflight.push_back(std::move(r));
  }
  w->watchdog.cancel();
  asio::steady_timer timer{pool_->ex};
  timer.expires_after(pool_->cfg.config.write_timeout);
  auto result = co_await (write_all(*w, asio::buffer(buffer)) || timer.async_wait(nothrow));
  if (result.index() == 1) {
    wire_lost(w, "write timeout after " + ms_text(pool_->cfg.config.write_timeout), closer::client);
    co_return false;
  }
  if (auto [ec, n] = std::get<0>(result); ec) {
    wire_lost(w, "write failed: " + ec.message(), closer::peer);
    co_return false;
  }
  co_return !w->closed;
}

auto connection::write_loop() -> asio::awaitable<void> {
  auto self = shared_from_this();
  while (active_ && !pending_.empty() && !closed_) {
    auto w = active_;
    std::vector<request_ptr> batch;
    while (!pending_.empty() && batch.size() < max_batch) {
      auto r = std::move(pending_.front());
      pending_.pop_front();
      if (!r->completed) batch.push_back(std::move(r));
    }
    if (!batch.empty()) co_await write_batch(w, std::move(batch));
  }
  writing_ = false;
}

auto connection::read_loop(wire_ptr w) -> asio::awaitable<void> {
  auto self = shared_from_this();
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    auto [ec, n] = co_await read_some(*w, asio::buffer(buffer));
    if (w->closed) co_return;
    if (ec) {
      wire_lost(w,
                // A TLS server that closes TCP without close_notify: still its close.
                ec == asio::error::eof || ec == asio::ssl::error::stream_truncated
                    ? std::string{"connection closed by the server"}
                    : "read failed: " + ec.message(),
                closer::peer);
      co_return;
    }
    w->parser.feed(std::string_view{buffer.data(), n});
    while (auto v = w->parser.next()) {
      if (v->kind == resp3::type::push) {
        on_push(w, std::move(*v));
      } else {
        on_reply(w, std::move(*v));
      }
      if (w->closed) co_return;
    }
    if (w->parser.failed()) {
      wire_lost(w, "protocol error: " + w->parser.error_message(), closer::client);
      co_return;
    }
  }
}

auto connection::watchdog_loop(wire_ptr w) -> asio::awaitable<void> {
  auto self = shared_from_this();
  while (!w->closed) {
    const auto t = now();
    report_relax(w, t);  // a backstop or a post-handoff period may have run out
    const auto current = w->relax.timeout(t);
    std::optional<time_point> earliest;
    for (auto& r : w->inflight) {
      if (r->completed) continue;
      // A command keeps the timeout it was written with, and gains a relaxation that starts
      // while it waits; a window that ends takes back only what it gave.
      const auto allowed = std::max(r->timeout_at_write, current);
      if (r->blocking && (r->block_for.count() == 0 ||
                          pool_->cfg.config.broken.has(broken_mode::unbounded_blocking))) {
        continue;  // may wait forever: by design for timeout 0, a bug otherwise
      }
      // A blocking command's reply is due only once its own wait is over.
      const auto deadline =
          r->written_at + allowed + (r->blocking ? r->block_for : milliseconds{0});
      if (deadline <= t) {
        r->abandoned = true;
        pool_->complete(r, command_error{error_class::timeout,
                                         "i/o timeout: no reply within " + ms_text(allowed)});
        continue;
      }
      if (!earliest || deadline < *earliest) earliest = deadline;
    }
    if (const auto change = w->relax.next_change(t); change && (!earliest || *change < *earliest)) {
      earliest = change;
    }
    w->watchdog.expires_at(earliest.value_or(time_point::max()));
    co_await w->watchdog.async_wait(nothrow);
  }
}

auto connection::queue_timeout_error() const -> command_error {
  const auto limit = ms_text(pool_->cfg.queue_timeout);
  if (handoff_) {
    return {error_class::timeout, "not written within " + limit + ": held during a handoff"};
  }
  if (!active_) {
    return {error_class::connection,
            "no connection within " + limit +
                (last_error_ ? ": " + last_error_->message : std::string{})};
  }
  return {error_class::timeout, "not written within " + limit};
}

auto connection::queue_loop() -> asio::awaitable<void> {
  auto self = shared_from_this();
  while (!closed_) {
    const auto t = now();
    std::optional<time_point> earliest;
    for (auto it = pending_.begin(); it != pending_.end();) {
      const auto& r = *it;
      const auto deadline = r->enqueued_at + pool_->cfg.queue_timeout;
      if (r->completed) {
        it = pending_.erase(it);
      } else if (deadline <= t) {
        pool_->complete(r, queue_timeout_error());
        it = pending_.erase(it);
      } else {
        if (!earliest || deadline < *earliest) earliest = deadline;
        ++it;
      }
    }
    queue_timer_.expires_at(earliest.value_or(time_point::max()));
    co_await queue_timer_.async_wait(nothrow);
  }
}

// --- Pub/Sub ----------------------------------------------------------------------------------

namespace {

auto subscribe_command(subscription_kind kind, bool subscribe) -> std::string_view {
  switch (kind) {
    case subscription_kind::pattern:
      return subscribe ? "PSUBSCRIBE" : "PUNSUBSCRIBE";
    case subscription_kind::shard:
      return subscribe ? "SSUBSCRIBE" : "SUNSUBSCRIBE";
    case subscription_kind::channel:
      break;
  }
  return subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE";
}

auto command_bytes(std::string_view name, const std::vector<std::string>& args) -> std::string {
  std::vector<std::string_view> parts{name};
  parts.insert(parts.end(), args.begin(), args.end());
  std::string out;
  resp3::append_command(out, parts);
  return out;
}

/// How long the overlap-subscriptions broken mode keeps both sockets subscribed: long enough
/// that messages at a workload's rate arrive on both.
constexpr milliseconds overlap_hold{300};
/// How long the resubscribe-on-window broken mode leaves the channels uncovered: long enough
/// that messages at a workload's rate are published in between.
constexpr milliseconds resubscribe_pause{300};

/// Broken queued-as-result: a block's +QUEUED replies, handed over as if EXEC had answered.
auto queued_replies(const request& r) -> resp3::value {
  std::vector<resp3::value> queued;
  for (const auto& p : r.parts) {
    if (p.text == "QUEUED") queued.push_back(p);
  }
  return resp3::value::array_of(std::move(queued));
}

}  // namespace

void connection::write_raw(const wire_ptr& w, std::string bytes) {
  auto self = shared_from_this();
  asio::co_spawn(
      pool_->ex,
      [self, w, bytes = std::move(bytes)]() -> asio::awaitable<void> {
        auto [ec, n] = co_await write_all(*w, asio::buffer(bytes));
        if (ec) self->wire_lost(w, "write failed: " + ec.message(), closer::peer);
      },
      asio::detached);
}

void connection::subscribe_on(const wire_ptr& w) {
  if (!pool_->sub || w->closed) return;
  const auto& sub = *pool_->sub;
  w->subscribe_sent = true;
  w->subscribe_pending = sub.names.size();
  pool_->emit("subscribing",
              {{"conn", static_cast<std::int64_t>(id_)}, {"endpoint", w->endpoint.to_string()}});
  if (sub.kind == subscription_kind::shard) return write_shard_commands(w, sub.names, true);
  write_raw(w, command_bytes(subscribe_command(sub.kind, true), sub.names));
}

void connection::unsubscribe_on(const wire_ptr& w) {
  if (!pool_->sub || w->closed) return;
  const auto& sub = *pool_->sub;
  w->subscribed = false;
  w->unsubscribe_pending = sub.names.size();
  pool_->emit("unsubscribing",
              {{"conn", static_cast<std::int64_t>(id_)}, {"endpoint", w->endpoint.to_string()}});
  if (sub.kind == subscription_kind::shard) return write_shard_commands(w, sub.names, false);
  write_raw(w, command_bytes(subscribe_command(sub.kind, false), sub.names));
}

void connection::resubscribe_later(const wire_ptr& w) {
  unsubscribe_on(w);
  auto timer = std::make_shared<asio::steady_timer>(pool_->ex, resubscribe_pause);
  timer->async_wait([self = shared_from_this(), w, timer](boost::system::error_code) {
    if (w->closed || w != self->active_) return;  // a handoff or reconnect subscribes anew
    self->subscribe_on(w);
  });
}

void connection::write_shard_commands(const wire_ptr& w, const std::vector<std::string>& names,
                                      bool subscribe) {
  std::string bytes;
  for (const auto& name : names) {
    bytes += command_bytes(subscribe ? "SSUBSCRIBE" : "SUNSUBSCRIBE", {name});
    if (subscribe) w->ssubscribe_due.push_back(name);
  }
  if (!bytes.empty()) write_raw(w, std::move(bytes));
}

void connection::subscribe_more(const std::vector<std::string>& names) {
  // Not sent yet: the socket's first SSUBSCRIBE takes every name, these included.
  const auto w = active_;
  if (!w || w->closed || !w->subscribe_sent) return;
  w->subscribe_pending += names.size();
  write_shard_commands(w, names, true);
}

void connection::tell_shard(shard_frame f) {
  if (!pool_->sub || !pool_->sub->on_shard_frame) return;
  asio::post(pool_->ex,
             [h = pool_->sub->on_shard_frame, f = std::move(f)]() mutable { h(std::move(f)); });
}

void connection::forget_shard_channel(const std::string& name) {
  if (!pool_->sub) return;
  std::erase(pool_->sub->names, name);
}

void connection::on_ssubscribe_refused(const wire_ptr& w, const std::string& error) {
  auto name = std::move(w->ssubscribe_due.front());
  w->ssubscribe_due.pop_front();
  if (w->subscribe_pending > 0) --w->subscribe_pending;
  forget_shard_channel(name);
  pool_->emit("ssubscribe_refused",
              {{"conn", static_cast<std::int64_t>(id_)}, {"channel", name}, {"message", error}});
  tell_shard(shard_frame{shard_frame::kind::ended, std::move(name), "", error});
}

void connection::resume_swap() {
  if (auto s = std::exchange(pending_swap_, std::nullopt)) do_swap(*s);
}

auto connection::on_pubsub_frame(const wire_ptr& w, const resp3::value& v) -> bool {
  if (v.elements.empty() || !pool_->sub) return false;
  const auto& kind = v.elements[0].text;
  auto& sub = *pool_->sub;
  if (kind == "message" || kind == "smessage" || kind == "pmessage") {
    const bool pattern = kind == "pmessage";
    if (v.elements.size() < (pattern ? 4U : 3U)) return false;
    pubsub_message m;
    m.pattern = pattern ? std::optional<std::string>(v.elements[1].text) : std::nullopt;
    m.channel = v.elements[pattern ? 2 : 1].text;
    m.payload = v.elements[pattern ? 3 : 2].text;
    if (sub.on_message) {
      asio::post(pool_->ex, [f = sub.on_message, m = std::move(m)]() mutable { f(std::move(m)); });
    }
    return true;
  }
  if (kind == "subscribe" || kind == "psubscribe" || kind == "ssubscribe") {
    if (kind == "ssubscribe" && v.elements.size() >= 2) {
      const auto& name = v.elements[1].text;
      if (auto it = std::find(w->ssubscribe_due.begin(), w->ssubscribe_due.end(), name);
          it != w->ssubscribe_due.end()) {
        w->ssubscribe_due.erase(it);
      }
      tell_shard(shard_frame{shard_frame::kind::confirmed, name, "", ""});
    }
    if (w->subscribe_pending > 0 && --w->subscribe_pending == 0) {
      w->subscribed = true;
      sub.ever_subscribed = true;
      pool_->emit("subscribed", {{"conn", static_cast<std::int64_t>(id_)},
                                 {"endpoint", w->endpoint.to_string()}});
      if (auto done = std::exchange(sub.first_done, nullptr)) {
        asio::post(pool_->ex, [done = std::move(done)] { done(std::nullopt); });
      }
      if (pending_swap_ && w == next_) {
        // Broken overlap-subscriptions: hold both subscriptions a while before the swap.
        auto timer = std::make_shared<asio::steady_timer>(pool_->ex, overlap_hold);
        timer->async_wait(
            [self = shared_from_this(), timer](boost::system::error_code) { self->resume_swap(); });
      }
    }
    return true;
  }
  if (kind == "sunsubscribe" && w->unsubscribe_pending == 0 && v.elements.size() >= 2) {
    // Not ours: the server dropped the channel because its slot left this node (Redis 7).
    // It is not subscribed here again; the cluster client takes it to the new owner.
    const auto& name = v.elements[1].text;
    forget_shard_channel(name);
    pool_->emit("sunsubscribed_by_server", {{"conn", static_cast<std::int64_t>(id_)},
                                            {"endpoint", w->endpoint.to_string()},
                                            {"channel", name}});
    tell_shard(shard_frame{shard_frame::kind::ended, name, "", ""});
    return true;
  }
  if (kind == "unsubscribe" || kind == "punsubscribe" || kind == "sunsubscribe") {
    if (w->unsubscribe_pending > 0 && --w->unsubscribe_pending == 0 && w == old_) resume_swap();
    return true;
  }
  return false;
}

void connection::on_reply(const wire_ptr& w, resp3::value v) {
  if (subscriber_ && w->inflight.empty() && v.is_error() && !w->ssubscribe_due.empty()) {
    on_ssubscribe_refused(w, v.text);
    return;
  }
  if (w->inflight.empty()) {
    wire_lost(w, "protocol error: a reply with no command in flight", closer::client);
    return;
  }
  if (w->inflight.front()->replies_due > 1) {
    auto& t = w->inflight.front();
    t->parts.push_back(std::move(v));
    if (t->parts.size() + 1 == t->replies_due && t->transaction &&
        pool_->cfg.config.broken.has(broken_mode::queued_as_result)) {
      pool_->complete(t, queued_replies(*t));  // broken: EXEC's reply is still due
    }
    if (t->parts.size() < t->replies_due) return;  // the block's EXEC reply is still due
    v = std::move(t->parts.back());                // EXEC's reply answers the whole block
  }
  auto r = std::move(w->inflight.front());
  w->inflight.pop_front();
  if (!r->completed) {
    if (v.is_error() && !r->internal) {
      pool_->complete(r, command_error{error_class::server, v.text});
    } else {
      pool_->complete(r, std::move(v));
    }
  }
  if (w->inflight.empty() && w == old_ && handoff_) run_handoff(handoff_->on_old_drained(now()));
}

void connection::on_push(const wire_ptr& w, resp3::value v) {
  if (subscriber_ && on_pubsub_frame(w, v)) return;
  const auto decoded = maint::decode(v);
  const auto conn = static_cast<std::int64_t>(id_);
  if (!decoded) {
    // pub/sub, invalidation, ...: not ours; it must not disturb the reply FIFO.
    std::string name = !v.elements.empty() ? v.elements[0].text : std::string{};
    pool_->emit("push", {{"conn", conn}, {"name", name}});
    return;
  }
  if (const auto* bad = std::get_if<maint::decode_error>(&*decoded)) {
    pool_->emit("malformed_push", {{"conn", conn}, {"message", bad->message}});
    return;
  }
  const auto& n = std::get<maint::notification>(*decoded);
  if (const auto* m = std::get_if<maint::moving>(&n)) {
    ++pool_->stats.moving_received;
    pool_->emit("moving", {{"conn", conn},
                           {"seq", m->seq},
                           {"time_s", m->time_s},
                           {"endpoint", m->endpoint.value_or("null")}});
    if (!w->current) {
      w->deferred.push_back(*m);  // acted on once this socket carries the connection
      return;
    }
    if (w != active_ && w != old_) return;
    pool_->on_moving(id_, *m);
    return;
  }
  const auto t = now();
  const auto change = w->relax.on_notification(n, t);
  pool_->emit("notification", {{"conn", conn},
                               {"name", std::string{maint::wire_name(maint::kind_of(n))}},
                               {"seq", maint::seq_of(n)},
                               {"ignored", change == relax_change::ignored}});
  report_relax(w, t);
  w->watchdog.cancel();
  const bool opens_window =
      std::holds_alternative<maint::migrating>(n) || std::holds_alternative<maint::failing_over>(n);
  if (subscriber_ && opens_window && w == active_ && w->subscribed &&
      pool_->cfg.config.broken.has(broken_mode::resubscribe_on_window)) {
    resubscribe_later(w);
  }
  if (const auto* sm = std::get_if<maint::smigrated>(&n); sm && pool_->smigrated_handler) {
    asio::post(pool_->ex, [weak = std::weak_ptr<client::impl>(pool_), copy = *sm] {
      if (auto pool = weak.lock(); pool && !pool->shut_down && pool->smigrated_handler) {
        pool->smigrated_handler(copy);
      }
    });
  }
}

void connection::report_relax(const wire_ptr& w, time_point t) {
  const bool relaxed = w->relax.relaxed(t);
  if (relaxed == w->relaxed_reported) return;
  w->relaxed_reported = relaxed;
  pool_->emit(relaxed ? "relaxed" : "restored",
              {{"conn", static_cast<std::int64_t>(id_)},
               {"endpoint", w->endpoint.to_string()},
               {"timeout_ms", static_cast<std::int64_t>(w->relax.timeout(t).count())}});
}

void connection::wire_lost(const wire_ptr& w, const std::string& reason, closer by) {
  if (w->closed) return;
  w->closed = true;
  boost::system::error_code ignored;
  w->socket.close(ignored);
  w->watchdog.cancel();

  std::vector<request_ptr> retry;
  for (auto& r : w->inflight) {
    if (r->completed) continue;
    if (closed_) {
      pool_->complete(r, command_error{error_class::cancelled, "client shut down"});
    } else if (!r->internal && lost_reply_of(*r) == lost_reply::retry) {
      r->parts.clear();
      retry.push_back(r);
    } else {
      const std::string what =
          by == closer::client ? "connection closed by the client" : "connection lost";
      pool_->complete(
          r, command_error{error_class::connection,
                           what + " before the reply (the command may have run): " + reason});
    }
  }
  w->inflight.clear();
  if (!retry.empty()) {
    pool_->stats.commands_retried += retry.size();
    pending_.insert(pending_.begin(), retry.begin(), retry.end());
    queue_timer_.cancel();
  }
  if (w->current) {
    pool_->emit("connection_closed", {{"conn", static_cast<std::int64_t>(id_)},
                                      {"endpoint", w->endpoint.to_string()},
                                      {"by", std::string{by == closer::client ? "client" : "peer"}},
                                      {"reason", reason}});
  }
  if (closed_) return;
  if (w == active_) {
    active_ = nullptr;
    start_reconnect();
  } else if (w == old_) {
    old_ = nullptr;
    if (pending_swap_) {
      resume_swap();
    } else if (handoff_) {
      run_handoff(handoff_->on_old_drained(now()));
    }
  } else if (w == next_) {
    next_ = nullptr;
    if (handoff_) run_handoff(handoff_->on_new_lost(now()));
  }
  maybe_write();
}

// --- handoff ----------------------------------------------------------------------------------

void connection::begin_handoff(const start_handoff& s) {
  if (!active_ || handoff_ || closed_) {
    pool_->emit("moving_ignored", {{"conn", static_cast<std::int64_t>(id_)},
                                   {"why", std::string{"no usable socket to hand off"}}});
    return;
  }
  const auto t = now();
  old_ = active_;
  active_ = nullptr;  // writes pause; new commands wait in pending_
  // Replies on the old socket may be slow while the endpoint moves (lettuce PR #3894: an idle
  // connection needs the relaxation as much as a busy one).
  old_->relax.relax_until(std::max(s.close_deadline, t + pool_->cfg.config.maint.relaxed_timeout));
  report_relax(old_, t);
  old_->watchdog.cancel();
  if (pool_->cfg.config.broken.has(broken_mode::abandon_blocked)) abandon_blocked(old_);
  handoff_.emplace(handoff_params{pool_->cfg.config.maint.handoff_timeout,
                                  pool_->cfg.config.maint.max_handoff_retries, handoff_retry_delay,
                                  pool_->cfg.config.broken});
  ++handoff_generation_;
  handoff_target_ = s.target;
  handoff_started_ = t;
  ++pool_->stats.handoffs_started;
  pool_->emit("handoff_started", {{"conn", static_cast<std::int64_t>(id_)},
                                  {"from", old_->endpoint.to_string()},
                                  {"to", s.target.to_string()},
                                  {"seq", s.seq},
                                  {"close_in_ms", ms_between(t, s.close_deadline)}});
  run_handoff(handoff_->start(s.target, s.close_deadline, t));
  if (handoff_ && old_ && old_->inflight.empty()) run_handoff(handoff_->on_old_drained(now()));
}

void connection::run_handoff(const std::vector<handoff_action>& actions) {
  for (const auto& a : actions) {
    if (const auto* dial = std::get_if<handoff_dial>(&a)) {
      std::weak_ptr<connection> weak = shared_from_this();
      pool_->acquire_dial_worker([weak, d = *dial, gen = handoff_generation_] {
        if (auto self = weak.lock()) {
          asio::co_spawn(self->pool_->ex, self->run_handoff_dial(d, gen), asio::detached);
        }
      });
    } else if (const auto* swap = std::get_if<handoff_swap>(&a)) {
      do_swap(*swap);
    } else if (std::holds_alternative<handoff_close_old>(a)) {
      if (auto w = old_) {
        old_ = nullptr;
        wire_lost(w, "handoff grace period ending", closer::client);
      }
    } else if (const auto* abandon = std::get_if<handoff_abandon>(&a)) {
      do_abandon(abandon->reason);
    }
  }
  arm_handoff_timer();
}

auto connection::run_handoff_dial(handoff_dial d, std::uint64_t generation)
    -> asio::awaitable<void> {
  auto self = shared_from_this();
  // The dial worker is held until the new socket is handshaken or has failed.
  if (!handoff_ || handoff_generation_ != generation || closed_) {
    pool_->release_dial_worker();
    co_return;
  }
  auto result = co_await open_wire(d.target, d.scope, true);
  pool_->release_dial_worker();
  const bool stale = !handoff_ || handoff_generation_ != generation || closed_;
  if (auto* w = std::get_if<wire_ptr>(&result)) {
    if (stale) {
      wire_lost(*w, "handoff no longer wanted", closer::client);
      co_return;
    }
    next_ = *w;
    run_handoff(handoff_->on_dial_result(true, now()));
    co_return;
  }
  if (stale) co_return;
  const auto& e = std::get<command_error>(result);
  note("handoff_dial_failed", d.target, e);
  run_handoff(handoff_->on_dial_result(false, now()));
}

void connection::do_swap(const handoff_swap& s) {
  if (subscriber_ && old_ && !old_->closed && old_->subscribed) {
    if (!pool_->cfg.config.broken.has(broken_mode::overlap_subscriptions)) {
      // Unsubscribe first and read the confirmations: every message the old socket was sent
      // before them is handed over, and none can arrive twice.
      unsubscribe_on(old_);
      pending_swap_ = s;
      return;
    }
    if (next_ && !next_->closed && !next_->subscribe_sent) {
      subscribe_on(next_);  // broken: both sockets hold the subscription for a round trip
      pending_swap_ = s;
      return;
    }
  }
  const auto t = now();
  std::vector<request_ptr> resend;
  if (auto w = old_) {
    old_ = nullptr;
    if (s.inflight == inflight_disposition::resend) {
      for (auto& r : w->inflight) {
        r->parts.clear();  // a transaction is written again whole: its replies start over
        if (!r->completed) resend.push_back(r);
      }
      w->inflight.clear();
    }
    wire_lost(w,
              s.inflight == inflight_disposition::fail
                  ? "handoff grace period ending"
                  : "handed off to " + handoff_target_.to_string(),
              closer::client);
  }
  if (s.buffered == buffered_disposition::drop) {
    for (auto& r : pending_) {
      pool_->complete(r, command_error{error_class::connection,
                                       "dropped during handoff (broken mode drop-buffered)"});
    }
    pending_.clear();
  }
  if (!resend.empty()) {
    pool_->stats.commands_retried += resend.size();
    pending_.insert(pending_.begin(), resend.begin(), resend.end());
  }
  auto w = std::move(next_);
  next_ = nullptr;
  handoff_.reset();
  handoff_timer_.cancel();
  if (!w || w->closed) {
    start_reconnect();
    return;
  }
  // Post-handoff relaxation, counted from the swap (the new node may still be warming up).
  w->relax.relax_until(t + pool_->cfg.post_handoff_relaxed_duration);
  report_relax(w, t);
  ++pool_->stats.handoffs_completed;
  pool_->emit("handoff_done", {{"conn", static_cast<std::int64_t>(id_)},
                               {"endpoint", w->endpoint.to_string()},
                               {"took_ms", ms_between(handoff_started_, t)},
                               {"resent", static_cast<std::int64_t>(resend.size())}});
  activate(w);
}

void connection::do_abandon(const std::string& reason) {
  handoff_.reset();
  handoff_timer_.cancel();
  ++pool_->stats.handoffs_failed;
  pool_->emit("handoff_failed", {{"conn", static_cast<std::int64_t>(id_)},
                                 {"to", handoff_target_.to_string()},
                                 {"reason", reason}});
  if (auto n = std::move(next_)) {
    next_ = nullptr;
    wire_lost(n, "handoff abandoned", closer::client);
  }
  if (old_ && !old_->closed) {
    // Better than nothing: the old socket still works until the server closes it, and when it
    // does, the normal reconnect takes over.
    active_ = std::move(old_);
    old_ = nullptr;
    maybe_write();
  } else {
    old_ = nullptr;
    start_reconnect();
  }
}

// Broken on purpose: the application hears "timed out" while the server still holds the call,
// so the next element is popped into a reply nobody reads. The correct client leaves the call
// pending: the swap waits for the old socket to drain.
void connection::abandon_blocked(const wire_ptr& w) {
  for (auto& r : w->inflight) {
    if (r->blocking && !r->completed) {
      r->abandoned = true;
      pool_->complete(r, resp3::value::nil());
    }
  }
}

void connection::arm_handoff_timer() {
  if (!handoff_) return;
  const auto deadline = handoff_->next_deadline();
  if (!deadline) {
    handoff_timer_.cancel();
    return;
  }
  handoff_timer_.expires_at(*deadline);
  std::weak_ptr<connection> weak = shared_from_this();
  handoff_timer_.async_wait([weak, gen = handoff_generation_](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || !self->handoff_ || self->handoff_generation_ != gen) return;
    self->run_handoff(self->handoff_->on_timer(now()));
  });
}

void connection::shutdown() {
  if (closed_) return;
  closed_ = true;
  for (auto& r : pending_) {
    pool_->complete(r, command_error{error_class::cancelled, "client shut down"});
  }
  pending_.clear();
  handoff_.reset();
  for (auto w : {active_, old_, next_}) {
    if (w) wire_lost(w, "client shut down", closer::client);
  }
  for (const auto& w : std::vector<wire_ptr>(opening_.begin(), opening_.end())) {
    wire_lost(w, "client shut down", closer::client);
  }
  active_ = old_ = next_ = nullptr;
  queue_timer_.cancel();
  handoff_timer_.cancel();
}

}  // namespace client_detail

// --- pool -------------------------------------------------------------------------------------

auto client::impl::views() const -> std::vector<conn_view> {
  std::vector<conn_view> out;
  out.reserve(conns.size());
  for (const auto& c : conns) out.push_back(c->view());
  return out;
}

auto client::impl::find(conn_id id) -> std::shared_ptr<connection> {
  for (auto& c : conns) {
    if (c->id() == id) return c;
  }
  return nullptr;
}

void client::impl::on_moving(conn_id receiver, const maint::moving& m) {
  if (shut_down) return;
  perform(planner.on_moving(receiver, m, views(), now()));
}

void client::impl::perform(const std::vector<planner_action>& actions) {
  for (const auto& a : actions) {
    if (const auto* s = std::get_if<start_handoff>(&a)) {
      if (auto c = find(s->conn)) c->begin_handoff(*s);
    } else if (const auto* t = std::get_if<schedule_timer>(&a)) {
      auto timer = std::make_shared<asio::steady_timer>(ex, t->at);
      planner_timers[t->token] = timer;
      std::weak_ptr<impl> weak = shared_from_this();
      timer->async_wait([weak, token = t->token](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || self->shut_down) return;
        self->planner_timers.erase(token);
        self->perform(self->planner.on_timer(token, self->views(), now()));
      });
      emit("moving_scheduled",
           {{"token", static_cast<std::int64_t>(t->token)}, {"in_ms", ms_between(now(), t->at)}});
    } else if (const auto* r = std::get_if<remap_target>(&a)) {
      emit("remap", {{"from", r->from.to_string()}, {"to", r->to.to_string()}});
    } else if (const auto* i = std::get_if<moving_ignored>(&a)) {
      emit("moving_ignored", {{"conn", static_cast<std::int64_t>(i->conn)}, {"why", i->why}});
    }
  }
}

void client::impl::acquire_dial_worker(std::function<void()> start) {
  if (dials_running < cfg.max_workers) {
    ++dials_running;
    start();
    return;
  }
  // Capacity: handoff_queue_size >= pool_size by the formula, and a connection queues at most
  // one dial at a time, so the queue cannot overflow.
  dial_queue.push_back(std::move(start));
}

void client::impl::release_dial_worker() {
  --dials_running;
  if (!dial_queue.empty() && !shut_down) {
    auto next = std::move(dial_queue.front());
    dial_queue.pop_front();
    ++dials_running;
    next();
  }
}

auto client::impl::add_connection() -> std::shared_ptr<connection> {
  auto c = std::make_shared<connection>(shared_from_this(), next_conn_id++);
  conns.push_back(c);
  return c;
}

void client::impl::grow() {
  growing = true;
  add_connection()->start_background();
}

void client::impl::remove(conn_id id) {
  std::erase_if(conns, [&](const auto& c) { return c->id() == id; });
  planner.forget(id);
}

// --- client -----------------------------------------------------------------------------------

client::client(asio::any_io_executor executor, resolved_config config, event_sink sink)
    : impl_{std::make_shared<impl>(std::move(executor), std::move(config), std::move(sink))} {
  if (const auto& tls = impl_->cfg.config.tls) {
    try {
      impl_->tls_ctx = make_tls_context(*tls);
    } catch (const std::exception& e) {
      // Every dial then fails with this reason; connect() reports it.
      impl_->tls_setup_error = e.what();
    }
  }
}

client::~client() { shutdown(); }

void client::connect(std::function<void(std::optional<command_error>)> done) {
  auto pool = impl_;
  if (pool->shut_down) {
    asio::post(pool->ex, [done = std::move(done)] {
      done(command_error{error_class::cancelled, "client shut down"});
    });
    return;
  }
  const int extra = std::min(pool->cfg.config.min_idle_conns, pool->cfg.config.pool_size) - 1;
  pool->add_connection()->start_first(
      [pool, extra, done = std::move(done)](std::optional<command_error> e) {
        if (!e) {
          for (int i = 0; i < extra; ++i) pool->add_connection()->start_background();
        }
        asio::post(pool->ex, [done, e] { done(e); });
      });
}

auto client::impl::make_request(std::vector<std::string> args,
                                std::function<void(command_result)> done) -> request_ptr {
  auto r = std::make_shared<request>();
  r->id = next_request_id++;
  resp3::append_command(r->bytes, std::vector<std::string_view>(args.begin(), args.end()));
  r->args = std::move(args);
  r->done = std::move(done);
  if (r->done) {
    r->counted = true;
    ++outstanding;
  }
  r->enqueued_at = now();
  return r;
}

auto client::impl::pick_connection() -> std::shared_ptr<connection> {
  std::shared_ptr<connection> best;
  for (const auto& c : conns) {
    if (!c->exclusive() && c->ready() && (!best || c->load() < best->load())) best = c;
  }
  const auto size = static_cast<int>(
      std::count_if(conns.begin(), conns.end(), [](const auto& c) { return !c->exclusive(); }));
  // Grow only under real concurrency, never because a handoff or reconnect is under way: a
  // connection dialled then would be one more socket for nothing.
  if (best &&
      best->load() >= static_cast<std::size_t>(std::max(1, cfg.config.grow_at_outstanding)) &&
      size < cfg.config.pool_size && !growing) {
    grow();
  }
  if (!best) {
    // Nothing ready (handoff or reconnect under way): buffer where the queue is shortest.
    for (const auto& c : conns) {
      if (!c->exclusive() && !c->closed() && (!best || c->pending() < best->pending())) best = c;
    }
  }
  if (!best) {
    grow();
    best = conns.back();
  }
  return best;
}

void client::execute(std::vector<std::string> args, std::function<void(command_result)> done) {
  auto& pool = *impl_;
  auto r = pool.make_request(std::move(args), std::move(done));
  if (pool.shut_down) {
    pool.complete(r, command_error{error_class::cancelled, "client shut down"});
    return;
  }
  pool.pick_connection()->enqueue(std::move(r));
}

void client::execute_asking(std::vector<std::string> args,
                            std::function<void(command_result)> done) {
  auto& pool = *impl_;
  auto r = pool.make_request(std::move(args), std::move(done));
  if (pool.shut_down) {
    pool.complete(r, command_error{error_class::cancelled, "client shut down"});
    return;
  }
  auto asking = pool.make_request({"ASKING"}, {});
  // One connection, one FIFO: the two are written in this order on the same socket.
  auto c = pool.pick_connection();
  c->enqueue(std::move(asking));
  c->enqueue(std::move(r));
}

void client::execute_blocking(std::vector<std::string> args, milliseconds block_for,
                              std::function<void(command_result)> done) {
  auto& pool = *impl_;
  auto r = pool.make_request(std::move(args), std::move(done));
  r->blocking = true;
  r->block_for = block_for;
  if (pool.shut_down) {
    pool.complete(r, command_error{error_class::cancelled, "client shut down"});
    return;
  }
  if (!pool.blocker || pool.blocker->closed()) {
    pool.blocker = pool.add_connection();
    pool.blocker->make_blocker();
    pool.blocker->start_background();
  }
  pool.blocker->enqueue(std::move(r));
}

void client::transaction(transaction_block block, std::function<void(command_result)> done) {
  auto& pool = *impl_;
  std::vector<std::vector<std::string>> steps;
  if (!block.watch.empty()) {
    steps.push_back({"WATCH"});
    steps.back().insert(steps.back().end(), block.watch.begin(), block.watch.end());
  }
  steps.push_back({"MULTI"});
  for (auto& c : block.commands) steps.push_back(std::move(c));
  steps.push_back({"EXEC"});
  if (pool.cfg.config.broken.has(broken_mode::split_transaction)) {
    pool.send_chatty(std::make_shared<client::impl::chatty_block>(
        client::impl::chatty_block{std::move(steps), 0, std::move(done)}));
    return;
  }
  auto r = pool.make_request({"EXEC"}, std::move(done));
  r->bytes.clear();
  for (const auto& step : steps) {
    resp3::append_command(r->bytes, std::vector<std::string_view>(step.begin(), step.end()));
  }
  r->transaction = true;
  r->replies_due = steps.size();
  if (pool.shut_down) {
    pool.complete(r, command_error{error_class::cancelled, "client shut down"});
    return;
  }
  pool.pick_connection()->enqueue(std::move(r));
}

void client::impl::send_chatty(std::shared_ptr<chatty_block> b) {
  auto r = make_request(b->steps[b->next], [weak = weak_from_this(), b](command_result res) {
    auto pool = weak.lock();
    if (!pool || pool->shut_down || ++b->next == b->steps.size()) {
      b->done(std::move(res));  // EXEC's reply (or the last failure) answers the block
      return;
    }
    pool->send_chatty(b);
  });
  if (shut_down) {
    complete(r, command_error{error_class::cancelled, "client shut down"});
    return;
  }
  pick_connection()->enqueue(std::move(r));
}

void client::subscribe(subscription_kind kind, std::vector<std::string> names,
                       std::function<void(pubsub_message)> on_message,
                       std::function<void(std::optional<command_error>)> done) {
  auto& pool = *impl_;
  if (pool.shut_down || pool.sub || names.empty()) {
    const auto why = pool.shut_down ? command_error{error_class::cancelled, "client shut down"}
                     : pool.sub     ? command_error{error_class::other, "already subscribed"}
                                    : command_error{error_class::other, "nothing to subscribe to"};
    asio::post(pool.ex, [done = std::move(done), why] { done(why); });
    return;
  }
  pool.sub = client::impl::subscription{kind, std::move(names), std::move(on_message),
                                        std::move(done), false};
  auto c = pool.add_connection();
  c->make_subscriber();
  c->start_background();
}

void client::ssubscribe(std::vector<std::string> channels,
                        std::function<void(pubsub_message)> on_message,
                        std::function<void(shard_frame)> on_frame) {
  auto& pool = *impl_;
  if (pool.shut_down || channels.empty()) return;
  if (!pool.sub) {
    pool.sub = client::impl::subscription{subscription_kind::shard, std::move(channels),
                                          std::move(on_message), nullptr, false};
    pool.sub->on_shard_frame = std::move(on_frame);
    auto c = pool.add_connection();
    c->make_subscriber();
    c->start_background();
    return;
  }
  std::vector<std::string> fresh;
  for (auto& name : channels) {
    if (std::find(pool.sub->names.begin(), pool.sub->names.end(), name) != pool.sub->names.end())
      continue;
    pool.sub->names.push_back(name);
    fresh.push_back(std::move(name));
  }
  if (fresh.empty()) return;
  for (auto& c : pool.conns) {
    if (c->subscriber()) c->subscribe_more(fresh);
  }
}

void client::set_smigrated_handler(std::function<void(const maint::smigrated&)> handler) {
  impl_->smigrated_handler = std::move(handler);
}

auto client::outstanding() const -> std::size_t { return impl_->outstanding; }

auto client::ready() const -> bool {
  return std::any_of(impl_->conns.begin(), impl_->conns.end(),
                     [](const auto& c) { return c->ready(); });
}

auto client::take_unwritten() -> std::vector<unwritten_command> {
  std::vector<unwritten_command> out;
  for (auto& c : impl_->conns) {
    for (auto& r : c->take_unwritten()) {
      if (r->counted) {
        r->counted = false;
        --impl_->outstanding;
      }
      out.push_back({std::move(r->args), std::move(r->done)});
    }
  }
  return out;
}

void client::shutdown() {
  auto& pool = *impl_;
  if (pool.shut_down) return;
  pool.shut_down = true;
  for (auto& [token, timer] : pool.planner_timers) timer->cancel();
  pool.planner_timers.clear();
  pool.dial_queue.clear();
  auto conns = pool.conns;
  for (auto& c : conns) c->shutdown();
  pool.conns.clear();
}

auto client::stats() const -> client_stats { return impl_->stats; }

auto client::connections() const -> std::vector<connection_snapshot> {
  std::vector<connection_snapshot> out;
  for (const auto& c : impl_->conns) out.push_back(c->snapshot());
  return out;
}

auto client::dial_target() const -> address { return impl_->planner.dial_target(); }

auto client::config() const -> const resolved_config& { return impl_->cfg; }

}  // namespace schsim::refclient
