#include <schsim/core/resp3/parser.hpp>
#include <schsim/simulator/cluster_state.hpp>
#include <schsim/simulator/command_handler.hpp>
#include <schsim/simulator/pubsub.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <string>
#include <vector>

// Pub/Sub with Redis 7.4's semantics. Requests and expected frames are hand-written wire bytes
// (never produced by schsim's own serializer).

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace pubsub_test {
namespace {

using schsim::seconds;
using schsim::time_point;
namespace sim = schsim::simulator;
namespace resp3 = schsim::resp3;
using schsim::cluster::slot_set;

const time_point start = time_point{} + seconds(5000);

/// One client connection to a handler that shares its keyspace and registry with others.
struct connection {
  connection(sim::command_handler& h, std::uint64_t id) : handler(&h) {
    s.id = id;
    handler->init_session(s);
  }
  auto run(std::string_view wire) -> std::string {
    parser.feed(wire);
    std::string out;
    std::vector<std::string_view> args;
    while (auto v = parser.next()) {
      if (sim::request_args(*v, args).kind == sim::request_kind::command) {
        outcomes.push_back(handler->execute(s, args, start, out));
      }
    }
    return out;
  }
  /// The publications of the last command.
  auto published() -> std::vector<sim::publication>& { return outcomes.back().publications; }

  sim::command_handler* handler;
  sim::session_state s;
  resp3::parser parser{{}, resp3::inline_mode::accepted};
  std::vector<sim::command_outcome> outcomes;
};

struct standalone {
  sim::endpoint_profile profile;
  sim::keyspace data;
  sim::pubsub_registry registry;
  sim::command_handler handler{data, profile, registry};
};

constexpr std::string_view hello3 = "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";

TEST(PubSub, Resp3SubscribeConfirmsWithPushesAndPublishCountsReceivers) {
  standalone f;
  connection sub(f.handler, 1);
  connection pub(f.handler, 2);
  sub.run(hello3);
  EXPECT_EQ(sub.run("*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n"),
            ">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
            ">3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n");
  // Subscribing again confirms with the same count.
  EXPECT_EQ(sub.run("*2\r\n$9\r\nsubscribe\r\n$1\r\na\r\n"),
            ">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n");
  // RESP3 allows any command while subscribed.
  EXPECT_EQ(sub.run("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), "_\r\n");
  EXPECT_EQ(pub.run("*3\r\n$7\r\nPUBLISH\r\n$1\r\na\r\n$5\r\nseq:1\r\n"), ":1\r\n");
  ASSERT_EQ(pub.published().size(), 1u);
  const auto& p = pub.published()[0];
  EXPECT_EQ(p.channel, "a");
  EXPECT_EQ(p.payload, "seq:1");
  ASSERT_EQ(p.receivers.size(), 1u);
  EXPECT_EQ(p.receivers[0].conn, 1u);
  EXPECT_FALSE(p.receivers[0].pattern);
  EXPECT_EQ(pub.run("*3\r\n$7\r\nPUBLISH\r\n$1\r\nz\r\n$1\r\nx\r\n"), ":0\r\n");
  EXPECT_TRUE(pub.published()[0].receivers.empty());
  EXPECT_EQ(sub.run("*1\r\n$11\r\nUNSUBSCRIBE\r\n"),
            ">3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n"
            ">3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n");
  EXPECT_FALSE(f.registry.subscribed(1));
}

TEST(PubSub, MessageFramesInBothProtocols) {
  std::string out;
  sim::append_pubsub_message(out, resp3::protocol::resp3, false, std::nullopt, "ch", "hi");
  EXPECT_EQ(out, ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
  out.clear();
  sim::append_pubsub_message(out, resp3::protocol::resp2, false, std::string("c*"), "ch", "");
  EXPECT_EQ(out, "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$0\r\n\r\n");
  out.clear();
  sim::append_pubsub_message(out, resp3::protocol::resp3, true, std::nullopt, "s", "x");
  EXPECT_EQ(out, ">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nx\r\n");
}

TEST(PubSub, Resp2SubscribedModeAllowsOnlyThePubSubCommands) {
  standalone f;
  connection c(f.handler, 1);
  // Nothing to unsubscribe from: a null channel and a count of 0.
  EXPECT_EQ(c.run("*1\r\n$11\r\nUNSUBSCRIBE\r\n"), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
  EXPECT_EQ(c.run("*1\r\n$12\r\nPUNSUBSCRIBE\r\n"), "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
  EXPECT_EQ(c.run("*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n"),
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(c.run("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            "RESET are allowed in this context\r\n");
  EXPECT_EQ(c.run("*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n"),
            "-ERR Can't execute 'client|id': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
            "QUIT / RESET are allowed in this context\r\n");
  EXPECT_EQ(c.run("*1\r\n$4\r\nPING\r\n"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  EXPECT_EQ(c.run("*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n"), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
  EXPECT_EQ(c.run("*2\r\n$10\r\nPSUBSCRIBE\r\n$2\r\nn*\r\n"),
            "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n");
  // RESET leaves subscribed mode without confirmations.
  EXPECT_EQ(c.run("*1\r\n$5\r\nRESET\r\n"), "+RESET\r\n");
  EXPECT_EQ(c.run("*1\r\n$4\r\nPING\r\n"), "+PONG\r\n");
  EXPECT_FALSE(f.registry.subscribed(1));
}

TEST(PubSub, PatternsAndPubsubIntrospection) {
  standalone f;
  connection a(f.handler, 1);
  connection b(f.handler, 2);
  connection pub(f.handler, 3);
  a.run("*3\r\n$9\r\nSUBSCRIBE\r\n$6\r\nnews.x\r\n$5\r\nother\r\n");
  b.run("*2\r\n$10\r\nPSUBSCRIBE\r\n$6\r\nnews.*\r\n*2\r\n$10\r\nPSUBSCRIBE\r\n$1\r\n*\r\n");
  EXPECT_EQ(pub.run("*3\r\n$7\r\nPUBLISH\r\n$6\r\nnews.x\r\n$1\r\nm\r\n"), ":3\r\n");
  const auto& r = pub.published()[0].receivers;
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].conn, 1u);
  EXPECT_FALSE(r[0].pattern);
  EXPECT_EQ(r[1].conn, 2u);
  EXPECT_EQ(r[1].pattern, "*");
  EXPECT_EQ(r[2].pattern, "news.*");
  EXPECT_EQ(pub.run("*2\r\n$6\r\nPUBSUB\r\n$8\r\nCHANNELS\r\n"),
            "*2\r\n$6\r\nnews.x\r\n$5\r\nother\r\n");
  EXPECT_EQ(pub.run("*3\r\n$6\r\nPUBSUB\r\n$8\r\nchannels\r\n$2\r\nn*\r\n"),
            "*1\r\n$6\r\nnews.x\r\n");
  EXPECT_EQ(pub.run("*4\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n$6\r\nnews.x\r\n$4\r\nnone\r\n"),
            "*4\r\n$6\r\nnews.x\r\n:1\r\n$4\r\nnone\r\n:0\r\n");
  EXPECT_EQ(pub.run("*2\r\n$6\r\nPUBSUB\r\n$6\r\nNUMPAT\r\n"), ":2\r\n");
  const auto help = pub.run("*2\r\n$6\r\nPUBSUB\r\n$4\r\nhelp\r\n");
  EXPECT_TRUE(
      help.starts_with("*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. "
                       "Subcommands are:\r\n+CHANNELS [<pattern>]\r\n"))
      << help;
  EXPECT_TRUE(help.ends_with("+HELP\r\n+    Print this help.\r\n")) << help;
  EXPECT_EQ(pub.run("*2\r\n$6\r\nPUBSUB\r\n$3\r\nFOO\r\n"),
            "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n");
  EXPECT_EQ(pub.run("*3\r\n$6\r\nPUBSUB\r\n$6\r\nNUMPAT\r\n$1\r\nx\r\n"),
            "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n");
  EXPECT_EQ(b.run("*2\r\n$12\r\nPUNSUBSCRIBE\r\n$1\r\n*\r\n"),
            "*3\r\n$12\r\npunsubscribe\r\n$1\r\n*\r\n:1\r\n");
  // A closed connection's subscriptions go with it.
  f.handler.end_session(a.s);
  EXPECT_EQ(pub.run("*3\r\n$7\r\nPUBLISH\r\n$6\r\nnews.x\r\n$1\r\nm\r\n"), ":1\r\n");
  EXPECT_EQ(pub.run("*2\r\n$6\r\nPUBSUB\r\n$6\r\nNUMPAT\r\n"), ":1\r\n");
}

TEST(PubSub, PublishInsideExecIsDeliveredAfterTheExecReply) {
  standalone f;
  connection c(f.handler, 1);
  c.run(hello3);
  c.run("*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n");
  EXPECT_EQ(c.run("*1\r\n$5\r\nMULTI\r\n*3\r\n$7\r\nPUBLISH\r\n$1\r\na\r\n$1\r\n1\r\n"
                  "*2\r\n$10\r\nSSUBSCRIBE\r\n$1\r\ns\r\n*1\r\n$4\r\nEXEC\r\n"),
            "+OK\r\n+QUEUED\r\n+QUEUED\r\n"
            "*2\r\n:1\r\n-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n");
  // The message to the publisher itself is the EXEC's outcome, written after its reply.
  ASSERT_EQ(c.published().size(), 1u);
  EXPECT_EQ(c.published()[0].receivers.at(0).conn, 1u);
  EXPECT_EQ(f.registry.count(1, sim::subscription_kind::shard), 0u);
}

TEST(PubSub, PayloadSequenceOnlyForTheSeqForm) {
  EXPECT_EQ(sim::payload_seq("seq:0"), 0);
  EXPECT_EQ(sim::payload_seq("seq:123456789012"), 123456789012);
  EXPECT_FALSE(sim::payload_seq("seq:"));
  EXPECT_FALSE(sim::payload_seq("seq:12x"));
  EXPECT_FALSE(sim::payload_seq("seq:-1"));
  EXPECT_FALSE(sim::payload_seq("SEQ:1"));
  EXPECT_FALSE(sim::payload_seq("hello"));
}

TEST(PubSub, GlobMatchesAsRedisDoes) {
  EXPECT_TRUE(sim::glob_match("n[a-c]?s*", "nbxs.1", false));
  EXPECT_FALSE(sim::glob_match("n[^a-c]*", "nb", false));
  EXPECT_TRUE(sim::glob_match("a\\*", "a*", false));
  EXPECT_FALSE(sim::glob_match("A*", "a", false));
}

TEST(PubSub, OutputLimitClosesAtTheHardLimitAtOnceAndAtTheSoftOneAfterItsTime) {
  const sim::output_limit limit{1000, 100, std::chrono::milliseconds(60'000)};
  sim::output_limit_tracker hard(limit);
  EXPECT_FALSE(hard.check(999, start));
  EXPECT_TRUE(hard.check(1000, start));

  sim::output_limit_tracker soft(limit);
  EXPECT_FALSE(soft.check(150, start));
  EXPECT_FALSE(soft.check(150, start + seconds(60)));
  // Back under the soft limit: the time starts again.
  EXPECT_FALSE(soft.check(50, start + seconds(61)));
  EXPECT_FALSE(soft.check(150, start + seconds(62)));
  EXPECT_FALSE(soft.check(150, start + seconds(122)));
  const auto why = soft.check(150, start + seconds(123));
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("soft limit"), std::string::npos);
}

// -- sharded Pub/Sub in cluster mode -----------------------------------------------------------

struct cluster_fixture {
  cluster_fixture() {
    cluster.add_node("node-a", "127.0.0.1", 7000, slot_set::of(0, 5460));
    cluster.add_node("node-b", "127.0.0.1", 7001, slot_set::of(5461, 16383));
    a.set_cluster(&cluster, "node-a");
    b.set_cluster(&cluster, "node-b");
  }
  sim::endpoint_profile profile;
  sim::keyspace data;
  sim::pubsub_registry registry;
  sim::cluster_state cluster;
  sim::command_handler a{data, profile, registry};
  sim::command_handler b{data, profile, registry};
};

// "bar" hashes to slot 5061 (node-a), "foo" to 12182 (node-b).
TEST(ShardedPubSub, RoutedBySlotAndDeliveredOnTheSameNodeOnly) {
  cluster_fixture f;
  connection on_a(f.a, 1);
  connection on_b(f.b, 2);
  connection pub_a(f.a, 3);
  EXPECT_EQ(on_b.run("*2\r\n$10\r\nSSUBSCRIBE\r\n$3\r\nbar\r\n"), "-MOVED 5061 127.0.0.1:7000\r\n");
  EXPECT_EQ(on_a.run("*3\r\n$10\r\nSSUBSCRIBE\r\n$3\r\nbar\r\n$3\r\nfoo\r\n"),
            "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
  EXPECT_EQ(on_a.run("*2\r\n$10\r\nSSUBSCRIBE\r\n$3\r\nbar\r\n"),
            "*3\r\n$10\r\nssubscribe\r\n$3\r\nbar\r\n:1\r\n");
  // Shard subscriptions count on their own in the confirmation.
  EXPECT_EQ(on_a.run("*2\r\n$9\r\nSUBSCRIBE\r\n$3\r\nbar\r\n"),
            "*3\r\n$9\r\nsubscribe\r\n$3\r\nbar\r\n:1\r\n");
  EXPECT_EQ(pub_a.run("*3\r\n$8\r\nSPUBLISH\r\n$3\r\nbar\r\n$1\r\nm\r\n"), ":1\r\n");
  EXPECT_TRUE(pub_a.published()[0].sharded);
  EXPECT_EQ(pub_a.run("*3\r\n$6\r\nPUBSUB\r\n$11\r\nSHARDNUMSUB\r\n$3\r\nbar\r\n"),
            "*2\r\n$3\r\nbar\r\n:1\r\n");
  EXPECT_EQ(pub_a.run("*2\r\n$6\r\nPUBSUB\r\n$13\r\nSHARDCHANNELS\r\n"), "*1\r\n$3\r\nbar\r\n");
}

TEST(ShardedPubSub, ImportingNodeMovesUnlessAskingAndTheLostSlotUnsubscribes) {
  cluster_fixture f;
  connection on_a(f.a, 1);
  connection on_b(f.b, 2);
  f.cluster.begin_migration("node-a", "node-b", slot_set::of(5061, 5061), start,
                            std::chrono::milliseconds(0));
  // The source serves shard channels until the migration completes, whatever its progress.
  EXPECT_EQ(on_a.run("*2\r\n$10\r\nSSUBSCRIBE\r\n$3\r\nbar\r\n"),
            "*3\r\n$10\r\nssubscribe\r\n$3\r\nbar\r\n:1\r\n");
  EXPECT_EQ(on_b.run("*2\r\n$10\r\nSSUBSCRIBE\r\n$3\r\nbar\r\n"), "-MOVED 5061 127.0.0.1:7000\r\n");
  EXPECT_EQ(on_b.run("*1\r\n$6\r\nASKING\r\n*2\r\n$10\r\nSSUBSCRIBE\r\n$3\r\nbar\r\n"),
            "+OK\r\n*3\r\n$10\r\nssubscribe\r\n$3\r\nbar\r\n:1\r\n");
  f.cluster.complete_migration("node-a", "node-b", slot_set::of(5061, 5061));
  const auto dropped =
      f.registry.drop_unserved_shard_channels([&](std::string_view node, std::string_view channel) {
        return f.cluster.owner(schsim::cluster::key_slot(channel))->name == node;
      });
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].conn, 1u);
  EXPECT_EQ(dropped[0].channel, "bar");
  EXPECT_EQ(dropped[0].remaining, 0u);
  EXPECT_FALSE(f.registry.subscribed(1));
  EXPECT_TRUE(f.registry.subscribed(2));
}

}  // namespace
}  // namespace pubsub_test
