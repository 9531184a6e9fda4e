#include <schsim/core/cluster/slots.hpp>
#include <schsim/refclient/shard_pubsub.hpp>

#include <gtest/gtest.h>

#include "support/wire.hpp"

// The sans-I/O half of sharded Pub/Sub: decoding what a shard subscriber connection reads,
// and the router that keeps each shard channel on the node owning its slot through a slot
// migration (the server's sunsubscribe, a refusal, a map that learns the move late).

// Its own namespace: CI compiles the tests as unity builds.
namespace schsim::refclient::shard_pubsub_test {
namespace {

using test::from_wire;

const address node_a{"127.0.0.1", 7001};
const address node_b{"127.0.0.1", 7002};
const address node_c{"127.0.0.1", 7003};

// schsim:chan:0 hashes to slot 2135, schsim:chan:1 to 6262, schsim:chan:3 to 14388.
auto three_nodes() -> slot_map {
  slot_map m;
  m.assign(cluster::slot_set::of(0, 5460), node_a);
  m.assign(cluster::slot_set::of(5461, 10922), node_b);
  m.assign(cluster::slot_set::of(10923, 16383), node_c);
  return m;
}

auto frame(std::string_view bytes) -> shard_frame {
  auto f = decode_shard_frame(from_wire(bytes));
  if (!f) {
    ADD_FAILURE() << "not a shard frame: " << bytes;
    return {};
  }
  return *f;
}

// --- decode_shard_frame -----------------------------------------------------------------------

TEST(ShardFrame, DecodesConfirmationsMessagesAndTheServersSunsubscribe) {
  EXPECT_EQ(frame(">3\r\n$10\r\nssubscribe\r\n$13\r\nschsim:chan:0\r\n:1\r\n"),
            (shard_frame{shard_frame::kind::confirmed, "schsim:chan:0", "", ""}));
  EXPECT_EQ(frame(">3\r\n$8\r\nsmessage\r\n$13\r\nschsim:chan:0\r\n$5\r\nseq:7\r\n"),
            (shard_frame{shard_frame::kind::message, "schsim:chan:0", "seq:7", ""}));
  // Redis 7 when the slot leaves the node: the subscriber is told, with 0 left.
  EXPECT_EQ(frame(">3\r\n$12\r\nsunsubscribe\r\n$13\r\nschsim:chan:0\r\n:0\r\n"),
            (shard_frame{shard_frame::kind::ended, "schsim:chan:0", "", ""}));
  // RESP2 sends the same as arrays.
  EXPECT_EQ(frame("*3\r\n$12\r\nsunsubscribe\r\n$13\r\nschsim:chan:0\r\n:0\r\n").what,
            shard_frame::kind::ended);
}

TEST(ShardFrame, LeavesOtherFramesAlone) {
  EXPECT_FALSE(decode_shard_frame(from_wire(">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n")));
  EXPECT_FALSE(decode_shard_frame(from_wire(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n")));
  EXPECT_FALSE(decode_shard_frame(
      from_wire(">4\r\n$9\r\nSMIGRATED\r\n:8\r\n*0\r\n$0\r\n\r\n")));  // not Pub/Sub
  EXPECT_FALSE(decode_shard_frame(from_wire("-MOVED 2135 127.0.0.1:7002\r\n")));
}

// --- shard_router -----------------------------------------------------------------------------

TEST(ShardRouter, PlacesEachChannelOnItsSlotsOwner) {
  shard_router r({"schsim:chan:0", "schsim:chan:1", "schsim:chan:3", "schsim:chan:4"});
  const auto placed = r.place(three_nodes());
  ASSERT_EQ(placed.size(), 3U);
  EXPECT_EQ(placed[0], (shard_router::placement{node_a, {"schsim:chan:0", "schsim:chan:4"}}));
  EXPECT_EQ(placed[1], (shard_router::placement{node_b, {"schsim:chan:1"}}));
  EXPECT_EQ(placed[2], (shard_router::placement{node_c, {"schsim:chan:3"}}));
  EXPECT_EQ(r.waiting(), 0U);
  EXPECT_TRUE(r.place(three_nodes()).empty()) << "asked once, not again";
}

TEST(ShardRouter, CompletesOnceEveryChannelIsConfirmed) {
  shard_router r({"schsim:chan:0", "schsim:chan:1"});
  (void)r.place(three_nodes());
  const auto c0 = frame(">3\r\n$10\r\nssubscribe\r\n$13\r\nschsim:chan:0\r\n:1\r\n");
  const auto c1 = frame(">3\r\n$10\r\nssubscribe\r\n$13\r\nschsim:chan:1\r\n:1\r\n");
  EXPECT_FALSE(r.on_confirmed(node_b, c0.channel)) << "chan:0 was asked at node-a";
  EXPECT_FALSE(r.on_confirmed(node_a, c0.channel));
  EXPECT_TRUE(r.on_confirmed(node_b, c1.channel));
  EXPECT_FALSE(r.on_confirmed(node_b, c1.channel)) << "completes once";
}

// The migration of slot 2135 to node-b: node-a pushes sunsubscribe before the client has read
// the SMIGRATED, so its map still names node-a. The channel waits for the new map instead of
// being asked at node-a again (which would answer -MOVED), then goes to node-b.
TEST(ShardRouter, FollowsTheSlotAfterTheServersSunsubscribe) {
  shard_router r({"schsim:chan:0", "schsim:chan:1"});
  auto map = three_nodes();
  (void)r.place(map);
  EXPECT_FALSE(r.on_confirmed(node_a, "schsim:chan:0"));
  EXPECT_TRUE(r.on_confirmed(node_b, "schsim:chan:1"));

  const auto dropped = frame(">3\r\n$12\r\nsunsubscribe\r\n$13\r\nschsim:chan:0\r\n:0\r\n");
  ASSERT_EQ(dropped.what, shard_frame::kind::ended);
  EXPECT_TRUE(r.on_dropped(node_a, dropped.channel));
  EXPECT_FALSE(r.held("schsim:chan:0"));
  EXPECT_EQ(r.waiting(), 1U);
  EXPECT_TRUE(r.place(map).empty()) << "the map still says node-a";

  map.assign(cluster::slot_set::of(0, 2730), node_b);  // SMIGRATED's delta
  EXPECT_EQ(r.place(map), (std::vector<shard_router::placement>{{node_b, {"schsim:chan:0"}}}));
  EXPECT_EQ(r.where("schsim:chan:0"), node_b);
  EXPECT_FALSE(r.on_confirmed(node_b, "schsim:chan:0")) << "completed before";
  EXPECT_TRUE(r.held("schsim:chan:0"));
  EXPECT_TRUE(r.held("schsim:chan:1")) << "the other channel was never touched";
}

// An SSUBSCRIBE sent on a stale map is refused with -MOVED: the channel waits, and the map
// repaired from the redirection places it on the owner.
TEST(ShardRouter, ARefusedChannelGoesWhereTheMapSaysNext) {
  shard_router r({"schsim:chan:0"});
  auto map = three_nodes();
  (void)r.place(map);
  const auto refused = parse_redirect("MOVED 2135 127.0.0.1:7002", node_a);
  ASSERT_TRUE(refused);
  EXPECT_TRUE(r.on_dropped(node_a, "schsim:chan:0"));
  map.assign(refused->slot, refused->target);
  EXPECT_EQ(r.place(map), (std::vector<shard_router::placement>{{node_b, {"schsim:chan:0"}}}));
}

// A sunsubscribe from a node the channel is no longer asked at (it already moved on, or it is
// the confirmation of the client's own SUNSUBSCRIBE there) changes nothing.
TEST(ShardRouter, IgnoresStaleReports) {
  shard_router r({"schsim:chan:0"});
  (void)r.place(three_nodes());
  EXPECT_FALSE(r.on_dropped(node_c, "schsim:chan:0"));
  EXPECT_FALSE(r.on_dropped(node_a, "schsim:chan:9"));
  EXPECT_EQ(r.where("schsim:chan:0"), node_a);
}

// The slot moves back to node-a later (a second migration): it may be asked there again.
TEST(ShardRouter, ANodeThatDroppedAChannelMayHoldItAgainOnceItOwnsTheSlotAgain) {
  shard_router r({"schsim:chan:0"});
  auto map = three_nodes();
  (void)r.place(map);
  EXPECT_TRUE(r.on_confirmed(node_a, "schsim:chan:0"));
  EXPECT_TRUE(r.on_dropped(node_a, "schsim:chan:0"));
  map.assign(2135, node_b);
  (void)r.place(map);
  EXPECT_FALSE(r.on_confirmed(node_b, "schsim:chan:0"));
  EXPECT_TRUE(r.on_dropped(node_b, "schsim:chan:0"));
  map.assign(2135, node_a);
  EXPECT_EQ(r.place(map), (std::vector<shard_router::placement>{{node_a, {"schsim:chan:0"}}}));
}

}  // namespace
}  // namespace schsim::refclient::shard_pubsub_test
