// Proxy mode (server_config::upstream) in front of a real redis-server on loopback: schsim owns
// the handshake, data commands reach the real Redis, replies come back in order, pushes land
// between frames, and every command and reply is still in the timeline.
#include <schsim/simulator/server.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"
#include "support/tools.hpp"
#include "support/wire.hpp"
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace simulator_proxy_test {
namespace {

using namespace std::chrono_literals;
using schsim::testing::events_of;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace sim = schsim::simulator;
namespace tl = schsim::timeline;
namespace wire = schsim::testing::wire;

/// A port the OS picked and released again, for a server that cannot take port 0 and report
/// it (redis-server: `--port 0` turns TCP off).
auto free_port() -> std::uint16_t {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Debian's redis-server on 127.0.0.1, no persistence, killed at the end of the test. Its port
/// is picked by the OS and released before redis-server binds it, so another process on this
/// shared machine may take it first: then redis-server exits, or something else answers there;
/// both are told apart (the answer must carry our process id) and another port is tried.
class redis_server {
 public:
  explicit redis_server(const std::string& path) {
    for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
      const auto port = free_port();
      if (spawn(path, port) && answers_as_us(port)) {
        port_ = port;
      } else {
        stop();
      }
    }
  }
  ~redis_server() { stop(); }
  redis_server(const redis_server&) = delete;
  auto operator=(const redis_server&) -> redis_server& = delete;

  /// 0 when it could not be started.
  [[nodiscard]] auto port() const -> std::uint16_t { return port_; }

 private:
  auto spawn(const std::string& path, std::uint16_t port) -> bool {
    std::vector<std::string> args{
        path,           "--port", std::to_string(port), "--bind", "127.0.0.1",  "--save", "",
        "--appendonly", "no",     "--daemonize",        "no",     "--loglevel", "warning"};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    return ::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) == 0;
  }

  auto answers_as_us(std::uint16_t port) -> bool {
    const std::string info = "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n";
    const std::string ours = "process_id:" + std::to_string(pid_) + "\r\n";
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;  // exited: the port was taken
        return false;
      }
      try {
        test_client c(port, 1s);
        return c.roundtrip(info).find(ours) != std::string::npos;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

auto proxy_config(std::uint16_t upstream_port) -> sim::server_config {
  auto cfg = sim_fixture::single();
  cfg.upstream = sim::upstream_config{"127.0.0.1", upstream_port};
  return cfg;
}

constexpr std::string_view set_k = "*3\r\n$3\r\nSET\r\n$5\r\npx:k1\r\n$2\r\nv1\r\n";
constexpr std::string_view get_k = "*2\r\n$3\r\nGET\r\n$5\r\npx:k1\r\n";
// A command schsim's own handler does not know: only the real Redis can answer it.
constexpr std::string_view lpush = "*3\r\n$5\r\nLPUSH\r\n$5\r\npx:l1\r\n$1\r\na\r\n";
constexpr std::string_view moving = ">4\r\n$6\r\nMOVING\r\n:7\r\n:5\r\n$14\r\n127.0.0.1:6390\r\n";

TEST(SimulatorProxy, ForwardsDataKeepsTheHandshakeAndInjectsPushesBetweenFrames) {
  SCHSIM_REQUIRE_TOOL(redis, "redis-server");
  redis_server real(redis);
  const auto upstream_port = real.port();
  ASSERT_NE(upstream_port, 0) << "redis-server did not start";

  sim_fixture f(proxy_config(upstream_port));
  test_client c(f.port());
  const auto hello = c.roundtrip(wire::hello3);
  EXPECT_TRUE(hello.starts_with("%")) << hello;
  // Redis 7.0 has no CLIENT MAINT_NOTIFICATIONS: this +OK is schsim's.
  EXPECT_EQ(c.roundtrip(wire::maint_on_internal_ip), "+OK\r\n");
  EXPECT_EQ(c.roundtrip(set_k), "+OK\r\n");
  EXPECT_EQ(c.roundtrip(lpush), ":1\r\n");
  // The data really is in the upstream.
  test_client direct(upstream_port);
  EXPECT_EQ(direct.roundtrip(get_k), "$2\r\nv1\r\n");

  // A pipelined burst, with a push injected while replies are on their way: every reply in
  // order, the push whole between two of them.
  std::string burst;
  for (int i = 0; i < 50; ++i) {
    burst += get_k;
  }
  c.write(burst);
  sim::push_meta meta;
  meta.name = "MOVING";
  meta.seq = 7;
  const auto sent =
      f.call([&](sim::server& s) { return s.send_push({}, std::string(moving), meta); });
  EXPECT_EQ(sent, 1U);
  int replies = 0;
  int pushes = 0;
  while (replies < 50) {
    const auto frame = c.read_frame();
    ASSERT_FALSE(frame.empty()) << "connection ended after " << replies << " replies";
    if (frame == moving) {
      ++pushes;
    } else {
      EXPECT_EQ(frame, "$2\r\nv1\r\n");
      ++replies;
    }
  }
  if (pushes == 0) {
    EXPECT_EQ(c.read_frame(), moving);
    ++pushes;
  }
  EXPECT_EQ(pushes, 1);

  // Recorded as in a simulated run: the handshake, each command and each reply.
  ASSERT_TRUE(f.wait_for([](const tl::event& e) {
    const auto* r = std::get_if<tl::reply_written>(&e.what);
    return r != nullptr && r->index == 53;
  }));
  // The push's event is recorded when its write completes, which may come after the client read
  // it and after the last reply's event: wait for it too rather than race it.
  ASSERT_TRUE(f.wait_for(
      [](const tl::event& e) { return std::holds_alternative<tl::push_written>(e.what); }));
  const auto events = f.events();
  EXPECT_EQ(events_of<tl::maint_handshake>(events).size(), 1U);
  EXPECT_EQ(events_of<tl::command_received>(events).size(), 54U);
  EXPECT_EQ(events_of<tl::reply_written>(events).size(), 54U);
  EXPECT_EQ(events_of<tl::push_written>(events).size(), 1U);
}

TEST(SimulatorProxy, UpstreamRepliesKeepTheirOrderBehindLatencyAndLocalReplies) {
  SCHSIM_REQUIRE_TOOL(redis, "redis-server");
  redis_server real(redis);
  const auto upstream_port = real.port();
  ASSERT_NE(upstream_port, 0) << "redis-server did not start";

  sim_fixture f(proxy_config(upstream_port));
  f.call([](sim::server& s) {
    s.set_reply_latency("node-a", 100ms);
    return 0;
  });
  test_client c(f.port());
  // upstream, local, upstream, local in one write: the answers must come in that order.
  const std::string setname = "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$1\r\nn\r\n";
  const std::string getname = "*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n";
  c.write(std::string(set_k) + setname + std::string(get_k) + getname);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.read_frame(), "+OK\r\n");
  EXPECT_EQ(c.read_frame(), "+OK\r\n");
  EXPECT_EQ(c.read_frame(), "$2\r\nv1\r\n");
  EXPECT_EQ(c.read_frame(), "$1\r\nn\r\n");
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            90ms);  // the latency applies to relayed replies
}

TEST(SimulatorProxy, AnUpstreamThatIsGoneClosesTheClientWithTheReason) {
  // Bound and never listening: a connect there is refused for as long as the test holds it.
  const int held = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(held, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(held, reinterpret_cast<sockaddr*>(&addr), &len);
  sim_fixture f(proxy_config(ntohs(addr.sin_port)));
  test_client c(f.port());
  c.write(set_k);
  // The SET never reaches a Redis: no +OK, the connection just ends.
  EXPECT_EQ(c.read_until_closed().find("+OK"), std::string::npos);
  const auto closed = f.wait_for([](const tl::event& e) {
    const auto* cc = std::get_if<tl::connection_closed>(&e.what);
    return cc != nullptr && cc->reason.find("cannot connect to the upstream") != std::string::npos;
  });
  EXPECT_TRUE(closed) << "no close naming the upstream";
  ::close(held);
}

}  // namespace
}  // namespace simulator_proxy_test
