#include <schsim/core/resp3/parser.hpp>
#include <schsim/simulator/blocking.hpp>
#include <schsim/simulator/command_handler.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

// Lists, streams and blocking commands with Redis 7.4's semantics. Requests and expected
// replies are hand-written wire bytes; time is a manual clock (`clock` below).

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace lists_test {
namespace {

using namespace std::string_literals;
using schsim::milliseconds;
using schsim::seconds;
using schsim::time_point;
namespace sim = schsim::simulator;
namespace resp3 = schsim::resp3;

/// A server's shared state: one keyspace, one blocking registry, a manual clock.
struct server_state {
  sim::endpoint_profile profile;
  sim::keyspace data;
  sim::pubsub_registry pubsub;
  sim::blocking_registry blocking;
  sim::command_handler handler{data, profile, pubsub, blocking};
  time_point now = time_point{} + seconds(5000);

  auto serve() -> std::vector<sim::unblocked_reply> {
    return sim::serve_blocked(data, blocking, now);
  }
  auto expire() -> std::vector<sim::unblocked_reply> { return sim::expire_blocked(blocking, now); }
};

/// One client connection; commands are indexed as the session does.
struct connection {
  connection(server_state& server, std::uint64_t id) : srv(&server) {
    s.id = id;
    srv->handler.init_session(s);
  }
  auto run(std::string_view wire) -> std::string {
    parser.feed(wire);
    std::string out;
    std::vector<std::string_view> args;
    while (auto v = parser.next()) {
      if (sim::request_args(*v, args).kind == sim::request_kind::command) {
        s.command_index = next_index++;
        outcomes.push_back(srv->handler.execute(s, args, srv->now, out));
      }
    }
    return out;
  }
  auto last() -> sim::command_outcome& { return outcomes.back(); }

  server_state* srv;
  sim::session_state s;
  resp3::parser parser{{}, resp3::inline_mode::accepted};
  std::vector<sim::command_outcome> outcomes;
  std::uint64_t next_index = 0;
};

constexpr std::string_view hello3 = "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";
constexpr std::string_view wrongtype =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

TEST(Lists, PushRangeLengthAndPopWithCount) {
  server_state srv;
  connection c(srv, 1);
  EXPECT_EQ(c.run("*4\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\nb\r\n"), ":2\r\n");
  EXPECT_EQ(c.run("*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nc\r\n"), ":3\r\n");
  EXPECT_EQ(c.run("*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n"),
            "*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n");
  EXPECT_EQ(c.run("*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$2\r\n-2\r\n$3\r\n100\r\n"),
            "*2\r\n$1\r\na\r\n$1\r\nc\r\n");
  EXPECT_EQ(c.run("*2\r\n$4\r\nLLEN\r\n$1\r\nl\r\n"), ":3\r\n");
  EXPECT_EQ(c.run("*2\r\n$4\r\nTYPE\r\n$1\r\nl\r\n"), "+list\r\n");
  EXPECT_EQ(c.run("*2\r\n$4\r\nRPOP\r\n$1\r\nl\r\n"), "$1\r\nc\r\n");
  EXPECT_EQ(c.run("*3\r\n$4\r\nLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n"), "*0\r\n");
  EXPECT_EQ(c.run("*3\r\n$4\r\nLPOP\r\n$1\r\nl\r\n$2\r\n10\r\n"), "*2\r\n$1\r\nb\r\n$1\r\na\r\n");
  // The emptied list is gone.
  EXPECT_EQ(c.run("*2\r\n$6\r\nEXISTS\r\n$1\r\nl\r\n"), ":0\r\n");
  EXPECT_EQ(c.run("*2\r\n$4\r\nLPOP\r\n$1\r\nl\r\n"), "$-1\r\n");
  EXPECT_EQ(c.run("*3\r\n$4\r\nLPOP\r\n$1\r\nl\r\n$1\r\n2\r\n"), "*-1\r\n");
  EXPECT_EQ(c.run("*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n"), "*0\r\n");
  c.run(hello3);
  EXPECT_EQ(c.run("*3\r\n$4\r\nLPOP\r\n$1\r\nl\r\n$1\r\n2\r\n"), "_\r\n");
  EXPECT_EQ(c.run("*2\r\n$4\r\nRPOP\r\n$1\r\nl\r\n"), "_\r\n");
}

TEST(Lists, BadCountsAndArity) {
  server_state srv;
  connection c(srv, 1);
  EXPECT_EQ(c.run("*3\r\n$4\r\nLPOP\r\n$1\r\nl\r\n$2\r\n-1\r\n"),
            "-ERR value is out of range, must be positive\r\n");
  EXPECT_EQ(c.run("*3\r\n$4\r\nLPOP\r\n$1\r\nl\r\n$1\r\nx\r\n"),
            "-ERR value is out of range, must be positive\r\n");
  EXPECT_EQ(c.run("*4\r\n$4\r\nRPOP\r\n$1\r\nl\r\n$1\r\n1\r\n$1\r\n1\r\n"),
            "-ERR wrong number of arguments for 'rpop' command\r\n");
  EXPECT_EQ(c.run("*2\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n"),
            "-ERR wrong number of arguments for 'lpush' command\r\n");
  EXPECT_EQ(c.run("*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\n1\r\n"),
            "-ERR value is not an integer or out of range\r\n");
}

TEST(Lists, WrongTypeOnBothSides) {
  server_state srv;
  connection c(srv, 1);
  c.run("*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$1\r\nv\r\n");
  c.run("*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n");
  EXPECT_EQ(c.run("*3\r\n$5\r\nLPUSH\r\n$1\r\ns\r\n$1\r\na\r\n"), wrongtype);
  EXPECT_EQ(c.run("*2\r\n$4\r\nLPOP\r\n$1\r\ns\r\n"), wrongtype);
  EXPECT_EQ(c.run("*2\r\n$4\r\nLLEN\r\n$1\r\ns\r\n"), wrongtype);
  EXPECT_EQ(c.run("*3\r\n$5\r\nBLPOP\r\n$1\r\ns\r\n$1\r\n0\r\n"), wrongtype);
  EXPECT_EQ(c.run("*2\r\n$3\r\nGET\r\n$1\r\nl\r\n"), wrongtype);
  EXPECT_EQ(c.run("*2\r\n$4\r\nINCR\r\n$1\r\nl\r\n"), wrongtype);
  EXPECT_EQ(c.run("*3\r\n$6\r\nAPPEND\r\n$1\r\nl\r\n$1\r\nx\r\n"), wrongtype);
  EXPECT_EQ(c.run("*2\r\n$6\r\nSTRLEN\r\n$1\r\nl\r\n"), wrongtype);
  EXPECT_EQ(c.run("*3\r\n$6\r\nGETSET\r\n$1\r\nl\r\n$1\r\nx\r\n"), wrongtype);
  EXPECT_EQ(c.run("*5\r\n$4\r\nXADD\r\n$1\r\nl\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nv\r\n"), wrongtype);
  EXPECT_EQ(c.run("*2\r\n$4\r\nXLEN\r\n$1\r\ns\r\n"), wrongtype);
  // MGET answers a null for a key of another type; SET overwrites it.
  EXPECT_EQ(c.run("*3\r\n$4\r\nMGET\r\n$1\r\nl\r\n$1\r\ns\r\n"), "*2\r\n$-1\r\n$1\r\nv\r\n");
  EXPECT_EQ(c.run("*3\r\n$3\r\nSET\r\n$1\r\nl\r\n$1\r\nw\r\n"), "+OK\r\n");
  EXPECT_EQ(c.run("*2\r\n$4\r\nTYPE\r\n$1\r\nl\r\n"), "+string\r\n");
}

TEST(Lists, LmoveRotatesAndMovesBetweenLists) {
  server_state srv;
  connection c(srv, 1);
  c.run("*5\r\n$5\r\nRPUSH\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
  EXPECT_EQ(c.run("*5\r\n$5\r\nLMOVE\r\n$1\r\na\r\n$1\r\nb\r\n$5\r\nRIGHT\r\n$4\r\nleft\r\n"),
            "$1\r\n3\r\n");
  EXPECT_EQ(c.run("*5\r\n$5\r\nLMOVE\r\n$1\r\na\r\n$1\r\na\r\n$4\r\nLEFT\r\n$5\r\nRIGHT\r\n"),
            "$1\r\n1\r\n");
  EXPECT_EQ(c.run("*4\r\n$6\r\nLRANGE\r\n$1\r\na\r\n$1\r\n0\r\n$2\r\n-1\r\n"),
            "*2\r\n$1\r\n2\r\n$1\r\n1\r\n");
  EXPECT_EQ(c.run("*5\r\n$5\r\nLMOVE\r\n$1\r\nz\r\n$1\r\nb\r\n$4\r\nLEFT\r\n$4\r\nLEFT\r\n"),
            "$-1\r\n");
  EXPECT_EQ(c.run("*5\r\n$5\r\nLMOVE\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nUP\r\n$4\r\nLEFT\r\n"),
            "-ERR syntax error\r\n");
  c.run("*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$1\r\nv\r\n");
  EXPECT_EQ(c.run("*5\r\n$5\r\nLMOVE\r\n$1\r\na\r\n$1\r\ns\r\n$4\r\nLEFT\r\n$4\r\nLEFT\r\n"),
            wrongtype);
  EXPECT_EQ(c.run("*2\r\n$4\r\nLLEN\r\n$1\r\na\r\n"), ":2\r\n");  // nothing popped
}

TEST(Lists, ListWritesBreakWatch) {
  server_state srv;
  connection a(srv, 1);
  connection b(srv, 2);
  a.run("*2\r\n$5\r\nWATCH\r\n$1\r\nl\r\n");
  a.run("*1\r\n$5\r\nMULTI\r\n");
  a.run("*2\r\n$4\r\nLLEN\r\n$1\r\nl\r\n");
  b.run("*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n");
  EXPECT_EQ(a.run("*1\r\n$4\r\nEXEC\r\n"), "*-1\r\n");
  a.run("*2\r\n$5\r\nWATCH\r\n$1\r\nl\r\n");
  a.run("*1\r\n$5\r\nMULTI\r\n");
  a.run("*2\r\n$4\r\nLLEN\r\n$1\r\nl\r\n");
  b.run("*2\r\n$4\r\nLPOP\r\n$1\r\nl\r\n");
  EXPECT_EQ(a.run("*1\r\n$4\r\nEXEC\r\n"), "*-1\r\n");
}

TEST(Lists, PushedAndPoppedElementsAreReportedWithTheCommandIndex) {
  server_state srv;
  connection c(srv, 1);
  c.run("*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\nb\r\n");
  ASSERT_EQ(c.last().pushed.size(), 2U);
  EXPECT_EQ(c.last().pushed[1].element, "b");
  EXPECT_EQ(c.last().pushed[1].index, 0U);
  c.run("*1\r\n$5\r\nMULTI\r\n");
  c.run("*2\r\n$4\r\nLPOP\r\n$1\r\nl\r\n");
  c.run("*1\r\n$4\r\nEXEC\r\n");
  ASSERT_EQ(c.last().popped.size(), 1U);
  EXPECT_EQ(c.last().popped[0].key, "l");
  EXPECT_EQ(c.last().popped[0].element, "a");
  EXPECT_EQ(c.last().popped[0].index, 2U);  // the queued LPOP, not the EXEC
}

TEST(Streams, XaddIdsAndErrors) {
  server_state srv;
  connection c(srv, 1);
  EXPECT_EQ(c.run("*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$3\r\n5-1\r\n$1\r\nf\r\n$1\r\nv\r\n"),
            "$3\r\n5-1\r\n");
  EXPECT_EQ(c.run("*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$3\r\n5-1\r\n$1\r\nf\r\n$1\r\nv\r\n"),
            "-ERR The ID specified in XADD is equal or smaller than the target stream top "
            "item\r\n");
  EXPECT_EQ(c.run("*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$3\r\n5-*\r\n$1\r\nf\r\n$1\r\nv\r\n"),
            "$3\r\n5-2\r\n");
  EXPECT_EQ(c.run("*5\r\n$4\r\nXADD\r\n$1\r\ny\r\n$3\r\n0-0\r\n$1\r\nf\r\n$1\r\nv\r\n"),
            "-ERR The ID specified in XADD must be greater than 0-0\r\n");
  EXPECT_EQ(c.run("*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$3\r\nabc\r\n$1\r\nf\r\n$1\r\nv\r\n"),
            "-ERR Invalid stream ID specified as stream command argument\r\n");
  EXPECT_EQ(c.run("*6\r\n$4\r\nXADD\r\n$1\r\nx\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n"),
            "-ERR wrong number of arguments for 'xadd' command\r\n");
  // `*`: the clock's milliseconds (5,000,000 here), sequence 0.
  EXPECT_EQ(c.run("*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nw\r\n"),
            "$9\r\n5000000-0\r\n");
  EXPECT_EQ(c.run("*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$1\r\n*\r\n$1\r\nf\r\n$1\r\nz\r\n"),
            "$9\r\n5000000-1\r\n");
  EXPECT_EQ(c.run("*2\r\n$4\r\nXLEN\r\n$1\r\nx\r\n"), ":4\r\n");
  EXPECT_EQ(c.run("*2\r\n$4\r\nTYPE\r\n$1\r\nx\r\n"), "+stream\r\n");
  EXPECT_EQ(
      c.run("*6\r\n$6\r\nXRANGE\r\n$1\r\nx\r\n$1\r\n-\r\n$1\r\n+\r\n$5\r\nCOUNT\r\n$1\r\n2\r\n"),
      "*2\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
      "*2\r\n$3\r\n5-2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
  EXPECT_EQ(c.run("*4\r\n$6\r\nXRANGE\r\n$1\r\nx\r\n$1\r\n6\r\n$1\r\n+\r\n"),
            "*2\r\n*2\r\n$9\r\n5000000-0\r\n*2\r\n$1\r\nf\r\n$1\r\nw\r\n"
            "*2\r\n$9\r\n5000000-1\r\n*2\r\n$1\r\nf\r\n$1\r\nz\r\n");
  EXPECT_EQ(c.run("*4\r\n$6\r\nXRANGE\r\n$1\r\nq\r\n$1\r\n-\r\n$1\r\n+\r\n"), "*0\r\n");
}

TEST(Streams, XreadAfterAnIdInBothProtocolsAndDollarReadsNothing) {
  server_state srv;
  connection c(srv, 1);
  c.run("*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$3\r\n1-1\r\n$1\r\nf\r\n$1\r\na\r\n");
  c.run("*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$3\r\n1-2\r\n$1\r\nf\r\n$1\r\nb\r\n");
  const std::string entry = "*2\r\n$3\r\n1-2\r\n*2\r\n$1\r\nf\r\n$1\r\nb\r\n";
  EXPECT_EQ(c.run("*4\r\n$5\r\nXREAD\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$3\r\n1-1\r\n"),
            "*1\r\n*2\r\n$1\r\nx\r\n*1\r\n" + entry);
  EXPECT_EQ(c.run("*4\r\n$5\r\nXREAD\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$1\r\n$\r\n"), "*-1\r\n");
  EXPECT_EQ(c.run("*3\r\n$5\r\nXREAD\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n"),
            "-ERR wrong number of arguments for 'xread' command\r\n");
  EXPECT_EQ(c.run("*5\r\n$5\r\nXREAD\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\n0\r\n"),
            "-ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be "
            "specified.\r\n");
  c.run(hello3);
  EXPECT_EQ(
      c.run(
          "*6\r\n$5\r\nXREAD\r\n$5\r\nCOUNT\r\n$1\r\n1\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$1\r\n0\r\n"),
      "%1\r\n$1\r\nx\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\na\r\n");
  EXPECT_EQ(c.run("*4\r\n$5\r\nXREAD\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$1\r\n$\r\n"), "_\r\n");
}

// ---------------------------------------------------------------------------------------------
// Blocking

constexpr std::string_view blpop_q_0 = "*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n";
constexpr std::string_view rpush_q_x = "*3\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$1\r\nx\r\n";

TEST(Blocking, BlpopServesAtOnceWhenAKeyHoldsElements) {
  server_state srv;
  connection c(srv, 1);
  c.run("*3\r\n$5\r\nRPUSH\r\n$1\r\nb\r\n$1\r\nv\r\n");
  EXPECT_EQ(c.run("*4\r\n$5\r\nBLPOP\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\n1\r\n"),
            "*2\r\n$1\r\nb\r\n$1\r\nv\r\n");
  EXPECT_FALSE(c.last().blocked);
  EXPECT_EQ(srv.blocking.size(), 0U);
}

TEST(Blocking, APushFromAnotherConnectionServesTheBlockedClient) {
  server_state srv;
  connection waiter(srv, 1);
  connection pusher(srv, 2);
  EXPECT_EQ(waiter.run(blpop_q_0), "");
  EXPECT_TRUE(waiter.last().blocked);
  EXPECT_TRUE(srv.blocking.blocked(1));
  EXPECT_TRUE(srv.serve().empty());            // nothing ready yet
  EXPECT_EQ(pusher.run(rpush_q_x), ":1\r\n");  // Redis counts the element, then serves it
  const auto served = srv.serve();
  ASSERT_EQ(served.size(), 1U);
  EXPECT_EQ(served[0].conn, 1U);
  EXPECT_EQ(served[0].index, 0U);
  EXPECT_EQ(served[0].reply, "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
  ASSERT_EQ(served[0].popped.size(), 1U);
  EXPECT_EQ(served[0].popped[0].element, "x");
  EXPECT_FALSE(srv.blocking.blocked(1));
  EXPECT_EQ(pusher.run("*2\r\n$4\r\nLLEN\r\n$1\r\nq\r\n"), ":0\r\n");
}

TEST(Blocking, WaitersAreServedFirstBlockedFirstPerKey) {
  server_state srv;
  connection first(srv, 1);
  connection second(srv, 2);
  connection third(srv, 3);
  connection pusher(srv, 4);
  second.run(blpop_q_0);  // connection 2 blocks before 1
  first.run(blpop_q_0);
  third.run(blpop_q_0);
  pusher.run("*4\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$1\r\na\r\n$1\r\nb\r\n");
  auto served = srv.serve();
  ASSERT_EQ(served.size(), 2U);
  EXPECT_EQ(served[0].conn, 2U);
  EXPECT_EQ(served[0].reply, "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
  EXPECT_EQ(served[1].conn, 1U);
  EXPECT_EQ(served[1].reply, "*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
  pusher.run(rpush_q_x);
  served = srv.serve();
  ASSERT_EQ(served.size(), 1U);
  EXPECT_EQ(served[0].conn, 3U);
}

TEST(Blocking, TimeoutsFollowTheManualClock) {
  server_state srv;
  connection pop(srv, 1);
  connection move(srv, 2);
  connection read(srv, 3);
  pop.run("*3\r\n$5\r\nBRPOP\r\n$1\r\nq\r\n$3\r\n1.5\r\n");
  move.run("*6\r\n$6\r\nBLMOVE\r\n$1\r\nq\r\n$1\r\nd\r\n$4\r\nLEFT\r\n$4\r\nLEFT\r\n$1\r\n2\r\n");
  read.run(hello3);
  read.run(
      "*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$4\r\n2500\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$1\r\n$\r\n");
  EXPECT_TRUE(read.last().blocked);
  const time_point start = srv.now;
  EXPECT_EQ(srv.blocking.next_deadline(), start + milliseconds(1500));
  srv.now = start + milliseconds(1499);
  EXPECT_TRUE(srv.expire().empty());
  srv.now = start + milliseconds(1500);
  auto expired = srv.expire();
  ASSERT_EQ(expired.size(), 1U);
  EXPECT_EQ(expired[0].conn, 1U);
  EXPECT_EQ(expired[0].reply, "*-1\r\n");
  EXPECT_TRUE(expired[0].timed_out);
  EXPECT_EQ(srv.blocking.next_deadline(), start + seconds(2));
  srv.now = start + seconds(3);
  expired = srv.expire();
  ASSERT_EQ(expired.size(), 2U);
  EXPECT_EQ(expired[0].reply, "$-1\r\n");  // BLMOVE: a null bulk
  EXPECT_EQ(expired[1].reply, "_\r\n");    // RESP3
  EXPECT_EQ(expired[1].index, 1U);         // XREAD came after HELLO
  EXPECT_FALSE(srv.blocking.next_deadline());
  EXPECT_EQ(srv.blocking.size(), 0U);
}

TEST(Blocking, ZeroBlocksUntilServedAndRoundsUpToMilliseconds) {
  server_state srv;
  connection forever(srv, 1);
  connection tiny(srv, 2);
  forever.run(blpop_q_0);
  tiny.run("*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$6\r\n0.0001\r\n");
  EXPECT_EQ(srv.blocking.next_deadline(), srv.now + milliseconds(1));
  srv.now += std::chrono::hours(24 * 365);
  EXPECT_EQ(srv.expire().size(), 1U);
  EXPECT_TRUE(srv.blocking.blocked(1));
}

TEST(Blocking, BadTimeoutsAndArityAreRedisErrors) {
  server_state srv;
  connection c(srv, 1);
  const auto blpop = [&](std::string_view timeout) {
    return c.run("*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$" + std::to_string(timeout.size()) + "\r\n" +
                 std::string(timeout) + "\r\n");
  };
  EXPECT_EQ(blpop("-1"), "-ERR timeout is negative\r\n");
  EXPECT_EQ(blpop("-inf"), "-ERR timeout is negative\r\n");
  EXPECT_EQ(blpop("abc"), "-ERR timeout is not a float or out of range\r\n");
  EXPECT_EQ(blpop("1x"), "-ERR timeout is not a float or out of range\r\n");
  EXPECT_EQ(blpop(" 1"), "-ERR timeout is not a float or out of range\r\n");
  EXPECT_EQ(blpop("nan"), "-ERR timeout is not a float or out of range\r\n");
  EXPECT_EQ(blpop("1e5000"), "-ERR timeout is not a float or out of range\r\n");
  EXPECT_EQ(blpop("1e300"), "-ERR timeout is out of range\r\n");
  EXPECT_EQ(blpop("inf"), "-ERR timeout is out of range\r\n");
  EXPECT_EQ(blpop("9223372036854775"), "-ERR timeout is out of range\r\n");
  EXPECT_EQ(c.run("*2\r\n$5\r\nBLPOP\r\n$1\r\n0\r\n"),
            "-ERR wrong number of arguments for 'blpop' command\r\n");
  EXPECT_EQ(c.run("*2\r\n$5\r\nBRPOP\r\n$1\r\nq\r\n"),
            "-ERR wrong number of arguments for 'brpop' command\r\n");
  EXPECT_EQ(
      c.run("*6\r\n$6\r\nBLMOVE\r\n$1\r\nq\r\n$1\r\nd\r\n$4\r\nLEFT\r\n$4\r\nLEFT\r\n$2\r\n-2\r\n"),
      "-ERR timeout is negative\r\n");
  EXPECT_EQ(
      c.run("*6\r\n$6\r\nBLMOVE\r\n$1\r\nq\r\n$1\r\nd\r\n$3\r\nTOP\r\n$4\r\nLEFT\r\n$1\r\n0\r\n"),
      "-ERR syntax error\r\n");
  EXPECT_EQ(c.run("*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$2\r\n-1\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$"
                  "1\r\n$\r\n"),
            "-ERR timeout is negative\r\n");
  EXPECT_EQ(c.run("*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$3\r\n1.5\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$"
                  "1\r\n$\r\n"),
            "-ERR timeout is not an integer or out of range\r\n");
  EXPECT_EQ(srv.blocking.size(), 0U);
  EXPECT_TRUE(
      std::none_of(c.outcomes.begin(), c.outcomes.end(), [](const auto& o) { return o.blocked; }));
}

TEST(Blocking, InsideMultiNothingBlocks) {
  server_state srv;
  connection c(srv, 1);
  c.run("*1\r\n$5\r\nMULTI\r\n");
  EXPECT_EQ(c.run(blpop_q_0), "+QUEUED\r\n");
  c.run("*6\r\n$6\r\nBLMOVE\r\n$1\r\nq\r\n$1\r\nd\r\n$4\r\nLEFT\r\n$4\r\nLEFT\r\n$1\r\n0\r\n");
  c.run("*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$1\r\n$\r\n");
  EXPECT_EQ(c.run("*1\r\n$4\r\nEXEC\r\n"), "*3\r\n*-1\r\n$-1\r\n*-1\r\n");
  EXPECT_FALSE(c.last().blocked);
  EXPECT_EQ(srv.blocking.size(), 0U);
}

TEST(Blocking, AClosedConnectionIsUnblockedAndNothingIsPoppedForIt) {
  server_state srv;
  connection gone(srv, 1);
  connection pusher(srv, 2);
  gone.run(blpop_q_0);
  srv.handler.end_session(gone.s);
  EXPECT_FALSE(srv.blocking.blocked(1));
  pusher.run(rpush_q_x);
  EXPECT_TRUE(srv.serve().empty());
  EXPECT_EQ(pusher.run("*2\r\n$4\r\nLLEN\r\n$1\r\nq\r\n"), ":1\r\n");
}

TEST(Blocking, AServedBlmoveWakesTheWaiterOfItsDestination) {
  server_state srv;
  connection mover(srv, 1);
  connection popper(srv, 2);
  connection pusher(srv, 3);
  mover.run("*6\r\n$6\r\nBLMOVE\r\n$1\r\nq\r\n$1\r\nd\r\n$5\r\nRIGHT\r\n$4\r\nLEFT\r\n$1\r\n0\r\n");
  popper.run("*3\r\n$5\r\nBRPOP\r\n$1\r\nd\r\n$1\r\n0\r\n");
  pusher.run(rpush_q_x);
  const auto served = srv.serve();
  ASSERT_EQ(served.size(), 2U);
  EXPECT_EQ(served[0].conn, 1U);
  EXPECT_EQ(served[0].reply, "$1\r\nx\r\n");
  ASSERT_EQ(served[0].pushed.size(), 1U);
  EXPECT_EQ(served[0].pushed[0].key, "d");
  EXPECT_EQ(served[1].conn, 2U);
  EXPECT_EQ(served[1].reply, "*2\r\n$1\r\nd\r\n$1\r\nx\r\n");
}

TEST(Blocking, XreadBlockIsServedByXaddAfterTheDollarId) {
  server_state srv;
  connection reader(srv, 1);
  connection writer(srv, 2);
  writer.run("*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$3\r\n1-1\r\n$1\r\nf\r\n$3\r\nold\r\n");
  reader.run(
      "*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n$1\r\nx\r\n$1\r\n$\r\n");
  EXPECT_TRUE(reader.last().blocked);
  writer.run("*5\r\n$4\r\nXADD\r\n$1\r\nx\r\n$3\r\n2-1\r\n$1\r\nf\r\n$3\r\nnew\r\n");
  const auto served = srv.serve();
  ASSERT_EQ(served.size(), 1U);
  EXPECT_EQ(served[0].reply,
            "*1\r\n*2\r\n$1\r\nx\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nf\r\n$3\r\nnew\r\n");
}

TEST(Blocking, AWaiterWhoseKeyChangedTypeGetsWrongType) {
  server_state srv;
  connection waiter(srv, 1);
  connection other(srv, 2);
  waiter.run("*4\r\n$5\r\nBLPOP\r\n$1\r\ns\r\n$1\r\nq\r\n$1\r\n0\r\n");
  other.run("*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$1\r\nv\r\n");
  other.run(rpush_q_x);
  const auto served = srv.serve();
  ASSERT_EQ(served.size(), 1U);
  EXPECT_EQ(served[0].reply, wrongtype);
  EXPECT_TRUE(served[0].error);
}

}  // namespace
}  // namespace lists_test
