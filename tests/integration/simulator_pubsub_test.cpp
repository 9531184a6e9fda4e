// Pub/Sub over loopback: RESP3 and RESP2 subscribers, a publisher subscribed to its own
// channel, messages interleaved with a fragmented maintenance push, thousands of channels, a
// subscriber that never reads (the pubsub output limit) and sharded Pub/Sub in cluster mode.
// Requests and expected frames are hand-written wire bytes.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace simulator_pubsub_test {
namespace {

using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace sim = schsim::simulator;
namespace tl = schsim::timeline;

constexpr std::string_view hello3 = "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";
constexpr std::string_view subscribe_news = "*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n";
constexpr std::string_view publish_news_seq1 =
    "*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n$5\r\nseq:1\r\n";
// A MOVING notification as the scenario engine would send it (the bytes do not matter here).
constexpr std::string_view moving_push =
    ">4\r\n$6\r\nMOVING\r\n:9\r\n:15\r\n$14\r\n127.0.0.1:6390\r\n";

auto bulk(std::string_view s) -> std::string {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

auto command(std::initializer_list<std::string_view> args) -> std::string {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto a : args) {
    out += bulk(a);
  }
  return out;
}

TEST(SimulatorPubSub, Resp3AndResp2SubscribersAndThePublisherReadsItsReplyFirst) {
  sim_fixture f(sim_fixture::single());
  test_client v3(f.port());
  test_client v2(f.port());
  test_client pub(f.port());
  v3.roundtrip(hello3);
  pub.roundtrip(hello3);
  EXPECT_EQ(v3.roundtrip(subscribe_news), ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
  EXPECT_EQ(v2.roundtrip(subscribe_news), "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
  EXPECT_EQ(pub.roundtrip(subscribe_news), ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
  pub.write(publish_news_seq1);
  // Redis 7.2+: the publisher's own copy comes after the PUBLISH reply.
  EXPECT_EQ(pub.read_frame(), ":3\r\n");
  EXPECT_EQ(pub.read_frame(), ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nseq:1\r\n");
  EXPECT_EQ(v3.read_frame(), ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nseq:1\r\n");
  EXPECT_EQ(v2.read_frame(), "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nseq:1\r\n");
  // RESP2 subscribed mode: other commands are refused, PING answers as a message would.
  EXPECT_EQ(v2.roundtrip("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            "RESET are allowed in this context\r\n");
  EXPECT_EQ(v2.roundtrip("*1\r\n$4\r\nPING\r\n"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  // RESP3: anything goes while subscribed.
  EXPECT_EQ(v3.roundtrip("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), "_\r\n");
  // Inside MULTI the message follows the EXEC reply.
  pub.write("*1\r\n$5\r\nMULTI\r\n" + std::string(publish_news_seq1) + "*1\r\n$4\r\nEXEC\r\n");
  EXPECT_EQ(pub.read_frame(), "+OK\r\n");
  EXPECT_EQ(pub.read_frame(), "+QUEUED\r\n");
  EXPECT_EQ(pub.read_frame(), "*1\r\n:3\r\n");
  EXPECT_EQ(pub.read_frame(), ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nseq:1\r\n");
  // A closed subscriber no longer counts.
  v2.close();
  ASSERT_TRUE(f.wait_for(
      [](const tl::event& e) { return std::holds_alternative<tl::connection_closed>(e.what); }));
  EXPECT_EQ(pub.roundtrip(publish_news_seq1), ":2\r\n");
}

TEST(SimulatorPubSub, EachPublishAndEachDeliveryIsRecorded) {
  sim_fixture f(sim_fixture::single());
  test_client sub(f.port());
  test_client psub(f.port());
  test_client pub(f.port());
  const std::uint64_t sub_id = f.conn_id(sub.local_port());
  const std::uint64_t psub_id = f.conn_id(psub.local_port());
  const std::uint64_t pub_id = f.conn_id(pub.local_port());
  sub.roundtrip(subscribe_news);
  psub.roundtrip(command({"PSUBSCRIBE", "n*"}));
  EXPECT_EQ(pub.roundtrip(publish_news_seq1), ":2\r\n");
  EXPECT_EQ(pub.roundtrip(command({"PUBLISH", "news", "hello"})), ":2\r\n");
  EXPECT_EQ(sub.read_frame(), "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nseq:1\r\n");
  EXPECT_EQ(psub.read_frame(), "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nseq:1\r\n");
  const auto delivered_count = [&] {
    return schsim::testing::events_of<tl::pubsub_delivered>(f.events()).size();
  };
  // Recorded once written, on the io thread: poll (an observer must not read the recorder).
  for (int i = 0; i < 2000 && delivered_count() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(delivered_count(), 4u);
  const auto events = f.events();
  const auto published = schsim::testing::events_of<tl::pubsub_published>(events, pub_id);
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].channel, "news");
  EXPECT_EQ(published[0].receivers, 2u);
  EXPECT_EQ(published[0].seq, 1);
  EXPECT_EQ(published[1].seq, std::nullopt);
  EXPECT_EQ(published[1].bytes, 5u);
  const auto to_sub = schsim::testing::events_of<tl::pubsub_delivered>(events, sub_id);
  ASSERT_EQ(to_sub.size(), 2u);
  EXPECT_EQ(to_sub[0].seq, 1);
  EXPECT_EQ(to_sub[0].pattern, "");
  EXPECT_EQ(to_sub[1].bytes, 5u);
  const auto to_psub = schsim::testing::events_of<tl::pubsub_delivered>(events, psub_id);
  ASSERT_EQ(to_psub.size(), 2u);
  EXPECT_EQ(to_psub[0].pattern, "n*");
  EXPECT_EQ(to_psub[0].channel, "news");
}

TEST(SimulatorPubSub, MessagesAndAFragmentedMaintenancePushKeepTheirOrderWhole) {
  sim_fixture f(sim_fixture::single());
  test_client sub(f.port());
  test_client pub(f.port());
  const std::uint64_t sub_id = f.conn_id(sub.local_port());
  sub.roundtrip(hello3);
  sub.roundtrip(subscribe_news);
  f.call([](sim::server& s) {
    s.set_fragmentation("node-a", 5, std::chrono::milliseconds(1));
    return 0;
  });
  EXPECT_EQ(pub.roundtrip(publish_news_seq1), ":1\r\n");
  f.call([&](sim::server& s) {
    sim::push_meta meta;
    meta.name = "MOVING";
    meta.seq = 9;
    return s.send_push(sim::selector{sim::selector::scope::connection, {}, sub_id},
                       std::string(moving_push), meta);
  });
  EXPECT_EQ(pub.roundtrip(command({"PUBLISH", "news", "seq:2"})), ":1\r\n");
  EXPECT_EQ(sub.read_frame(), ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nseq:1\r\n");
  EXPECT_EQ(sub.read_frame(), moving_push);
  EXPECT_EQ(sub.read_frame(), ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nseq:2\r\n");
}

TEST(SimulatorPubSub, PublishToThousandsOfChannels) {
  sim_fixture f(sim_fixture::single());
  test_client sub(f.port());
  test_client pub(f.port());
  constexpr int channels = 5000;
  std::string subscribe = "*" + std::to_string(channels + 1) + "\r\n" + bulk("SUBSCRIBE");
  std::string publishes;
  for (int i = 0; i < channels; ++i) {
    const std::string name = "ch." + std::to_string(i);
    subscribe += bulk(name);
    publishes += command({"PUBLISH", name, "seq:" + std::to_string(i)});
  }
  sub.write(subscribe);
  for (int i = 0; i < channels; ++i) {
    const std::string name = "ch." + std::to_string(i);
    ASSERT_EQ(sub.read_frame(),
              "*3\r\n$9\r\nsubscribe\r\n" + bulk(name) + ":" + std::to_string(i + 1) + "\r\n");
  }
  EXPECT_EQ(pub.roundtrip(command({"PUBSUB", "NUMSUB", "ch.0", "ch.4999", "ch.5000"})),
            "*6\r\n$4\r\nch.0\r\n:1\r\n$7\r\nch.4999\r\n:1\r\n$7\r\nch.5000\r\n:0\r\n");
  pub.write(publishes);
  for (int i = 0; i < channels; ++i) {
    ASSERT_EQ(pub.read_frame(), ":1\r\n");
  }
  for (int i = 0; i < channels; ++i) {
    const std::string seq = "seq:" + std::to_string(i);
    ASSERT_EQ(sub.read_frame(),
              "*3\r\n$7\r\nmessage\r\n" + bulk("ch." + std::to_string(i)) + bulk(seq));
  }
}

TEST(SimulatorPubSub, ASubscriberThatNeverReadsIsClosedAtThePubsubHardLimit) {
  sim_fixture f(sim_fixture::single());  // Redis's defaults: 32 MiB hard, 8 MiB for 60 s
  test_client sub(f.port());
  test_client pub(f.port());
  const std::uint64_t sub_id = f.conn_id(sub.local_port());
  sub.roundtrip(subscribe_news);
  const std::string payload(256 * 1024, 'x');
  const std::string one = command({"PUBLISH", "news", payload});
  // 300 x 256 KiB = 75 MiB: more than the hard limit plus what the kernel buffers hold.
  int published = 0;
  for (; published < 300; ++published) {
    pub.write(one);
    const std::string reply = pub.read_frame();
    if (reply == ":0\r\n") {
      break;  // the subscriber is gone
    }
    ASSERT_EQ(reply, ":1\r\n");
  }
  const auto closed = f.wait_for([sub_id](const tl::event& e) {
    return e.conn == sub_id && std::holds_alternative<tl::connection_closed>(e.what);
  });
  ASSERT_TRUE(closed);
  const auto& why = std::get<tl::connection_closed>(closed->what);
  EXPECT_EQ(why.by, tl::close_initiator::server);
  EXPECT_NE(why.reason.find("pubsub output buffer limit"), std::string::npos) << why.reason;
  EXPECT_LT(published, 300);
  EXPECT_EQ(pub.roundtrip(command({"PUBSUB", "NUMSUB", "news"})), "*2\r\n$4\r\nnews\r\n:0\r\n");
}

// "bar" hashes to slot 5061, "foo" to 12182.
auto two_nodes() -> sim::server_config {
  sim::server_config cfg;
  cfg.cluster = true;
  sim::endpoint_config a;
  a.name = "node-a";
  a.slots = schsim::cluster::slot_set::of(0, 8191);
  sim::endpoint_config b;
  b.name = "node-b";
  b.slots = schsim::cluster::slot_set::of(8192, 16383);
  cfg.endpoints = {a, b};
  return cfg;
}

TEST(SimulatorPubSub, ShardedPubSubIsRoutedBySlotAndASlotMoveUnsubscribes) {
  sim_fixture f(two_nodes());
  test_client on_a(f.port("node-a"));
  test_client on_b(f.port("node-b"));
  test_client pub_a(f.port("node-a"));
  on_a.roundtrip(hello3);
  EXPECT_EQ(on_b.roundtrip(command({"SSUBSCRIBE", "bar"})),
            "-MOVED 5061 127.0.0.1:" + std::to_string(f.port("node-a")) + "\r\n");
  EXPECT_EQ(on_a.roundtrip(command({"SSUBSCRIBE", "bar"})),
            ">3\r\n$10\r\nssubscribe\r\n$3\r\nbar\r\n:1\r\n");
  EXPECT_EQ(on_b.roundtrip(command({"SPUBLISH", "bar", "seq:1"})),
            "-MOVED 5061 127.0.0.1:" + std::to_string(f.port("node-a")) + "\r\n");
  EXPECT_EQ(pub_a.roundtrip(command({"SPUBLISH", "bar", "seq:1"})), ":1\r\n");
  EXPECT_EQ(on_a.read_frame(), ">3\r\n$8\r\nsmessage\r\n$3\r\nbar\r\n$5\r\nseq:1\r\n");
  // Plain PUBLISH reaches every node; in cluster mode the reply counts this node's receivers.
  EXPECT_EQ(on_b.roundtrip(command({"SUBSCRIBE", "news"})),
            "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
  EXPECT_EQ(pub_a.roundtrip(publish_news_seq1), ":0\r\n");
  EXPECT_EQ(on_b.read_frame(), "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nseq:1\r\n");
  // The slot moves away: its shard subscribers on node-a are told, as Redis does.
  f.call([](sim::server& s) {
    s.complete_slot_migration("node-a", "node-b", schsim::cluster::slot_set::of(5061, 5061));
    return 0;
  });
  EXPECT_EQ(on_a.read_frame(), ">3\r\n$12\r\nsunsubscribe\r\n$3\r\nbar\r\n:0\r\n");
  EXPECT_EQ(pub_a.roundtrip(command({"SPUBLISH", "bar", "seq:2"})),
            "-MOVED 5061 127.0.0.1:" + std::to_string(f.port("node-b")) + "\r\n");
}

}  // namespace
}  // namespace simulator_pubsub_test
