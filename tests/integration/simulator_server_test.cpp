// The simulator over real loopback sockets: handshake accounting, pipelining, the control API
// (pushes, latency, stall, fragmentation, closes, accept modes), limits and shutdown.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"
#include "support/wire.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace simulator_server_test {
namespace {

using namespace std::chrono_literals;
using schsim::testing::events_of;
using schsim::testing::read_end;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace sim = schsim::simulator;
namespace tl = schsim::timeline;

using schsim::testing::wire::hello3;
using schsim::testing::wire::maint_on_internal_ip;
using schsim::testing::wire::ping;
// A canonical MOVING push (sch-protocol.md §2.2), 45 bytes.
constexpr std::string_view moving_push =
    ">4\r\n$6\r\nMOVING\r\n:1\r\n:15\r\n$13\r\n10.0.0.2:6379\r\n";

auto one_connection(std::uint64_t id) -> sim::selector {
  sim::selector s;
  s.which = sim::selector::scope::connection;
  s.connection = id;
  return s;
}

auto meta(std::string name, std::int64_t seq, std::optional<std::int64_t> time_s)
    -> sim::push_meta {
  sim::push_meta m;
  m.name = std::move(name);
  m.seq = seq;
  m.time_s = time_s;
  return m;
}

auto closed_event(sim_fixture& f, std::uint64_t conn) -> std::optional<tl::connection_closed> {
  const auto ev = f.wait_for([conn](const tl::event& e) {
    return e.conn == conn && std::holds_alternative<tl::connection_closed>(e.what);
  });
  if (!ev) {
    return std::nullopt;
  }
  return std::get<tl::connection_closed>(ev->what);
}

auto two_endpoints() -> sim::server_config {
  sim::server_config cfg = sim_fixture::single();
  sim::endpoint_config b;
  b.name = "node-b";
  cfg.endpoints.push_back(b);
  return cfg;
}

TEST(SimulatorServer, HandshakeIsAnsweredAndRecorded) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  const std::uint64_t id = f.conn_id(c.local_port());
  ASSERT_NE(id, 0u);
  const std::string expected_hello =
      "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.4.0\r\n$5\r\nproto\r\n:3\r\n"
      "$2\r\nid\r\n:" +
      std::to_string(id) +
      "\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n"
      "*0\r\n";
  EXPECT_EQ(c.roundtrip(hello3), expected_hello);
  EXPECT_EQ(c.roundtrip(maint_on_internal_ip), "+OK\r\n");
  ASSERT_TRUE(f.wait_for([id](const tl::event& e) {
    const auto* r = std::get_if<tl::reply_written>(&e.what);
    return e.conn == id && r != nullptr && r->index == 1;
  }));

  const auto events = f.events();
  const auto hellos = events_of<tl::hello>(events, id);
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_EQ(hellos[0].protover, 3);
  EXPECT_TRUE(hellos[0].accepted);
  const auto maints = events_of<tl::maint_handshake>(events, id);
  ASSERT_EQ(maints.size(), 1u);
  EXPECT_TRUE(maints[0].enable);
  EXPECT_TRUE(maints[0].accepted);
  EXPECT_EQ(maints[0].endpoint_type, "internal-ip");
  EXPECT_EQ(maints[0].reply, "OK");
  EXPECT_EQ(maints[0].protocol, 3);
  const auto commands = events_of<tl::command_received>(events, id);
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0].index, 0u);
  EXPECT_EQ(commands[0].args, (std::vector<std::string>{"HELLO", "3"}));
  EXPECT_EQ(commands[1].index, 1u);
  EXPECT_EQ(commands[1].args[1], "MAINT_NOTIFICATIONS");
  const auto replies = events_of<tl::reply_written>(events, id);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].summary, "%7");
  EXPECT_EQ(replies[1].summary, "+OK");
  EXPECT_FALSE(replies[1].error);
  // Stamps are CLOCK_MONOTONIC and ordered.
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_LE(events[i - 1].t_ns, events[i].t_ns);
  }

  const auto conns = f.call([](sim::server& s) { return s.connections(); });
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].id, id);
  EXPECT_EQ(conns[0].protocol, 3);
  EXPECT_TRUE(conns[0].maint_enabled);
  EXPECT_EQ(conns[0].endpoint_type, "internal-ip");
  EXPECT_EQ(conns[0].peer, "127.0.0.1:" + std::to_string(c.local_port()));
}

