// schsim_sim_bench: load generator and in-process measurements of the simulator (issue 8).
//
//   schsim_sim_bench fanout --connections N [--repeat R] [--redis-port P] [--no-floor]
//       [--parallel-flush-min M]
//       The simulator in this process; N opted-in RESP3 connections; a MOVING scheduled on a
//       steady_timer (as the scenario engine does) to all of them. Reports the time from the
//       scheduled instant to the last push_written event (the last frame fully written) and to
//       the last push received by a client. Peers, each round in turn with the simulator and
//       received by the same client code: redis-server on port P (N RESP3 subscribers of one
//       channel, one PUBLISH of a message push the size of the MOVING), and the floor (a plain
//       loop of non-blocking send() over N loopback sockets, on 1 and on 2 threads).
//       M: server_config::parallel_flush_min_sessions (0 writes every session on the io thread).
//   schsim_sim_bench precision --connections N [--pushes K] [--interval-ms I] [--rate R]
//       N opted-in connections running SET/GET, R commands/s in all (0: each connection back to
//       back, which saturates the server); K pushes scheduled I ms apart, each to one
//       connection. Reports scheduled vs written time, p50/p99/max.
//   schsim_sim_bench hold --port P --connections N [--handshake ping|maint|none] [--ready-file F]
//       [--hold-s S]
//       Opens N connections to any server (simulator or redis-server) and keeps them idle; writes
//       F once every handshake is answered, so a script can read the server's resident size.
//   schsim_sim_bench serve --port P [--no-record] [--duration-s S]
//       A one-endpoint simulator; --no-record switches off per-command recording
//       (server_config::record_commands) to show what recording costs under redis-benchmark.
//
// Every mode prints one JSON object on stdout. The clients use plain non-blocking sockets and
// epoll on the main thread so that their cost is small and does not run on the server's thread.
#include <schsim/core/clock.hpp>
#include <schsim/core/maint/codec.hpp>
#include <schsim/core/maint/notification.hpp>
#include <schsim/core/resp3/parser.hpp>
#include <schsim/core/resp3/serializer.hpp>
#include <schsim/core/timeline/recorder.hpp>
#include <schsim/simulator/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace {

namespace asio = boost::asio;
namespace sim = schsim::simulator;
namespace tl = schsim::timeline;
using schsim::mono_clock;
using schsim::to_ns;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "schsim_sim_bench: %s\n", what.c_str());
  std::exit(1);
}

/// Raises the soft open-file limit to at least `want` (the hard limit permitting).
void raise_nofile(std::size_t want) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur >= want) {
    return;
  }
  // Root (CAP_SYS_RESOURCE) may raise the hard limit too; others need ulimit -Hn beforehand.
  lim.rlim_cur = want;
  lim.rlim_max = std::max<rlim_t>(lim.rlim_max, want);
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    die("need " + std::to_string(want) + " file descriptors; raise the hard limit (ulimit -Hn)");
  }
}

constexpr std::string_view hello3 = "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";
constexpr std::string_view maint_on =
    "*3\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n";
constexpr std::string_view ping_cmd = "*1\r\n$4\r\nPING\r\n";
/// The redis-server peer of a fan-out: its subscribers all listen on this one channel.
constexpr std::string_view fanout_channel = "m";
constexpr std::string_view hello3_subscribe =
    "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nm\r\n";

struct conn {
  int fd = -1;
  std::size_t index = 0;  ///< in client_pool::conns()
  schsim::resp3::parser parser;
  std::size_t frames = 0;  ///< replies (not pushes)
  std::size_t pushes = 0;
  std::int64_t last_push_ns = 0;
  std::uint64_t next_command = 0;
};

/// N client connections driven by epoll on the calling thread.
class client_pool {
 public:
  /// subscribe: HELLO 3 + SUBSCRIBE to fanout_channel (redis-server's fan-out peer), answered
  /// by a map and, in RESP3, a push.
  enum class handshake { none, ping, maint, subscribe };

  client_pool() : epoll_(epoll_create1(0)) {}
  ~client_pool() {
    for (auto& c : conns_) {
      ::close(c->fd);
    }
    ::close(epoll_);
  }
  client_pool(const client_pool&) = delete;
  auto operator=(const client_pool&) -> client_pool& = delete;

  /// Connects in batches, waiting for each batch's handshake replies, so the listen backlog
  /// never overflows (a dropped SYN would add a 1 s retransmit to the measurement).
  void connect_all(std::uint16_t port, std::size_t n, handshake h) {
    const std::size_t expect = h == handshake::maint || h == handshake::subscribe ? 2
                               : h == handshake::ping                             ? 1
                                                                                  : 0;
    const std::string bytes = h == handshake::maint ? std::string(hello3) + std::string(maint_on)
                              : h == handshake::subscribe ? std::string(hello3_subscribe)
                              : h == handshake::ping      ? std::string(ping_cmd)
                                                          : std::string();
    constexpr std::size_t batch = 250;
    for (std::size_t at = 0; at < n; at += batch) {
      const std::size_t end = std::min(n, at + batch);
      for (std::size_t i = at; i < end; ++i) {
        add(port, bytes);
      }
      if (expect > 0) {
        const bool ok = pump_until(
            [&] {
              for (std::size_t i = at; i < end; ++i) {
                if (conns_[i]->frames + conns_[i]->pushes < expect) {
                  return false;
                }
              }
              return true;
            },
            std::chrono::seconds(20));
        if (!ok) {
          die("handshake replies did not arrive for connections " + std::to_string(at) + ".." +
              std::to_string(end));
        }
      }
    }
  }

