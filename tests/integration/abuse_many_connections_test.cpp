// Abuse: 10,000 connections at once. Every one is accepted and answered, every open and close
// is in the timeline, and a bystander is served throughout.
//
// Both ends of 10,000 loopback connections need 20,000 descriptors; the hard limit here may be
// exactly that, so the clients live in a child process (forked before the simulator starts any
// thread) and each process raises its soft limit to what it needs. Where the hard limit is too
// low the test is skipped with the limit it found.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace abuse_many_connections_test {
namespace {

using namespace std::chrono_literals;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace tl = schsim::timeline;

constexpr std::size_t connections = 10000;
constexpr std::size_t descriptors_needed = connections + 200;
constexpr std::string_view ping = "*1\r\n$4\r\nPING\r\n";

auto raise_soft_limit(rlim_t want) -> bool {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_max < want) {
    return false;
  }
  if (lim.rlim_cur < want) {
    lim.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &lim) == 0;
  }
  return true;
}

auto read_byte(int fd, std::chrono::milliseconds timeout) -> int {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
    return -1;
  }
  unsigned char c = 0;
  return ::read(fd, &c, 1) == 1 ? c : -1;
}

// The child: opens every connection at once (non-blocking connects, no waiting between them),
// sends a PING on each as it becomes writable, and reports 'k' once every PONG is in. Then
// waits for the parent's word and closes them all. Plain syscalls only.
[[noreturn]] void run_clients(int from_parent, int to_parent) {
  unsigned char port_bytes[2];
  if (::read(from_parent, port_bytes, 2) != 2) {
    _exit(2);
  }
  const auto port = static_cast<std::uint16_t>(port_bytes[0] << 8 | port_bytes[1]);
  const int ep = epoll_create1(0);
  std::vector<int> fds(connections, -1);
  std::vector<std::uint8_t> state(connections, 0);  // 0 connecting, 1 sent, 2 answered
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (std::size_t i = 0; i < connections; ++i) {
    fds[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fds[i] < 0) {
      _exit(3);
    }
    (void)::connect(fds[i], reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  std::size_t answered = 0;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  std::array<epoll_event, 512> evs{};
  while (answered < connections && std::chrono::steady_clock::now() < deadline) {
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    for (int k = 0; k < n; ++k) {
      const auto i = evs[static_cast<std::size_t>(k)].data.u64;
      const auto what = evs[static_cast<std::size_t>(k)].events;
      if (state[i] == 0 && (what & EPOLLOUT) != 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || ::send(fds[i], ping.data(), ping.size(), MSG_NOSIGNAL) !=
                            static_cast<ssize_t>(ping.size())) {
          _exit(4);
        }
        state[i] = 1;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
      } else if (state[i] == 1 && (what & EPOLLIN) != 0) {
        char buf[16];
        const ssize_t got = ::recv(fds[i], buf, sizeof buf, 0);
        if (got == 7 && std::string_view(buf, 7) == "+PONG\r\n") {
          state[i] = 2;
          ++answered;
          epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], nullptr);
        } else if (got <= 0 && errno != EAGAIN) {
          _exit(5);
        }
      }
    }
  }
  const char report = answered == connections ? 'k' : 'x';
  (void)::write(to_parent, &report, 1);
  (void)read_byte(from_parent, 300s);
  for (const int fd : fds) {
    ::close(fd);
  }
  (void)::write(to_parent, "c", 1);
  _exit(0);
}

auto count_kind(const std::vector<tl::event>& events, std::size_t index) -> std::size_t {
  std::size_t n = 0;
  for (const auto& e : events) {
    n += e.what.index() == index ? 1 : 0;
  }
  return n;
}

TEST(AbuseManyConnections, TenThousandAtOnce) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (!raise_soft_limit(descriptors_needed)) {
    GTEST_SKIP() << "needs " << descriptors_needed << " file descriptors per process; the hard "
                 << "limit is " << lim.rlim_max << " (raise it with ulimit -Hn)";
  }
  std::array<int, 2> down{};
  std::array<int, 2> up{};
  ASSERT_EQ(::pipe(down.data()), 0);
  ASSERT_EQ(::pipe(up.data()), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    run_clients(down[0], up[1]);
  }
  struct reap {
    pid_t pid;
    int fd;
    ~reap() {
      (void)::write(fd, "q", 1);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{child, down[1]};

  sim_fixture f(sim_fixture::single());
  const auto port = f.port();
  const unsigned char port_bytes[2] = {static_cast<unsigned char>(port >> 8),
                                       static_cast<unsigned char>(port & 0xff)};
  ASSERT_EQ(::write(down[1], port_bytes, 2), 2);
  test_client bystander(f.port());
  ASSERT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(read_byte(up[0], 150s), 'k') << "not every connection was answered";
  std::cout << "10,000 connections opened and answered in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s\n";
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");

  constexpr auto opened_index = tl::detail(tl::connection_opened{}).index();
  constexpr auto closed_index = tl::detail(tl::connection_closed{}).index();
  constexpr auto reply_index = tl::detail(tl::reply_written{}).index();
  auto events = f.events();
  EXPECT_EQ(count_kind(events, opened_index), connections + 1);
  // reply_written is recorded after the write completes; the client may see a PONG first.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (count_kind(events, reply_index) < connections + 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    events = f.events();
  }
  EXPECT_EQ(count_kind(events, reply_index), connections + 2);

  ASSERT_EQ(::write(down[1], "c", 1), 1);
  ASSERT_EQ(read_byte(up[0], 60s), 'c');
  const auto close_deadline = std::chrono::steady_clock::now() + 60s;
  while (count_kind(f.events(), closed_index) < connections &&
         std::chrono::steady_clock::now() < close_deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(count_kind(f.events(), closed_index), connections);
  EXPECT_TRUE(f.call([](schsim::simulator::server& s) { return s.connections().size(); }) == 1u);
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
}

}  // namespace
}  // namespace abuse_many_connections_test