TEST(SimulatorServer, PipelinedCommandsAreAnsweredInOrder) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  std::string batch;
  for (int i = 0; i < 500; ++i) {
    batch += "*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n";
  }
  batch += "INCR c\r\n";  // inline, in the same write
  c.write(batch);
  for (int i = 1; i <= 501; ++i) {
    ASSERT_EQ(c.read_frame(), ":" + std::to_string(i) + "\r\n");
  }
}

TEST(SimulatorServer, EndpointsShareOneKeyspace) {
  sim_fixture f(two_endpoints());
  test_client a(f.port("node-a"));
  test_client b(f.port("node-b"));
  EXPECT_NE(f.port("node-a"), f.port("node-b"));
  EXPECT_EQ(a.roundtrip("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"), "+OK\r\n");
  EXPECT_EQ(b.roundtrip("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), "$5\r\nhello\r\n");
  const auto* value =
      f.call([](sim::server& s) { return s.data().get(0, "k", schsim::mono_clock::now()); });
  ASSERT_NE(value, nullptr);
}

TEST(SimulatorServer, PushToSelectedConnectionsIsRecorded) {
  sim_fixture f(sim_fixture::single());
  test_client opted(f.port());
  test_client plain(f.port());
  ASSERT_FALSE(opted.roundtrip(hello3).empty());
  ASSERT_EQ(opted.roundtrip(maint_on_internal_ip), "+OK\r\n");
  ASSERT_EQ(plain.roundtrip(ping), "+PONG\r\n");
  const auto opted_id = f.conn_id(opted.local_port());
  sim::selector only_opted;
  only_opted.opted_in_only = true;
  sim::push_meta m = meta("MOVING", 1, 15);
  m.step = "s1";
  const std::size_t n =
      f.call([&](sim::server& s) { return s.send_push(only_opted, std::string(moving_push), m); });
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(opted.read_frame(), moving_push);
  // The plain connection got nothing: its next frame is the answer to its next command.
  EXPECT_EQ(plain.roundtrip(ping), "+PONG\r\n");
  const auto ev = f.wait_for(
      [](const tl::event& e) { return std::holds_alternative<tl::push_written>(e.what); });
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->conn, opted_id);
  const auto& pw = std::get<tl::push_written>(ev->what);
  EXPECT_EQ(pw.name, "MOVING");
  EXPECT_EQ(pw.seq, 1);
  EXPECT_EQ(pw.time_s, 15);
  EXPECT_EQ(pw.bytes, moving_push.size());
  EXPECT_EQ(pw.step, "s1");
}

TEST(SimulatorServer, PushNeverLandsInsideAReply) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  ASSERT_FALSE(c.roundtrip(hello3).empty());
  const std::string value(300, 'v');
  ASSERT_EQ(c.roundtrip("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$300\r\n" + value + "\r\n"), "+OK\r\n");
  // Slow output: 16-byte chunks, 2 ms apart; the push is queued while the reply is on the wire.
  f.call([](sim::server& s) {
    s.set_fragmentation("node-a", 16, 2ms);
    return 0;
  });
  c.write("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  const std::string first = c.read_exact(16);
  ASSERT_EQ(first.substr(0, 6), "$300\r\n");
  const auto id = f.conn_id(c.local_port());
  f.call([&](sim::server& s) {
    return s.send_push(one_connection(id), std::string(moving_push), meta("MOVING", 1, 15));
  });
  EXPECT_EQ(first + c.read_frame(), "$300\r\n" + value + "\r\n");
  EXPECT_EQ(c.read_frame(), moving_push);
}

TEST(SimulatorServer, ImmediatePushOvertakesStalledRepliesInReplyOrderDoesNot) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  ASSERT_FALSE(c.roundtrip(hello3).empty());
  const auto id = f.conn_id(c.local_port());
  f.call([](sim::server& s) {
    s.stall_replies("node-a");
    return 0;
  });
  c.write(ping);
  ASSERT_TRUE(f.wait_for([id](const tl::event& e) {
    const auto* r = std::get_if<tl::command_received>(&e.what);
    return e.conn == id && r != nullptr && r->index == 1;
  }));
  sim::push_meta in_order = meta("MIGRATED", 2, std::nullopt);
  in_order.order = sim::push_order::in_reply_order;
  const std::string migrated = ">3\r\n$8\r\nMIGRATED\r\n:2\r\n$5\r\n[\"1\"]\r\n";
  f.call([&](sim::server& s) {
    s.send_push(one_connection(id), migrated, in_order);
    return s.send_push(one_connection(id), std::string(moving_push), meta("MOVING", 1, 15));
  });
  EXPECT_EQ(c.read_frame(), moving_push);  // overtook the stalled +PONG
  f.call([](sim::server& s) {
    s.release_replies("node-a");
    return 0;
  });
  EXPECT_EQ(c.read_frame(), "+PONG\r\n");
  EXPECT_EQ(c.read_frame(), migrated);
}

