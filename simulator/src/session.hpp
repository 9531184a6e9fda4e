#pragma once
// Internal: the Asio drivers behind schsim::simulator::server. Not installed, not public.

#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/timeline/recorder.hpp>
#include <schsim/simulator/command_handler.hpp>
#include <schsim/simulator/keyspace.hpp>
#include <schsim/simulator/server.hpp>
#include <schsim/simulator/upstream.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace schsim::simulator::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// One listening endpoint and the knobs the control API turns on it.
struct endpoint_state {
  endpoint_state(asio::any_io_executor ex, endpoint_config cfg, keyspace& data,
                 pubsub_registry& pubsub, blocking_registry& blocking)
      : config(std::move(cfg)),
        acceptor(ex),
        mode_changed(ex),
        mode(config.initial_mode),
        handler(data, config.profile, pubsub, blocking) {}

  endpoint_config config;
  tcp::acceptor acceptor;
  /// The accept loop waits on it while not accepting; cancelled when the mode changes.
  asio::steady_timer mode_changed;
  accept_mode mode;
  command_handler handler;
  std::uint16_t port = 0;
  std::chrono::milliseconds reply_latency{0};
  bool stalled = false;
  std::size_t chunk_bytes = 0;
  std::chrono::milliseconds chunk_pause{0};
  /// Set when config.tls is: the endpoint's certificate, key and client verification.
  std::unique_ptr<asio::ssl::context> tls_context;
};

/// The server-side TLS context of one endpoint (session.cpp); throws std::runtime_error with
/// OpenSSL's reason when the certificate or key cannot be used.
auto make_tls_context(const endpoint_config& cfg) -> std::unique_ptr<asio::ssl::context>;

class session;

/**
 * Fork-join writers for large flushes: run() hands slices of the claimed sessions to the
 * workers, writes the first slice itself and returns once every slice is done. Workers only
 * call session::direct_write(), which touches the claimed bytes and the session's own result
 * fields; run()'s mutex gives the happens-before both ways.
 */
class flush_workers {
 public:
  explicit flush_workers(std::size_t threads);
  ~flush_workers();
  flush_workers(const flush_workers&) = delete;
  auto operator=(const flush_workers&) -> flush_workers& = delete;

  void run(std::span<session* const> sessions);