  /// Reads whatever arrives until `done()` or the timeout; false on timeout.
  auto pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) -> bool {
    const auto deadline = mono_clock::now() + timeout;
    while (!done()) {
      if (mono_clock::now() > deadline) {
        return false;
      }
      pump(10);
    }
    return true;
  }

  /// One epoll_wait round.
  void pump(int timeout_ms) {
    std::array<epoll_event, 256> evs{};
    const int n = epoll_wait(epoll_, evs.data(), static_cast<int>(evs.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      read_from(*conns_[evs[static_cast<std::size_t>(i)].data.u64]);
    }
  }

  auto conns() -> std::vector<std::unique_ptr<conn>>& { return conns_; }
  /// Called for each reply (not push): e.g. to send the next command.
  std::function<void(conn&)> on_reply;
  /// Called for each push, after its receive stamp.
  std::function<void(conn&)> on_push;

 private:
  void add(std::uint16_t port, const std::string& bytes) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      die(std::string("socket: ") + std::strerror(errno));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      die(std::string("connect: ") + std::strerror(errno));
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!bytes.empty() &&
        ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
      die("short write of the handshake");
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    auto c = std::make_unique<conn>();
    c->fd = fd;
    c->index = conns_.size();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = conns_.size();
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    conns_.push_back(std::move(c));
  }

  void read_from(conn& c) {
    std::array<char, 16384> buf{};
    for (;;) {
      const ssize_t got = ::read(c.fd, buf.data(), buf.size());
      if (got <= 0) {
        if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
        }
        return;
      }
      c.parser.feed(std::string_view(buf.data(), static_cast<std::size_t>(got)));
      while (auto v = c.parser.next()) {
        if (v->kind == schsim::resp3::type::push) {
          ++c.pushes;
          c.last_push_ns = to_ns(mono_clock::now());
          if (on_push) {
            on_push(c);
          }
        } else {
          ++c.frames;
          if (on_reply) {
            on_reply(c);
          }
        }
      }
      if (static_cast<std::size_t>(got) < buf.size()) {
        return;
      }
    }
  }

  int epoll_;
  std::vector<std::unique_ptr<conn>> conns_;
};