TEST(SimulatorServer, ReplyLatencyDelaysEveryReply) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  f.call([](sim::server& s) {
    s.set_reply_latency("node-a", 300ms);
    return 0;
  });
  const auto t0 = std::chrono::steady_clock::now();
  c.write(std::string(ping) + std::string(ping));
  EXPECT_EQ(c.read_frame(), "+PONG\r\n");
  EXPECT_EQ(c.read_frame(), "+PONG\r\n");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 295ms);
  EXPECT_LT(took, 5s);
  f.call([](sim::server& s) {
    s.set_reply_latency("node-a", 0ms);
    return 0;
  });
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(c.roundtrip(ping), "+PONG\r\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 250ms);
}

TEST(SimulatorServer, StallHoldsRepliesUntilRelease) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port(), 300ms);
  const auto id = f.conn_id(c.local_port());
  f.call([](sim::server& s) {
    s.stall_replies("node-a");
    return 0;
  });
  c.write(ping);
  ASSERT_TRUE(f.wait_for([id](const tl::event& e) {
    return e.conn == id && std::holds_alternative<tl::command_received>(e.what);
  }));
  EXPECT_EQ(c.read_frame(), "");  // nothing within the client's 300 ms timeout
  EXPECT_EQ(c.last_end(), read_end::timeout);
  EXPECT_TRUE(events_of<tl::reply_written>(f.events(), id).empty());
  f.call([](sim::server& s) {
    s.release_replies("node-a");
    return 0;
  });
  EXPECT_EQ(c.read_frame(), "+PONG\r\n");
}

TEST(SimulatorServer, FragmentationKeepsBytesAndPaces) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  f.call([](sim::server& s) {
    s.set_fragmentation("node-a", 5, 20ms);
    return 0;
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c.roundtrip("*2\r\n$4\r\nECHO\r\n$12\r\nhello world!\r\n"), "$12\r\nhello world!\r\n");
  // 19 bytes in 5-byte chunks: 4 chunks, 3 pauses of 20 ms.
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 58ms);
}

TEST(SimulatorServer, FragmentedPushIsStampedWhenItsFirstByteIsWritten) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  ASSERT_FALSE(c.roundtrip(hello3).empty());
  const auto id = f.conn_id(c.local_port());
  // 5-byte chunks 20 ms apart: the MOVING push takes about 8 chunks, 140 ms, to go out. A client
  // can start acting on it from its first byte, so that is when it was written.
  f.call([](sim::server& s) {
    s.set_fragmentation("node-a", 5, 20ms);
    return 0;
  });
  f.call([&](sim::server& s) {
    return s.send_push(one_connection(id), std::string(moving_push), meta("MOVING", 1, 15));
  });
  const std::string first = c.read_exact(1);
  const auto first_byte_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
  EXPECT_EQ(first + c.read_exact(moving_push.size() - 1), moving_push);
  const auto ev = f.wait_for(
      [](const tl::event& e) { return std::holds_alternative<tl::push_written>(e.what); });
  ASSERT_TRUE(ev);
  // Stamped once the first chunk's write returned: just after the client could read it, and
  // far from the ~140 ms the whole push takes (the stamp of its last chunk).
  EXPECT_LT(ev->t_ns, first_byte_ns + 60'000'000)
      << "stamped " << (ev->t_ns - first_byte_ns) / 1'000'000
      << " ms after the client read the first byte";
  EXPECT_EQ(std::get<tl::push_written>(ev->what).bytes, moving_push.size());
}

