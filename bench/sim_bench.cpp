// schsim_sim_bench: load generator and in-process measurements of the simulator (issue 8).
//
//   schsim_sim_bench fanout --connections N [--repeat R]
//       The simulator in this process; N opted-in RESP3 connections; a MOVING scheduled on a
//       steady_timer (as the scenario engine does) to all of them. Reports the time from the
//       scheduled instant to the last push_written event (the last frame fully written).
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

struct conn {
  int fd = -1;
  schsim::resp3::parser parser;
  std::size_t frames = 0;  ///< replies (not pushes)
  std::size_t pushes = 0;
  std::int64_t last_push_ns = 0;
  std::uint64_t next_command = 0;
};

/// N client connections driven by epoll on the calling thread.
class client_pool {
 public:
  enum class handshake { none, ping, maint };

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
    const std::size_t expect = h == handshake::maint ? 2 : h == handshake::ping ? 1 : 0;
    const std::string bytes = h == handshake::maint  ? std::string(hello3) + std::string(maint_on)
                              : h == handshake::ping ? std::string(ping_cmd)
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
                if (conns_[i]->frames < expect) {
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

// The clients of a fan-out live in a child process: 10,000 connections need 20,000 descriptors
// when both ends are in one process, which is the hard limit here. CLOCK_MONOTONIC is
// system-wide, so the child's receive stamps compare with the server's.
auto run_fanout_clients(int from_parent, int to_parent, std::size_t n, long long repeat) -> int {
  raise_nofile(n + 64);
  const auto port = read_value<std::uint16_t>(from_parent);
  client_pool pool;
  pool.connect_all(port, n, client_pool::handshake::maint);
  write_all(to_parent, "r", 1);
  for (long long rep = 1; rep <= repeat; ++rep) {
    const bool all = pool.pump_until(
        [&] {
          for (const auto& c : pool.conns()) {
            if (c->pushes < static_cast<std::size_t>(rep)) {
              return false;
            }
          }
          return true;
        },
        std::chrono::seconds(30));
    std::int64_t last_rx = 0;
    for (const auto& c : pool.conns()) {
      last_rx = std::max(last_rx, c->last_push_ns);
    }
    if (!all) {
      last_rx = -1;
    }
    write_all(to_parent, &last_rx, sizeof last_rx);
  }
  // Stay connected until the parent has read the record.
  (void)read_value<char>(from_parent);
  return 0;
}

auto run_fanout(const args& a) -> int {
  const auto n = static_cast<std::size_t>(a.num("--connections", 1000));
  const auto repeat = a.num("--repeat", 5);
  std::array<int, 2> down{};
  std::array<int, 2> up{};
  if (::pipe(down.data()) != 0 || ::pipe(up.data()) != 0) {
    die("pipe failed");
  }
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child == 0) {
    std::_Exit(run_fanout_clients(down[0], up[1], n, repeat));
  }
  raise_nofile(n + 64);
  sim_host host(one_endpoint());
  push_log log(host.recorder());
  const auto port = host.port();
  write_all(down[1], &port, sizeof port);
  (void)read_value<char>(up[0]);
  const auto opted = host.call([](sim::server& s) {
    sim::selector sel;
    sel.opted_in_only = true;
    return s.connections(sel).size();
  });
  if (opted != n) {
    die("only " + std::to_string(opted) + " of " + std::to_string(n) + " connections opted in");
  }

  std::vector<std::int64_t> to_last_written;
  std::vector<std::int64_t> to_last_received;
  std::vector<std::int64_t> timer_lag;
  std::vector<std::int64_t> call_time;
  std::vector<std::int64_t> server_cpu;
  for (long long rep = 1; rep <= repeat; ++rep) {
    const std::string step = "fanout-" + std::to_string(rep);
    const std::string bytes = moving_bytes(rep);
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
      const auto at = mono_clock::now() + std::chrono::milliseconds(20);
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
    const auto last_rx = read_value<std::int64_t>(up[0]);
    if (last_rx < 0 || t.sent != n) {
      die("fan-out " + step + ": sent to " + std::to_string(t.sent) + ", not every client got it");
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
  }
  write_all(down[1], "q", 1);
  ::waitpid(child, nullptr, 0);
  auto list = [](const std::vector<std::int64_t>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.3f", i ? ", " : "", ms(v[i]));
      s += buf;
    }
    return s + "]";
  };
  std::printf(
      "{\"bench\": \"fanout\", \"connections\": %zu, \"repeat\": %lld,\n"
      " \"scheduled_to_last_written_ms\": {\"median\": %.3f, \"max\": %.3f, \"runs\": %s},\n"
      " \"scheduled_to_last_received_ms\": {\"median\": %.3f, \"max\": %.3f},\n"
      " \"timer_lag_ms\": {\"median\": %.3f}, \"send_push_call_ms\": {\"median\": %.3f},\n"
      " \"server_thread_cpu_ms\": {\"median\": %.3f}}\n",
      n, repeat, ms(percentile(to_last_written, 0.5)), ms(percentile(to_last_written, 1.0)),
      list(to_last_written).c_str(), ms(percentile(to_last_received, 0.5)),
      ms(percentile(to_last_received, 1.0)), ms(percentile(timer_lag, 0.5)),
      ms(percentile(call_time, 0.5)), ms(percentile(server_cpu, 0.5)));
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