/// The simulator on a background io thread, controlled from the main thread through call().
class sim_host {
 public:
  explicit sim_host(sim::server_config config) {
    server_ = std::make_unique<sim::server>(io_.get_executor(), std::move(config), record_);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~sim_host() {
    call([](sim::server& s) {
      s.stop();
      return 0;
    });
    guard_.reset();
    thread_.join();
  }
  sim_host(const sim_host&) = delete;
  auto operator=(const sim_host&) -> sim_host& = delete;

  template <class Fn>
  auto call(Fn fn) -> std::invoke_result_t<Fn, sim::server&> {
    std::packaged_task<std::invoke_result_t<Fn, sim::server&>()> task([&] { return fn(*server_); });
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return fut.get();
  }
  auto io() -> asio::io_context& { return io_; }
  auto server() -> sim::server& { return *server_; }
  auto recorder() -> tl::recorder& { return record_; }
  auto port() -> std::uint16_t {
    return call([](sim::server& s) { return s.endpoints().at(0).port; });
  }

 private:
  tl::recorder record_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::unique_ptr<sim::server> server_;
  std::thread thread_;
};

auto one_endpoint(bool record_commands = true) -> sim::server_config {
  sim::server_config cfg;
  sim::endpoint_config ep;
  ep.name = "node-a";
  cfg.endpoints.push_back(ep);
  cfg.record_commands = record_commands;
  return cfg;
}

auto moving_bytes(std::int64_t seq) -> std::string {
  return schsim::resp3::serialize(
      schsim::maint::encode(schsim::maint::moving{seq, 15, std::string("127.0.0.1:7001")}));
}

/// CPU time of the calling thread: with the machine shared, wall time from the schedule to the
/// last write overstates what the server thread itself spent.
auto thread_cpu_ns() -> std::int64_t {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/// push_written events whose step starts with `prefix`, by step, collected as they happen.
class push_log {
 public:
  explicit push_log(tl::recorder& r) : record_(&r) {
    id_ = r.subscribe([this](const tl::event& e) {
      if (const auto* p = std::get_if<tl::push_written>(&e.what)) {
        const std::lock_guard lock(mutex_);
        auto& s = steps_[p->step];
        s.count += 1;
        s.last_ns = std::max(s.last_ns, e.t_ns);
        s.first_ns = s.first_ns == 0 ? e.t_ns : std::min(s.first_ns, e.t_ns);
        s.last_thread_cpu_ns = thread_cpu_ns();
      }
    });
  }
  ~push_log() { record_->unsubscribe(id_); }
  push_log(const push_log&) = delete;
  auto operator=(const push_log&) -> push_log& = delete;

  struct step_stats {
    std::size_t count = 0;
    std::int64_t first_ns = 0;
    std::int64_t last_ns = 0;
    std::int64_t last_thread_cpu_ns = 0;  ///< the recording (server) thread's CPU clock then
  };
  auto get(const std::string& step) -> step_stats {
    const std::lock_guard lock(mutex_);
    return steps_[step];
  }

 private:
  tl::recorder* record_;
  std::size_t id_ = 0;
  std::mutex mutex_;
  std::map<std::string, step_stats> steps_;
};

auto ms(std::int64_t ns) -> double { return static_cast<double>(ns) / 1e6; }

auto percentile(std::vector<std::int64_t> v, double p) -> std::int64_t {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(at, v.size() - 1)];
}

struct args {
  std::map<std::string, std::string> named;
  auto num(const std::string& k, long long def) const -> long long {
    const auto it = named.find(k);
    return it == named.end() ? def : std::stoll(it->second);
  }
  auto str(const std::string& k, const std::string& def) const -> std::string {
    const auto it = named.find(k);
    return it == named.end() ? def : it->second;
  }
  auto has(const std::string& k) const -> bool { return named.contains(k); }
};

void write_all(int fd, const void* data, std::size_t n) {
  if (::write(fd, data, n) != static_cast<ssize_t>(n)) {
    die("pipe write failed");
  }
}
template <class T>
auto read_value(int fd) -> T {
  T v{};
  if (::read(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) {
    die("pipe read failed (the other process died?)");
  }
  return v;
}

/// A child process and the two pipes to it.
struct child_link {
  pid_t pid = -1;
  int to = -1;    ///< parent -> child
  int from = -1;  ///< child -> parent
};

/// Forks `body(from_parent, to_parent)`. Called before the parent starts any thread, so the
/// child cannot inherit a lock (malloc's, say) held by a thread that does not exist in it.
auto spawn_child(const std::function<int(int, int)>& body) -> child_link {
  std::array<int, 2> down{};
  std::array<int, 2> up{};
  if (::pipe(down.data()) != 0 || ::pipe(up.data()) != 0) {
    die("pipe failed");
  }
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid < 0) {
    die(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(down[1]);
    ::close(up[0]);
    std::_Exit(body(down[0], up[1]));
  }
  ::close(down[0]);
  ::close(up[1]);
  return child_link{pid, down[1], up[0]};
}

/// The receiving side of every fan-out (the simulator, redis-server and the floor alike), so
/// that all are timed by the same code and the same clock: N connections in a child process
/// (both ends of 10,000 connections in one process would need more descriptors than the hard
/// limit here), each stamping CLOCK_MONOTONIC, which is system-wide, as it parses a push.
/// Pipe protocol: the parent sends the port; the child connects, handshakes and answers 'r';
/// the parent sends 'g' once every server is ready; then, for each round, the child waits until
/// every connection has received one more push and sends the latest stamp (-1: some never got
/// it); 'q' ends it.
auto run_receivers(int from_parent, int to_parent, std::size_t n, client_pool::handshake h,
                   long long rounds) -> int {
  raise_nofile(n + 64);
  const auto port = read_value<std::uint16_t>(from_parent);
  client_pool pool;
  pool.connect_all(port, n, h);
  // redis-server confirms SUBSCRIBE with a push: count only what comes after the handshake.
  std::vector<std::size_t> expected;
  for (const auto& c : pool.conns()) {
    expected.push_back(c->pushes);
  }
  std::size_t missing = 0;
  pool.on_push = [&](conn& c) {
    if (c.pushes == expected[c.index]) {
      --missing;
    }
  };
  write_all(to_parent, "r", 1);
  (void)read_value<char>(from_parent);
  for (long long round = 1; round <= rounds; ++round) {
    for (auto& e : expected) {
      ++e;
    }
    missing = n;
    // A connection may already hold this round's push when the previous round ended.
    for (std::size_t i = 0; i < n; ++i) {
      if (pool.conns()[i]->pushes >= expected[i]) {
        --missing;
      }
    }
    const bool all = pool.pump_until([&] { return missing == 0; }, std::chrono::seconds(60));
    std::int64_t last_rx = 0;
    for (const auto& c : pool.conns()) {
      last_rx = std::max(last_rx, c->last_push_ns);
    }
    if (!all) {
      last_rx = -1;
    }
    write_all(to_parent, &last_rx, sizeof last_rx);
  }
  (void)read_value<char>(from_parent);
  return 0;
}

/// One round of the floor: at `at_ns` (CLOCK_MONOTONIC), send the MOVING numbered `seq` to
/// every connection with `threads` threads.
struct floor_round {
  std::int64_t at_ns = 0;
  std::int64_t seq = 0;
  std::int32_t threads = 0;  ///< 0 ends the floor server
};
struct floor_result {
  std::int64_t last_written_ns = 0;
  std::int64_t not_taken = 0;  ///< send() calls that did not take the whole frame
};

void sleep_until_ns(std::int64_t at_ns) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(at_ns / 1000000000);
  ts.tv_nsec = static_cast<long>(at_ns % 1000000000);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

/// Non-blocking send() of `frame` to each descriptor: what any server must at least do.
/// Returns how many sends did not take the whole frame.
auto send_all(std::span<const int> fds, std::string_view frame) -> std::int64_t {
  std::int64_t not_taken = 0;
  for (const int fd : fds) {
    if (::send(fd, frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL) !=
        static_cast<ssize_t>(frame.size())) {
      ++not_taken;
    }
  }
  return not_taken;
}

/// The floor of a fan-out on this machine, without Asio or any bookkeeping: a child process
/// that accepts N loopback connections and, each round, sends the frame to all of them in a
/// plain loop, on one thread or split in two halves over two (the second a worker started
/// once and woken per round, as a fork-join flush would). Reports the last send's end.
auto run_floor_server(int from_parent, int to_parent, std::size_t n) -> int {
  raise_nofile(n + 64);
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (listener < 0 ||
      ::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 4096) != 0) {
    die(std::string("floor listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::uint16_t port = ntohs(addr.sin_port);
  write_all(to_parent, &port, sizeof port);
  std::vector<int> fds;
  while (fds.size() < n) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) {
      die(std::string("floor accept: ") + std::strerror(errno));
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    fds.push_back(fd);
  }
  write_all(to_parent, "r", 1);

  const std::span<const int> all(fds);
  const std::size_t half = n / 2;
  std::string frame;
  std::atomic<std::int64_t> go{0};  // round number for the worker; -1: exit
  std::atomic<std::int64_t> done{0};
  std::int64_t worker_end_ns = 0;  // written by the worker before `done`, read after it
  std::int64_t worker_not_taken = 0;
  std::thread worker([&] {
    std::int64_t seen = 0;
    for (;;) {
      go.wait(seen);
      seen = go.load();
      if (seen < 0) {
        return;
      }
      worker_not_taken = send_all(all.subspan(half), frame);
      worker_end_ns = to_ns(mono_clock::now());
      done.store(seen);
      done.notify_one();
    }
  });
  for (std::int64_t round = 1;; ++round) {
    const auto r = read_value<floor_round>(from_parent);
    if (r.threads == 0) {
      break;
    }
    frame = moving_bytes(r.seq);
    floor_result out;
    sleep_until_ns(r.at_ns);
    if (r.threads == 1) {
      out.not_taken = send_all(all, frame);
      out.last_written_ns = to_ns(mono_clock::now());
    } else {
      go.store(round);
      go.notify_one();
      out.not_taken = send_all(all.first(half), frame);
      const std::int64_t mine = to_ns(mono_clock::now());
      for (std::int64_t d = done.load(); d != round; d = done.load()) {
        done.wait(d);
      }
      out.last_written_ns = std::max(mine, worker_end_ns);
      out.not_taken += worker_not_taken;
    }
    write_all(to_parent, &out, sizeof out);
  }
  go.store(-1);
  go.notify_one();
  worker.join();
  for (const int fd : fds) {
    ::close(fd);
  }
  ::close(listener);
  return 0;
}

/// The fan-out's redis-server peer: one publisher connection (RESP2 is enough to publish).
class redis_publisher {
 public:
  explicit redis_publisher(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      die("cannot connect to redis-server on port " + std::to_string(port));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~redis_publisher() { ::close(fd_); }
  redis_publisher(const redis_publisher&) = delete;
  auto operator=(const redis_publisher&) -> redis_publisher& = delete;

  /// The PUBLISH whose "message" push to each subscriber is `frame_size` bytes long, the size
  /// of the simulator's MOVING, so both servers write the same number of bytes.
  static auto publish_command(std::size_t frame_size) -> std::string {
    for (std::size_t payload = 1; payload < frame_size; ++payload) {
      const std::string len = std::to_string(payload);
      // >3 $7 message $1 m $<len> <payload>
      const std::size_t push = 4 + 13 + 7 + 1 + len.size() + 2 + payload + 2;
      if (push == frame_size) {
        const std::string body(payload, 'x');
        return "*3\r\n$7\r\nPUBLISH\r\n$1\r\n" + std::string(fanout_channel) + "\r\n$" + len +
               "\r\n" + body + "\r\n";
      }
    }
    die("no PUBLISH payload gives a push of " + std::to_string(frame_size) + " bytes");
  }

  void send(const std::string& command) { write_all(fd_, command.data(), command.size()); }

  /// PUBLISH's reply: how many subscribers got the message.
  auto receivers() -> long long {
    std::string reply;
    char ch = 0;
    while (reply.size() < 2 || reply.compare(reply.size() - 2, 2, "\r\n") != 0) {
      if (::read(fd_, &ch, 1) != 1) {
        die("redis-server closed the publisher connection");
      }
      reply += ch;
    }
    if (reply.front() != ':') {
      die("PUBLISH answered " + reply);
    }
    return std::stoll(reply.substr(1));
  }

 private:
  int fd_;
};

auto run_fanout(const args& a) -> int {
  const auto n = static_cast<std::size_t>(a.num("--connections", 1000));
  const auto repeat = a.num("--repeat", 5);
  const auto redis_port = static_cast<std::uint16_t>(a.num("--redis-port", 0));
  const bool with_floor = !a.has("--no-floor");
  const auto lead = std::chrono::milliseconds(20);  // schedule each push this far ahead

  // Every child first, before any thread of this process exists (see spawn_child).
  auto receivers = [&](client_pool::handshake h, long long rounds) {
    return spawn_child(
        [&, h, rounds](int in, int out) { return run_receivers(in, out, n, h, rounds); });
  };
  child_link sim_rx = receivers(client_pool::handshake::maint, repeat);
  child_link redis_rx;
  if (redis_port != 0) {
    redis_rx = receivers(client_pool::handshake::subscribe, repeat);
  }
  child_link floor_tx;
  child_link floor_rx;
  if (with_floor) {
    floor_tx = spawn_child([&](int in, int out) { return run_floor_server(in, out, n); });
    floor_rx = receivers(client_pool::handshake::none, 2 * repeat);  // 1 and 2 threads
  }

  raise_nofile(n + 64);
  auto config = one_endpoint();
  config.parallel_flush_min_sessions = static_cast<std::size_t>(
      a.num("--parallel-flush-min", static_cast<long long>(config.parallel_flush_min_sessions)));
  sim_host host(std::move(config));
  push_log log(host.recorder());
  const auto port = host.port();
  write_all(sim_rx.to, &port, sizeof port);
  (void)read_value<char>(sim_rx.from);
  const auto opted = host.call([](sim::server& s) {
    sim::selector sel;
    sel.opted_in_only = true;
    return s.connections(sel).size();
  });
  if (opted != n) {
    die("only " + std::to_string(opted) + " of " + std::to_string(n) + " connections opted in");
  }
  std::unique_ptr<redis_publisher> publisher;
  if (redis_port != 0) {
    write_all(redis_rx.to, &redis_port, sizeof redis_port);
    (void)read_value<char>(redis_rx.from);
    publisher = std::make_unique<redis_publisher>(redis_port);
  }
  if (with_floor) {
    const auto floor_port = read_value<std::uint16_t>(floor_tx.from);
    write_all(floor_rx.to, &floor_port, sizeof floor_port);
    (void)read_value<char>(floor_rx.from);
    (void)read_value<char>(floor_tx.from);
  }
  for (const auto* rx : {&sim_rx, &redis_rx, &floor_rx}) {
    if (rx->pid > 0) {
      write_all(rx->to, "g", 1);
    }
  }

  std::vector<std::int64_t> to_last_written;
  std::vector<std::int64_t> to_last_received;
  std::vector<std::int64_t> timer_lag;
  std::vector<std::int64_t> call_time;
  std::vector<std::int64_t> server_cpu;
  std::vector<std::int64_t> redis_received;
  std::vector<std::int64_t> floor1_written;
  std::vector<std::int64_t> floor1_received;
  std::vector<std::int64_t> floor2_written;
  std::vector<std::int64_t> floor2_received;
  std::size_t frame_size = 0;

  auto last_received = [&](const child_link& rx, const std::string& what) {
    const auto t = read_value<std::int64_t>(rx.from);
    if (t < 0) {
      die(what + ": not every client received the push");
    }
    return t;
  };
  auto run_sim = [&](long long rep) {
    const std::string step = "fanout-" + std::to_string(rep);
    const std::string bytes = moving_bytes(rep);
    frame_size = bytes.size();
    struct timing {
      std::int64_t scheduled = 0;
      std::int64_t fired = 0;
      std::int64_t returned = 0;
      std::int64_t fired_cpu = 0;
      std::size_t sent = 0;
    };
    std::promise<timing> done;
    auto timer = std::make_shared<asio::steady_timer>(host.io());
    asio::post(host.io(), [&, timer] {
      const auto at = mono_clock::now() + lead;
      timer->expires_at(at);
      timer->async_wait([&, timer, at](boost::system::error_code) {
        timing t;
        t.scheduled = to_ns(at);
        t.fired = to_ns(mono_clock::now());
        t.fired_cpu = thread_cpu_ns();
        sim::selector sel;
        sel.opted_in_only = true;
        sim::push_meta meta;
        meta.name = "MOVING";
        meta.seq = rep;
        meta.time_s = 15;
        meta.step = step;
        t.sent = host.server().send_push(sel, bytes, meta);
        // As the scenario engine does once the step is recorded: write what the step queued.
        host.server().flush_output();
        t.returned = to_ns(mono_clock::now());
        done.set_value(t);
      });
    });
    const timing t = done.get_future().get();
    const auto last_rx = last_received(sim_rx, "simulator " + step);
    if (t.sent != n) {
      die("fan-out " + step + ": sent to " + std::to_string(t.sent));
    }
    // push_written is recorded after the write completes; wait for the last one.
    const auto deadline = mono_clock::now() + std::chrono::seconds(10);
    while (log.get(step).count < n && mono_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const auto stats = log.get(step);
    if (stats.count != n) {
      die(step + ": " + std::to_string(stats.count) + " push_written events for " +
          std::to_string(n) + " connections");
    }
    to_last_written.push_back(stats.last_ns - t.scheduled);
    to_last_received.push_back(last_rx - t.scheduled);
    timer_lag.push_back(t.fired - t.scheduled);
    call_time.push_back(t.returned - t.fired);
    server_cpu.push_back(stats.last_thread_cpu_ns - t.fired_cpu);
  };
  auto run_redis = [&](long long rep) {
    const std::string command = redis_publisher::publish_command(moving_bytes(rep).size());
    const std::int64_t at = to_ns(mono_clock::now() + lead);
    sleep_until_ns(at);
    publisher->send(command);
    const auto last_rx = last_received(redis_rx, "redis-server round " + std::to_string(rep));
    const auto got = publisher->receivers();
    if (got != static_cast<long long>(n)) {
      die("PUBLISH reached " + std::to_string(got) + " subscribers");
    }
    redis_received.push_back(last_rx - at);
  };
  auto run_floor = [&](long long rep, std::int32_t threads) {
    floor_round r;
    r.at_ns = to_ns(mono_clock::now() + lead);
    r.seq = rep;
    r.threads = threads;
    write_all(floor_tx.to, &r, sizeof r);
    const auto out = read_value<floor_result>(floor_tx.from);
    const auto last_rx = last_received(floor_rx, "floor round " + std::to_string(rep));
    if (out.not_taken != 0) {
      die("floor: " + std::to_string(out.not_taken) + " sends did not take the whole frame");
    }
    (threads == 1 ? floor1_written : floor2_written).push_back(out.last_written_ns - r.at_ns);
    (threads == 1 ? floor1_received : floor2_received).push_back(last_rx - r.at_ns);
  };

  // Interleaved: each round runs every server once, the order rotating so that none always
  // follows the same one.
  std::vector<std::function<void(long long)>> servers{run_sim};
  if (publisher) {
    servers.emplace_back(run_redis);
  }
  if (with_floor) {
    servers.emplace_back([&](long long rep) { run_floor(rep, 1); });
    servers.emplace_back([&](long long rep) { run_floor(rep, 2); });
  }
  for (long long rep = 1; rep <= repeat; ++rep) {
    for (std::size_t k = 0; k < servers.size(); ++k) {
      servers[(k + static_cast<std::size_t>(rep)) % servers.size()](rep);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the receivers settle
    }
  }

  for (const auto* c : {&sim_rx, &redis_rx, &floor_rx}) {
    if (c->pid > 0) {
      write_all(c->to, "q", 1);
      ::waitpid(c->pid, nullptr, 0);
    }
  }
  if (floor_tx.pid > 0) {
    const floor_round quit;
    write_all(floor_tx.to, &quit, sizeof quit);
    ::waitpid(floor_tx.pid, nullptr, 0);
  }

  auto list = [](const std::vector<std::int64_t>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.3f", i ? ", " : "", ms(v[i]));
      s += buf;
    }
    return s + "]";
  };
  auto summary = [&](const char* name, const std::vector<std::int64_t>& v) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "\"%s\": {\"median\": %.3f, \"max\": %.3f, \"runs\": ", name,
                  ms(percentile(v, 0.5)), ms(percentile(v, 1.0)));
    return std::string(buf) + list(v) + "}";
  };
  // Each ratio is the median over rounds of the two servers' figures in the same round.
  auto ratio = [](const char* name, const std::vector<std::int64_t>& num,
                  const std::vector<std::int64_t>& den) {
    std::vector<double> r;
    for (std::size_t i = 0; i < std::min(num.size(), den.size()); ++i) {
      r.push_back(static_cast<double>(num[i]) / static_cast<double>(den[i]));
    }
    std::sort(r.begin(), r.end());
    char buf[96];
    std::snprintf(buf, sizeof buf, "\"%s\": %.2f", name, r.empty() ? 0.0 : r[r.size() / 2]);
    return std::string(buf);
  };
  std::string peers;
  if (publisher) {
    peers +=
        ",\n \"redis_server\": {" + summary("scheduled_to_last_received_ms", redis_received) + "}";
  }
  if (with_floor) {
    peers += ",\n \"floor_1_thread\": {" + summary("scheduled_to_last_written_ms", floor1_written) +
             ",\n   " + summary("scheduled_to_last_received_ms", floor1_received) + "}";
    peers += ",\n \"floor_2_threads\": {" +
             summary("scheduled_to_last_written_ms", floor2_written) + ",\n   " +
             summary("scheduled_to_last_received_ms", floor2_received) + "}";
  }
  std::string ratios = ",\n \"ratios_median_of_rounds\": {";
  std::string sep;
  if (publisher) {
    ratios += ratio("schsim_over_redis_received", to_last_received, redis_received);
    sep = ", ";
  }
  if (with_floor) {
    ratios += sep + ratio("schsim_over_floor1_received", to_last_received, floor1_received) + ", " +
              ratio("schsim_over_floor1_written", to_last_written, floor1_written) + ", " +
              ratio("floor1_over_floor2_written", floor1_written, floor2_written) + ", " +
              ratio("floor1_over_floor2_received", floor1_received, floor2_received);
    if (publisher) {
      ratios += ", " + ratio("redis_over_floor1_received", redis_received, floor1_received);
    }
  }
  ratios += "}";
  std::printf(
      "{\"bench\": \"fanout\", \"connections\": %zu, \"repeat\": %lld, \"frame_bytes\": %zu,\n"
      " \"schsim\": {%s,\n   %s,\n   \"timer_lag_ms\": {\"median\": %.3f}, "
      "\"send_push_call_ms\": {\"median\": %.3f},\n"
      "   \"server_thread_cpu_ms\": {\"median\": %.3f}}%s%s}\n",
      n, repeat, frame_size, summary("scheduled_to_last_written_ms", to_last_written).c_str(),
      summary("scheduled_to_last_received_ms", to_last_received).c_str(),
      ms(percentile(timer_lag, 0.5)), ms(percentile(call_time, 0.5)),
      ms(percentile(server_cpu, 0.5)), peers.c_str(), ratios.c_str());
  return 0;
}

auto run_precision(const args& a) -> int {
  const auto n = static_cast<std::size_t>(a.num("--connections", 1000));
  const auto pushes = static_cast<std::size_t>(a.num("--pushes", 500));
  const auto interval = std::chrono::milliseconds(a.num("--interval-ms", 10));
  raise_nofile(2 * n + 64);
  sim_host host(one_endpoint());
  push_log log(host.recorder());
  client_pool pool;
  pool.connect_all(host.port(), n, client_pool::handshake::maint);
  const auto ids = host.call([](sim::server& s) {
    std::vector<std::uint64_t> out;
    for (const auto& c : s.connections()) {
      out.push_back(c.id);
    }
    return out;
  });

  // Traffic: every connection sends its next SET or GET as soon as the previous reply is in.
  bool traffic = true;
  std::uint64_t replies = 0;
  auto send_next = [&](conn& c) {
    if (!traffic) {
      return;
    }
    const std::string key = "key:" + std::to_string(c.fd);
    const std::string cmd =
        (c.next_command++ % 2 == 0)
            ? "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key +
                  "\r\n$3\r\nabc\r\n"
            : "*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
    (void)::write(c.fd, cmd.data(), cmd.size());
  };
  // --rate 0: closed loop, each connection sends its next command as soon as the reply is in
  // (saturates the server). --rate R: R commands per second in all, spread round robin over the
  // connections whose previous reply is in.
  const auto rate = a.num("--rate", 0);
  std::vector<bool> waiting(pool.conns().size(), false);
  std::map<int, std::size_t> index_of;
  for (std::size_t i = 0; i < pool.conns().size(); ++i) {
    index_of[pool.conns()[i]->fd] = i;
  }
  pool.on_reply = [&](conn& c) {
    ++replies;
    if (rate == 0) {
      send_next(c);
    } else {
      waiting[index_of[c.fd]] = false;
    }
  };
  if (rate == 0) {
    for (auto& c : pool.conns()) {
      send_next(*c);
    }
  }
  std::uint64_t sent = 0;
  std::size_t cursor = 0;
  const auto traffic_start = mono_clock::now();
  auto paced_send = [&] {
    if (rate == 0) {
      return;
    }
    const double elapsed = std::chrono::duration<double>(mono_clock::now() - traffic_start).count();
    const auto due = static_cast<std::uint64_t>(elapsed * static_cast<double>(rate));
    for (std::size_t tries = 0; sent < due && tries < waiting.size(); ++tries) {
      cursor = (cursor + 1) % waiting.size();
      if (!waiting[cursor]) {
        waiting[cursor] = true;
        send_next(*pool.conns()[cursor]);
        ++sent;
      }
    }
  };

  // The schedule runs on the server's thread, as the scenario engine's steady_timer does: each
  // wake runs every push already due, then re-arms for the next one.
  std::vector<std::int64_t> scheduled(pushes, 0);
  std::vector<std::int64_t> fired(pushes, 0);
  std::promise<void> finished;
  auto timer = std::make_shared<asio::steady_timer>(host.io());
  const auto start = mono_clock::now() + std::chrono::milliseconds(200);
  std::function<void(std::size_t)> arm = [&](std::size_t k) {
    if (k == pushes) {
      finished.set_value();
      return;
    }
    const auto due_at = [&](std::size_t i) { return start + interval * static_cast<long>(i); };
    timer->expires_at(due_at(k));
    timer->async_wait([&, k, due_at](boost::system::error_code) {
      std::size_t next = k;
      do {
        scheduled[next] = to_ns(due_at(next));
        fired[next] = to_ns(mono_clock::now());
        sim::selector sel;
        sel.which = sim::selector::scope::connection;
        sel.connection = ids[next % ids.size()];
        sim::push_meta meta;
        meta.name = "MOVING";
        meta.seq = static_cast<std::int64_t>(next + 1);
        meta.step = "p" + std::to_string(next);
        host.server().send_push(sel, moving_bytes(meta.seq), meta);
        host.server().flush_output();
        ++next;
      } while (next < pushes && due_at(next) <= mono_clock::now());
      arm(next);
    });
  };
  asio::post(host.io(), [&] { arm(0); });
  auto fut = finished.get_future();
  const auto t0 = mono_clock::now();
  const auto r0 = replies;
  while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    paced_send();
    pool.pump(1);
  }
  const double secs = std::chrono::duration<double>(mono_clock::now() - t0).count();
  const double rps = static_cast<double>(replies - r0) / secs;
  traffic = false;
  pool.pump_until(
      [&] {
        for (std::size_t k = 0; k < pushes; ++k) {
          if (log.get("p" + std::to_string(k)).count == 0) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(10));

  std::vector<std::int64_t> emission;
  std::vector<std::int64_t> lag;
  for (std::size_t k = 0; k < pushes; ++k) {
    const auto s = log.get("p" + std::to_string(k));
    if (s.count != 1) {
      die("push p" + std::to_string(k) + " recorded " + std::to_string(s.count) + " times");
    }
    emission.push_back(s.last_ns - scheduled[k]);
    lag.push_back(fired[k] - scheduled[k]);
  }
  std::printf(
      "{\"bench\": \"precision\", \"connections\": %zu, \"pushes\": %zu, \"interval_ms\": %lld,\n"
      " \"traffic_rate_asked\": %lld, \"traffic_replies_per_s\": %.0f,\n"
      " \"scheduled_to_written_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f},\n"
      " \"timer_lag_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}}\n",
      n, pushes, static_cast<long long>(interval.count()), static_cast<long long>(rate), rps,
      ms(percentile(emission, 0.5)), ms(percentile(emission, 0.99)), ms(percentile(emission, 1.0)),
      ms(percentile(lag, 0.5)), ms(percentile(lag, 0.99)), ms(percentile(lag, 1.0)));
  return 0;
}

auto run_hold(const args& a) -> int {
  const auto n = static_cast<std::size_t>(a.num("--connections", 10000));
  const auto port = static_cast<std::uint16_t>(a.num("--port", 0));
  const auto h = a.str("--handshake", "ping");
  raise_nofile(n + 64);
  client_pool pool;
  const auto t0 = mono_clock::now();
  pool.connect_all(port, n,
                   h == "maint"  ? client_pool::handshake::maint
                   : h == "none" ? client_pool::handshake::none
                                 : client_pool::handshake::ping);
  const double secs = std::chrono::duration<double>(mono_clock::now() - t0).count();
  std::printf(
      "{\"bench\": \"hold\", \"connections\": %zu, \"handshake\": \"%s\", "
      "\"connect_s\": %.3f}\n",
      n, h.c_str(), secs);
  std::fflush(stdout);
  if (a.has("--ready-file")) {
    std::ofstream(a.str("--ready-file", "")) << "ready\n";
  }
  const auto until = mono_clock::now() + std::chrono::seconds(a.num("--hold-s", 5));
  while (mono_clock::now() < until) {
    pool.pump(50);
  }
  return 0;
}

auto run_serve(const args& a) -> int {
  raise_nofile(20000);
  auto cfg = one_endpoint(!a.has("--no-record"));
  cfg.endpoints[0].port = static_cast<std::uint16_t>(a.num("--port", 0));
  tl::recorder record;
  asio::io_context io{1};
  sim::server s(io.get_executor(), cfg, record);
  s.start();
  std::printf("{\"bench\": \"serve\", \"port\": %u, \"record_commands\": %s}\n",
              s.endpoints().at(0).port, cfg.record_commands ? "true" : "false");
  std::fflush(stdout);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer stop_timer(io);
  auto stop = [&] {
    signals.cancel();
    stop_timer.cancel();
    s.stop();
  };
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) {
      stop();
    }
  });
  stop_timer.expires_after(std::chrono::seconds(a.num("--duration-s", 3600)));
  stop_timer.async_wait([&](boost::system::error_code ec) {
    if (!ec) {
      stop();
    }
  });
  io.run();
  return 0;
}

}  // namespace

auto main(int argc, char** argv) -> int {
  if (argc < 2) {
    die("usage: schsim_sim_bench fanout|precision|hold|serve [--option value ...]");
  }
  const std::string mode = argv[1];
  args a;
  for (int i = 2; i < argc; ++i) {
    std::string key = argv[i];
    if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) {
      a.named[key] = argv[++i];
    } else {
      a.named[key] = "1";
    }
  }
  try {
    if (mode == "fanout") {
      return run_fanout(a);
    }
    if (mode == "precision") {
      return run_precision(a);
    }
    if (mode == "hold") {
      return run_hold(a);
    }
    if (mode == "serve") {
      return run_serve(a);
    }
  } catch (const std::exception& e) {
    die(e.what());
  }
  die("unknown mode " + mode);
}