TEST(SimulatorServer, CloseFinBetweenFrames) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  ASSERT_EQ(c.roundtrip(ping), "+PONG\r\n");
  const auto id = f.conn_id(c.local_port());
  const auto n = f.call([&](sim::server& s) {
    return s.close_connections(one_connection(id), sim::close_mode::fin,
                               sim::close_point::between_frames, "step s3");
  });
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(c.read_until_closed(), "");
  EXPECT_EQ(c.last_end(), read_end::eof);
  const auto closed = closed_event(f, id);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->by, tl::close_initiator::server);
  EXPECT_EQ(closed->how, tl::close_how::fin);
  EXPECT_EQ(closed->reason, "step s3");
}

TEST(SimulatorServer, CloseRstBetweenFramesAfterAPush) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  ASSERT_EQ(c.roundtrip(hello3).substr(0, 2), "%7");
  const auto id = f.conn_id(c.local_port());
  f.call([&](sim::server& s) {
    s.send_push(one_connection(id), std::string(moving_push), meta("MOVING", 1, 15));
    return s.close_connections(one_connection(id), sim::close_mode::rst,
                               sim::close_point::between_frames, "rst");
  });
  EXPECT_EQ(c.read_until_closed(), moving_push);
  EXPECT_EQ(c.last_end(), read_end::reset);
  const auto closed = closed_event(f, id);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->how, tl::close_how::rst);
}

TEST(SimulatorServer, CloseMidFrameCutsTheNextFrame) {
  for (const auto mode : {sim::close_mode::fin, sim::close_mode::rst}) {
    sim_fixture f(sim_fixture::single());
    test_client c(f.port());
    ASSERT_EQ(c.roundtrip(ping), "+PONG\r\n");
    const auto id = f.conn_id(c.local_port());
    f.call([&](sim::server& s) {
      s.send_raw(one_connection(id), std::string(moving_push), "s4");
      return s.close_connections(one_connection(id), mode, sim::close_point::mid_frame, "cut");
    });
    EXPECT_EQ(c.read_until_closed(), moving_push.substr(0, moving_push.size() / 2));
    EXPECT_EQ(c.last_end(), mode == sim::close_mode::fin ? read_end::eof : read_end::reset);
  }
}

TEST(SimulatorServer, QuitRepliesThenCloses) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  const auto id = f.conn_id(c.local_port());
  c.write("*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(c.read_until_closed(), "+OK\r\n");
  EXPECT_EQ(c.last_end(), read_end::eof);
  const auto closed = closed_event(f, id);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->by, tl::close_initiator::client);
  EXPECT_EQ(closed->reason, "QUIT");
}

TEST(SimulatorServer, ClientClosesAreRecordedWithHow) {
  sim_fixture f(sim_fixture::single());
  test_client fin(f.port());
  test_client rst(f.port());
  const auto fin_id = f.conn_id(fin.local_port());
  const auto rst_id = f.conn_id(rst.local_port());
  fin.close();
  rst.reset();
  const auto a = closed_event(f, fin_id);
  const auto b = closed_event(f, rst_id);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->by, tl::close_initiator::client);
  EXPECT_EQ(a->how, tl::close_how::fin);
  EXPECT_EQ(b->by, tl::close_initiator::client);
  EXPECT_EQ(b->how, tl::close_how::rst);
}

TEST(SimulatorServer, AcceptModeRefuseResetsAtOnce) {
  sim::server_config cfg = sim_fixture::single();
  cfg.endpoints[0].initial_mode = sim::accept_mode::refuse;
  sim_fixture f(cfg);
  test_client c(f.port());
  EXPECT_EQ(c.read_until_closed(), "");
  EXPECT_EQ(c.last_end(), read_end::reset);
  const auto closed = closed_event(f, f.conn_id(c.local_port()));
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->reason, "accept mode refuse");
}