 private:
  void work(std::size_t slice);
  void write_slice(std::size_t slice);

  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable finished_;
  std::span<session* const> job_;
  std::uint64_t generation_ = 0;
  std::size_t running_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

/**
 * A first-in first-out queue on one vector: unlike std::deque (which allocates a map and a
 * 512-byte block per instance up front) an idle, empty queue costs nothing, and with 10,000
 * mostly idle sessions that matters.
 */
template <class T>
class fifo {
 public:
  [[nodiscard]] auto empty() const -> bool { return head_ == items_.size(); }
  [[nodiscard]] auto front() -> T& { return items_[head_]; }
  [[nodiscard]] auto back() -> T& { return items_.back(); }
  [[nodiscard]] auto back() const -> const T& { return items_.back(); }
  /// The queued items, front first.
  [[nodiscard]] auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  [[nodiscard]] auto end() { return items_.end(); }
  void push_back(T item) { items_.push_back(std::move(item)); }
  void pop_front() {
    ++head_;
    if (head_ == items_.size()) {
      clear();
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      // Reclaim the consumed front once it is at least half the vector (amortised O(1)).
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;
};

/// State shared by the server object, its accept loops and its sessions.
struct server_core {
  server_core(asio::any_io_executor ex, server_config cfg, timeline::recorder& rec)
      : executor(std::move(ex)), config(std::move(cfg)), recorder(&rec), block_timer(executor) {}

  void record(const std::string& endpoint, std::uint64_t conn, timeline::detail what);
  /// As record(), stamped `t_ns` (a write that a flush worker performed earlier).
  void record_at(std::int64_t t_ns, const std::string& endpoint, std::uint64_t conn,
                 timeline::detail what);
  /// A command_received / reply_written, as compact records (no event built unless an observer
  /// wants one).
  void record_command(const std::string& endpoint, std::uint64_t conn, std::uint64_t index,
                      std::span<const std::string_view> args, std::int64_t t_ns);
  void record_reply(const std::string& endpoint, std::uint64_t conn, std::uint64_t index,
                    bool error, std::string_view summary, std::int64_t t_ns);
  /// Writes out what control calls queued (see session::schedule_flush).
  void flush();
  /// Queues the messages of PUBLISH / SPUBLISH (or EXEC) to their receivers' sessions.
  void deliver(std::vector<publication> publications);
  /// A slot left a node: its shard subscribers there get `sunsubscribe` (cluster mode).
  void drop_unserved_shard_channels(const cluster_state& cluster);
  /// After a command (or a producer's push): serves the clients blocked on keys it made ready
  /// and re-arms the timeout timer for the registry's next deadline.
  void serve_blocked_clients(time_point now);
  /// Hands served or timed-out blocked commands their replies (and records BLMOVE's pushes).
  void deliver_unblocked(std::vector<unblocked_reply> replies);
  /// A list_pushed per element, when commands are recorded; `conn` 0: the producer.
  void record_pushed(const std::string& endpoint, std::uint64_t conn,
                     const std::vector<list_element_event>& pushed);
  void arm_block_timer();

  asio::any_io_executor executor;
  server_config config;
  timeline::recorder* recorder;
  keyspace data;
  pubsub_registry pubsub;
  blocking_registry blocking;
  /// Fires at the blocking registry's next deadline (time_point::max(): not armed).
  asio::steady_timer block_timer;
  time_point block_timer_at = time_point::max();
  command_handler::stats stats;
  std::vector<std::unique_ptr<endpoint_state>> endpoints;
  std::map<std::uint64_t, std::shared_ptr<session>> sessions;
  std::uint64_t next_connection_id = 1;
  /// Sessions with output queued by a control call, written by the next flush().
  std::vector<std::shared_ptr<session>> flush_queue;
  bool flush_posted = false;
  /// Created by the first flush large enough to use it.
  std::unique_ptr<flush_workers> workers;
  bool started = false;
  bool stopped = false;
  bool maint_pushes_enabled = true;
  command_interceptor interceptor;
};

/// Whether a session serves commands or swallows them (accept_mode::blackhole).
enum class session_role { serve, blackhole };

/**
 * One client connection: one coroutine reads, parses and executes commands; output is written
 * by `pump()`, synchronously while the socket takes it and through a callback-driven
 * async_write when it does not. There is no writer coroutine: per idle connection that saves a
 * coroutine frame and a parallel group, and a write needs no trip through the scheduler.
 *
 * Output is one byte stream with absolute offsets. Complete frames are appended to `out_`
 * (so a push always lands between two frames); replies delayed by latency or a stall wait in
 * `held_` in order until due. `marks_` remember where each frame ends so its timeline event is
 * recorded once its last byte has been written.
 *
 *   held_ (not yet due) ──promote──► out_ [unwritten ........] ──write──► socket
 *                                    ^out_start_  ^close_at_ (optional)  ^queued_
 *
 * Control calls (push, raw, close, wake) only queue and ask the server for a flush, so what
 * they cause is written (and recorded) after the call returns, as the scenario engine expects:
 * its step_executed event comes before the push_written events of that step.
 */
class session : public std::enable_shared_from_this<session> {
 public:
  session(std::shared_ptr<server_core> core, endpoint_state& ep, tcp::socket socket,
          std::uint64_t id, session_role role);
  ~session();
  session(const session&) = delete;
  auto operator=(const session&) -> session& = delete;

  /// Reads until the session is finished; the session ends when this returns.
  auto run() -> asio::awaitable<void>;

  [[nodiscard]] auto id() const -> std::uint64_t { return state_.id; }
  [[nodiscard]] auto endpoint() const -> const endpoint_state& { return *ep_; }
  [[nodiscard]] auto info() const -> connection_info;
  [[nodiscard]] auto maint_enabled() const -> bool { return state_.maint_enabled; }
  /// Serving and not closing: pushes and raw bytes can still be queued.
  [[nodiscard]] auto open_for_output() const -> bool;

  /// `bytes` and `meta` are shared by every session of one fan-out.
  auto push(std::string_view bytes, const std::shared_ptr<const push_meta>& meta) -> bool;
  auto raw(std::string_view bytes, const std::shared_ptr<const push_meta>& meta) -> bool;
  auto close(close_mode mode, close_point point, const std::string& reason) -> bool;
  /// A Pub/Sub frame for this connection: one message of `what` (to `receiver`), or with
  /// `what` null a `sunsubscribe` of `channel` leaving `remaining` shard subscriptions. Written
  /// in reply order (after the reply of a command this connection is running).
  void deliver(const std::shared_ptr<const publication>& what, const pubsub_receiver& receiver);
  void push_sunsubscribe(std::string_view channel, std::size_t remaining);
  /// The command this connection is blocked on was served or timed out: its reply is queued,
  /// then the commands that arrived meanwhile run (from a handler of their own, not inside the
  /// command that served it).
  void unblocked(unblocked_reply reply);
  /// Endpoint settings changed (latency, stall, fragmentation): re-evaluate what to write.
  void wake();
  /// Server stop: records the close and cancels everything.
  void stop();
  /// Writes what is ready now (no-op while a write or a pause is in progress).
  void pump();

  /// Parallel flush, on the io thread before the fork: claims the ready bytes for one
  /// non-blocking send by a worker; false when the session needs the ordinary pump (held
  /// replies, fragmentation, a close, a write in progress, nothing to write).
  auto claim_direct_write() -> bool;
  /// Between fork and join, on any one thread: sends the claimed bytes, notes result and time.
  void direct_write() noexcept;
  /// On the io thread after the join: accounts for what the socket took, records the frames
  /// with the send's time, and pumps what is left (the asynchronous path if it would block).
  void finish_direct_write();

 private:
  using close_how = timeline::close_how;
  using close_initiator = timeline::close_initiator;
  enum class frame_kind { reply, push, raw, error, pubsub };
  struct close_request {
    close_initiator by = close_initiator::server;
    close_how how = close_how::fin;
    std::string reason;
    std::uint64_t at = 0;  // absolute stream offset where the output stops
  };
  struct frame_mark {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    frame_kind kind = frame_kind::reply;
    std::uint64_t index = 0;
    bool error = false;
    // Replies, when commands are recorded: the summary's place in summaries_ (absolute
    // offsets, see summaries_base_).
    std::uint64_t summary_at = 0;
    std::uint32_t summary_len = 0;
    std::shared_ptr<const push_meta> meta;  // pushes and raw writes
    // Replies that carry popped list elements: recorded as list_popped once written whole,
    // or as lost if the connection closes first.
    std::shared_ptr<const std::vector<list_element_event>> popped;
    bool recorded = false;  // a push: push_written already recorded at its first byte
    // A Pub/Sub message: what was published and to which subscription (one of its receivers),
    // for pubsub_delivered.
    std::shared_ptr<const publication> message;
    const pubsub_receiver* receiver = nullptr;
  };
  struct held_frame {
    std::string bytes;
    time_point due{};
    frame_mark mark;                           // start/end filled when promoted
    std::optional<close_request> close_after;  // QUIT / protocol error
    bool awaiting_upstream = false;            // proxy mode: the reply is still upstream
  };
  struct upstream_link;  // proxy mode's connection to the upstream Redis (session.cpp)
  struct tls_link;       // a TLS connection's stream and read buffer (session.cpp)

  /// TLS endpoints: tells a TLS ClientHello from plaintext by the first byte, then runs the
  /// handshake (bounded by tls_handshake_timeout) and records it; false when the session ended.
  auto start_transport() -> asio::awaitable<bool>;
  auto handshake_tls() -> asio::awaitable<bool>;
  /// Waits (bounded) for the first byte without consuming it; nullopt when the session ended.
  auto peek_first_byte() -> asio::awaitable<std::optional<unsigned char>>;
  void record_tls(timeline::tls_handshake what);
  /// The read loop of a TLS connection (the plaintext one reads the socket directly, run()).
  auto read_tls() -> asio::awaitable<void>;
  /// A read ended with `ec`: the client's close (or the end of a FIN linger).
  void read_failed(const boost::system::error_code& ec);
  void start_async_write();
  void consume(std::string_view input);
  void process_input();
  void execute(std::span<const std::string_view> args, time_point now);
  /// execute()'s steps: run the command (or take the interceptor's reply) and queue the reply;
  /// then record what it did and deliver what it published.
  auto queue_reply(std::span<const std::string_view> args, std::uint64_t index,
                   const std::optional<intercepted_reply>& canned, time_point now)
      -> command_outcome;
  void report_outcome(command_outcome outcome, time_point now);
  /// Runs the commands that arrived while this connection was blocked.
  void resume_input();
  /// Records the list elements of `m`'s reply (list_popped): written, or lost at a close.
  void record_popped(const frame_mark& m, timeline::list_popped::outcome result);
  /// A close drops unwritten replies: their popped elements are lost.
  void record_lost_pops();
  /// Proxy mode: forwards a command whose reply comes from the upstream; false when schsim
  /// answers it itself (the handshake, or NOAUTH before authentication).
  auto forward_to_upstream(std::span<const std::string_view> args, std::uint64_t index) -> bool;
  /// Proxy mode: connects to the upstream and relays what it sends until either side ends.
  auto run_upstream() -> asio::awaitable<void>;
  void send_upstream(std::string bytes, bool relay_reply);
  void write_upstream();
  void relay_upstream(upstream_frame frame);
  /// Gives the oldest reply still upstream its bytes; false when there is none (closing).
  auto fill_first_awaiting(std::string bytes) -> bool;
  void upstream_failed(const std::string& why);
  void protocol_error(const std::string& reply_text, std::uint64_t offset, time_point now);
  /// Appends a complete frame to the ready output (held back if replies are waiting and the
  /// frame must keep reply order).
  void enqueue(std::string_view bytes, frame_mark mark, std::optional<close_request> close_after,
               time_point due, bool keep_reply_order);
  void append_ready(std::string_view bytes, frame_mark mark);
  void promote(time_point now, bool force_one);
  /// `t_ns` 0: stamped now.
  void record_written(std::int64_t t_ns = 0);
  void record_push_written(frame_mark& m, std::int64_t t_ns);
  void record_delivered(const frame_mark& m, std::int64_t t_ns);
  /// Appends the timeline summary of `reply` to summaries_ and notes its place in `mark`.
  void add_summary(std::string_view reply, frame_mark& mark);
  /// Drops the summaries no pending frame refers to (all of them once every frame is out).
  void release_summaries();
  void check_output_limit();
  /// A subscribed connection: Redis's pubsub client class limit (checked where output is
  /// pumped); true when it closed the connection.
  auto check_pubsub_limit() -> bool;
  [[nodiscard]] auto output_backlog() const -> std::size_t;
  /// Asks the server to pump this session after the current control call.
  void schedule_flush();
  void pump_once();
  void write_done(const boost::system::error_code& ec, std::size_t n);
  /// After a chunk went out: pause if fragmentation asks for it, else go on writing.
  void after_chunk();
  void arm_wake(time_point due);
  void begin_close();
  void wait_unsent_then_reset(int polls_left);
  /// Ends the session now (client went away, error, output limit, stop).
  void finish(close_initiator by, close_how how, const std::string& reason, bool record);

  std::shared_ptr<server_core> core_;
  endpoint_state* ep_;
  tcp::socket socket_;
  asio::steady_timer wake_;   // the first held reply is due
  asio::steady_timer pause_;  // fragmentation pause, RST drain, FIN linger
  session_role role_;
  session_state state_;
  resp3::parser parser_;
  std::vector<std::string_view> args_;
  std::uint64_t input_total_ = 0;
  std::uint64_t commands_ = 0;

  std::string out_;              // ready, not yet handed to a write
  std::string inflight_;         // the bytes of the asynchronous write in progress
  std::uint64_t out_start_ = 0;  // stream offset of out_[0]
  std::uint64_t queued_ = 0;     // stream offset just past out_
  std::uint64_t written_ = 0;    // stream offset of the first byte not yet written
  fifo<frame_mark> marks_;       // frames not yet fully written, in stream order
  fifo<held_frame> held_;
  // The reply summaries of marks_ and held_, back to back, so a recorded reply costs no string
  // of its own; summaries_base_ is the absolute offset of summaries_[0].
  std::string summaries_;
  std::uint64_t summaries_base_ = 0;
  std::size_t held_bytes_ = 0;
  std::optional<close_request> close_;
  std::unique_ptr<upstream_link> upstream_;  // proxy mode only
  std::unique_ptr<tls_link> tls_;            // TLS connections only
  output_limit_tracker pubsub_limit_;
  /// Output waits until the transport is settled (a TLS endpoint: plaintext or handshake done),
  /// so a push queued during a handshake is not written as plaintext into it.
  bool transport_ready_ = true;
  time_point wake_at_ = time_point::max();  // when wake_ is armed for, max() if not
  bool input_closed_ = false;  // stop executing input (QUIT, protocol error, close requested)
  /// Parked on a blocking command: later input waits in the parser until unblocked().
  bool blocked_ = false;
  bool writing_ = false;  // an async_write of inflight_ is in progress
  bool pausing_ = false;  // a fragmentation pause is in progress
  bool pumping_ = false;  // inside pump(): re-entrant calls only ask for another round
  bool pump_again_ = false;
  bool flush_scheduled_ = false;  // in server_core::flush_queue
  bool direct_claimed_ = false;   // bytes claimed by claim_direct_write(), not yet accounted
  std::size_t direct_take_ = 0;
  std::ptrdiff_t direct_sent_ = 0;  // send()'s result
  int direct_errno_ = 0;
  std::int64_t direct_at_ns_ = 0;
  bool closing_ = false;   // begin_close() ran
  bool draining_ = false;  // FIN sent, reading until the client's FIN
  bool peer_eof_ = false;
  bool close_recorded_ = false;  // connection_closed is in the timeline (exactly once)
  bool done_ = false;
};

}  // namespace schsim::simulator::detail