TEST(SimulatorServer, AcceptModeBlackholeSwallowsCommands) {
  sim_fixture f(sim_fixture::single());
  f.call([](sim::server& s) {
    s.set_accept_mode("node-a", sim::accept_mode::blackhole);
    return 0;
  });
  test_client c(f.port(), 300ms);
  const auto id = f.conn_id(c.local_port());
  c.write(ping);
  EXPECT_EQ(c.read_frame(), "");
  EXPECT_EQ(c.last_end(), read_end::timeout);
  EXPECT_TRUE(events_of<tl::command_received>(f.events(), id).empty());
  // Connections accepted before the change are served as before.
  f.call([](sim::server& s) {
    s.set_accept_mode("node-a", sim::accept_mode::serve);
    return 0;
  });
  test_client d(f.port());
  EXPECT_EQ(d.roundtrip(ping), "+PONG\r\n");
}

TEST(SimulatorServer, AcceptModeNotAcceptingLeavesConnectionsInTheBacklog) {
  sim_fixture f(sim_fixture::single());
  f.call([](sim::server& s) {
    s.set_accept_mode("node-a", sim::accept_mode::not_accepting);
    return 0;
  });
  test_client c(f.port(), 300ms);  // the kernel completes the TCP handshake from the backlog
  c.write(ping);
  EXPECT_EQ(c.read_frame(), "");
  EXPECT_EQ(c.last_end(), read_end::timeout);
  EXPECT_TRUE(events_of<tl::connection_opened>(f.events()).empty());
  f.call([](sim::server& s) {
    s.set_accept_mode("node-a", sim::accept_mode::serve);
    return 0;
  });
  EXPECT_EQ(c.read_frame(), "+PONG\r\n");
}

TEST(SimulatorServer, ClientThatNeverReadsHitsTheOutputLimit) {
  sim::server_config cfg = sim_fixture::single();
  cfg.max_output_buffer = 1024 * 1024;
  sim_fixture f(cfg);
  test_client bystander(f.port());
  test_client c(f.port());
  const auto id = f.conn_id(c.local_port());
  const std::string value(100 * 1024, 'x');
  ASSERT_EQ(c.roundtrip("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + std::to_string(value.size()) +
                        "\r\n" + value + "\r\n"),
            "+OK\r\n");
  std::string gets;
  for (int i = 0; i < 400; ++i) {
    gets += "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
  }
  c.write(gets);  // 40 MB of replies, never read
  const auto closed = closed_event(f, id);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->by, tl::close_initiator::server);
  EXPECT_EQ(closed->reason, "output buffer limit");
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
}

TEST(SimulatorServer, StopClosesEverySession) {
  sim_fixture f(two_endpoints());
  test_client a(f.port("node-a"));
  test_client b(f.port("node-b"));
  test_client c(f.port("node-b"));
  for (auto* cl : {&a, &b, &c}) {
    ASSERT_EQ(cl->roundtrip(ping), "+PONG\r\n");
  }
  f.shutdown();
  for (auto* cl : {&a, &b, &c}) {
    EXPECT_EQ(cl->read_until_closed(), "");
    EXPECT_EQ(cl->last_end(), read_end::eof);
  }
  const auto closes = events_of<tl::connection_closed>(f.events());
  ASSERT_EQ(closes.size(), 3u);
  for (const auto& cl : closes) {
    EXPECT_EQ(cl.reason, "server stop");
  }
}

TEST(SimulatorServer, CommandRecordingCanBeSwitchedOff) {
  sim::server_config cfg = sim_fixture::single();
  cfg.record_commands = false;
  sim_fixture f(cfg);
  test_client c(f.port());
  ASSERT_FALSE(c.roundtrip(hello3).empty());
  ASSERT_EQ(c.roundtrip(maint_on_internal_ip), "+OK\r\n");
  const auto events = f.events();
  EXPECT_TRUE(events_of<tl::command_received>(events).empty());
  EXPECT_TRUE(events_of<tl::reply_written>(events).empty());
  EXPECT_EQ(events_of<tl::hello>(events).size(), 1u);
  EXPECT_EQ(events_of<tl::maint_handshake>(events).size(), 1u);
}

}  // namespace
}  // namespace simulator_server_test
