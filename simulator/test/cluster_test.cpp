#include <schsim/core/resp3/parser.hpp>
#include <schsim/simulator/cluster_state.hpp>  // first: the header is self-contained
#include <schsim/simulator/command_handler.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

// Cluster routing and the CLUSTER commands. Requests and expected replies are hand-written
// wire bytes; slots of the keys used are Redis's own documented values (CLUSTER KEYSLOT foo is
// 12182, hello 866, bar 5061, somekey 11058).

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace cluster_test {
namespace {

using namespace std::chrono_literals;
using schsim::seconds;
using schsim::time_point;
using schsim::cluster::slot_set;
namespace sim = schsim::simulator;
namespace resp3 = schsim::resp3;
namespace tl = schsim::timeline;

// redis-cli --cluster create's split of three masters, and a spare that owns nothing yet.
auto three_nodes() -> sim::cluster_state {
  sim::cluster_state c;
  c.add_node("node-a", "127.0.0.1", 7000, slot_set::of(0, 5460));
  c.add_node("node-b", "127.0.0.1", 7001, slot_set::of(5461, 10922));
  c.add_node("node-c", "127.0.0.1", 7002, slot_set::of(10923, 16383));
  c.add_node("node-d", "127.0.0.1", 7003, {});
  return c;
}

// One node's connection: a handler answering as `node` of a shared cluster.
struct node_connection {
  node_connection(sim::cluster_state& cluster, sim::keyspace& data, std::string node,
                  std::uint64_t conn_id)
      : data_ref(data), handler(data, profile) {
    handler.set_cluster(&cluster, std::move(node));
    handler.set_redirect_observer(
        [this](const sim::session_state&, const tl::cluster_redirect& r) { seen.push_back(r); });
    s.id = conn_id;
    s.peer = "127.0.0.1:50000";
    s.local = "127.0.0.1:7000";
    handler.init_session(s);
  }

  auto run(std::string_view wire, time_point at) -> std::string {
    parser.feed(wire);
    std::string out;
    std::vector<std::string_view> args;
    while (auto v = parser.next()) {
      if (sim::request_args(*v, args).kind == sim::request_kind::command) {
        outcomes.push_back(handler.execute(s, args, at, out));
      }
    }
    return out;
  }

  sim::keyspace& data_ref;
  sim::endpoint_profile profile;
  sim::command_handler handler;
  sim::session_state s;
  resp3::parser parser{{}, resp3::inline_mode::accepted};
  std::vector<sim::command_outcome> outcomes;
  std::vector<tl::cluster_redirect> seen;
};

const time_point t0 = time_point{} + seconds(1000);

constexpr std::string_view get_foo = "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n";
constexpr std::string_view get_hello = "*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n";
constexpr std::string_view set_hello = "*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\n";
constexpr std::string_view asking = "*1\r\n$6\r\nASKING\r\n";

TEST(ClusterState, NodeIdsAreFortyHexCharactersAndStable) {
  const auto a = sim::cluster_state::node_id("node-a");
  EXPECT_EQ(a.size(), 40u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a, sim::cluster_state::node_id("node-a"));
  EXPECT_NE(a, sim::cluster_state::node_id("node-b"));
}

TEST(ClusterState, KeyPositionsSpreadOverTheUnitInterval) {
  int low = 0;
  for (int i = 0; i < 1000; ++i) {
    const double p = sim::cluster_state::key_position("schsim:" + std::to_string(i));
    ASSERT_GE(p, 0.0);
    ASSERT_LT(p, 1.0);
    low += p < 0.5 ? 1 : 0;
  }
  EXPECT_GT(low, 400);  // about half below the middle: progress moves keys at an even pace
  EXPECT_LT(low, 600);
}

TEST(ClusterState, MigrationMovesKeysAsProgressAdvances) {
  auto c = three_nodes();
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < 200; ++i) {
    auto k = "k{" + std::to_string(i) + "}";
    if (c.owner(schsim::cluster::key_slot(k))->name == "node-a") {
      keys.push_back(std::move(k));
    }
  }
  c.begin_migration("node-a", "node-b", slot_set::of(0, 5460), t0, 10s);
  auto asked_at = [&](time_point now) {
    int asked = 0;
    for (const auto& k : keys) {
      const std::string_view key = k;
      const auto d =
          c.route("node-a", false, {&key, 1}, now, [](std::string_view) { return true; });
      asked += d.what == sim::route_decision::kind::ask ? 1 : 0;
    }
    return asked;
  };
  EXPECT_EQ(asked_at(t0), 0);
  const int halfway = asked_at(t0 + 5s);
  EXPECT_GT(halfway, 60);
  EXPECT_LT(halfway, 140);
  EXPECT_EQ(asked_at(t0 + 10s), 200);
  // Ownership only changes at completion.
  EXPECT_EQ(c.owner(0)->name, "node-a");
  c.complete_migration("node-a", "node-b", slot_set::of(0, 5460));
  EXPECT_EQ(c.owner(0)->name, "node-b");
  EXPECT_TRUE(c.migrations().empty());
}

TEST(ClusterCommands, KeyCommandsForAnotherNodesSlotAreMoved) {
  auto cluster = three_nodes();
  sim::keyspace data;
  node_connection a(cluster, data, "node-a", 1);
  EXPECT_EQ(a.run(get_foo, t0), "-MOVED 12182 127.0.0.1:7002\r\n");
  EXPECT_TRUE(a.outcomes.back().error);
  ASSERT_TRUE(a.outcomes.back().redirect);
  EXPECT_EQ(a.outcomes.back().redirect->target, "node-c");
  ASSERT_EQ(a.seen.size(), 1u);
  EXPECT_EQ(a.seen[0].what, tl::cluster_redirect::kind::moved);
  EXPECT_EQ(a.seen[0].slot, 12182);
  EXPECT_EQ(a.seen[0].address, "127.0.0.1:7002");
  EXPECT_EQ(a.seen[0].command, "GET");
  // Its own slot is served; keyless commands are served anywhere.
  EXPECT_EQ(a.run(get_hello, t0), "$-1\r\n");
  EXPECT_EQ(a.run("*1\r\n$4\r\nPING\r\n", t0), "+PONG\r\n");
  EXPECT_EQ(a.seen.size(), 1u);
}

TEST(ClusterCommands, KeysInDifferentSlotsAreCrossSlot) {
  auto cluster = three_nodes();
  sim::keyspace data;
  node_connection b(cluster, data, "node-b", 1);
  EXPECT_EQ(b.run("*3\r\n$4\r\nMGET\r\n$3\r\nbar\r\n$3\r\nfoo\r\n", t0),
            "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
  // The same hash tag means the same slot (5061, node-a's).
  node_connection a(cluster, data, "node-a", 2);
  EXPECT_EQ(a.run("*5\r\n$4\r\nMSET\r\n$6\r\n{bar}1\r\n$1\r\nx\r\n$6\r\n{bar}2\r\n$1\r\ny\r\n", t0),
            "+OK\r\n");
}

TEST(ClusterCommands, MigratingSlotAsksForMovedKeysAndMovedWithoutAsking) {
  auto cluster = three_nodes();
  sim::keyspace data;
  node_connection a(cluster, data, "node-a", 1);
  node_connection b(cluster, data, "node-b", 2);
  node_connection b2(cluster, data, "node-b", 3);
  cluster.begin_migration("node-a", "node-b", slot_set::of(866, 866), t0, 10s);

  // A missing key is always asked for.
  EXPECT_EQ(a.run(get_hello, t0), "-ASK 866 127.0.0.1:7001\r\n");
  ASSERT_TRUE(a.outcomes.back().redirect);
  EXPECT_EQ(a.outcomes.back().redirect->what, tl::cluster_redirect::kind::ask);
  // The importing node refuses it without ASKING, and the flag lasts one command.
  EXPECT_EQ(b.run(set_hello, t0), "-MOVED 866 127.0.0.1:7000\r\n");
  EXPECT_EQ(b.run(std::string(asking) + std::string(set_hello) + std::string(get_hello), t0),
            "+OK\r\n+OK\r\n-MOVED 866 127.0.0.1:7000\r\n");
  // Written through B: the key lives there now, so A keeps asking although it exists.
  EXPECT_EQ(a.run(get_hello, t0), "-ASK 866 127.0.0.1:7001\r\n");
  // ASKING is per connection.
  b.run(asking, t0);
  EXPECT_EQ(b2.run(get_hello, t0), "-MOVED 866 127.0.0.1:7000\r\n");
  EXPECT_EQ(b.run(get_hello, t0), "$5\r\nworld\r\n");

  // Once the migration completes, B owns the slot and A redirects for good.
  cluster.complete_migration("node-a", "node-b", slot_set::of(866, 866));
  EXPECT_EQ(a.run(get_hello, t0), "-MOVED 866 127.0.0.1:7001\r\n");
  EXPECT_EQ(b2.run(get_hello, t0), "$5\r\nworld\r\n");
}

TEST(ClusterCommands, KeyStillOnTheSourceIsServedThere) {
  auto cluster = three_nodes();
  sim::keyspace data;
  node_connection a(cluster, data, "node-a", 1);
  EXPECT_EQ(a.run(set_hello, t0), "+OK\r\n");
  cluster.begin_migration("node-a", "node-b", slot_set::of(866, 866), t0, 10s);
  EXPECT_EQ(a.run(get_hello, t0), "$5\r\nworld\r\n");
  // At full progress every key has gone.
  EXPECT_EQ(a.run(get_hello, t0 + 10s), "-ASK 866 127.0.0.1:7001\r\n");
}

TEST(ClusterCommands, ClusterSlotsRespTwoAndThree) {
  auto cluster = three_nodes();
  sim::keyspace data;
  node_connection a(cluster, data, "node-a", 1);
  const auto id_a = sim::cluster_state::node_id("node-a");
  const auto id_b = sim::cluster_state::node_id("node-b");
  const auto id_c = sim::cluster_state::node_id("node-c");
  const std::string resp2 =
      "*3\r\n"
      "*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$40\r\n" +
      id_a +
      "\r\n*0\r\n"
      "*3\r\n:5461\r\n:10922\r\n*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n$40\r\n" +
      id_b +
      "\r\n*0\r\n"
      "*3\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:7002\r\n$40\r\n" +
      id_c + "\r\n*0\r\n";
  EXPECT_EQ(a.run("*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n", t0), resp2);
  a.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", t0);
  cluster.complete_migration("node-a", "node-b", slot_set::of(866, 866));
  const std::string resp3 =
      "*5\r\n"
      "*3\r\n:0\r\n:865\r\n*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$40\r\n" +
      id_a +
      "\r\n%0\r\n"
      "*3\r\n:866\r\n:866\r\n*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n$40\r\n" +
      id_b +
      "\r\n%0\r\n"
      "*3\r\n:867\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$40\r\n" +
      id_a +
      "\r\n%0\r\n"
      "*3\r\n:5461\r\n:10922\r\n*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n$40\r\n" +
      id_b +
      "\r\n%0\r\n"
      "*3\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:7002\r\n$40\r\n" +
      id_c + "\r\n%0\r\n";
  EXPECT_EQ(a.run("*2\r\n$7\r\ncluster\r\n$5\r\nslots\r\n", t0), resp3);
}

TEST(ClusterCommands, KeyslotMyidInfoNodesShards) {
  auto cluster = three_nodes();
  sim::keyspace data;
  node_connection b(cluster, data, "node-b", 1);
  EXPECT_EQ(b.run("*3\r\n$7\r\nCLUSTER\r\n$7\r\nKEYSLOT\r\n$7\r\nsomekey\r\n", t0), ":11058\r\n");
  EXPECT_EQ(b.run("*2\r\n$7\r\nCLUSTER\r\n$4\r\nMYID\r\n", t0),
            "$40\r\n" + sim::cluster_state::node_id("node-b") + "\r\n");
  const auto info = b.run("*2\r\n$7\r\nCLUSTER\r\n$4\r\nINFO\r\n", t0);
  EXPECT_TRUE(info.starts_with("$")) << info;  // verbatim text is a bulk string in RESP2
  EXPECT_NE(info.find("\r\ncluster_state:ok\r\ncluster_slots_assigned:16384\r\n"),
            std::string::npos)
      << info;
  // The spare node is not a member until it owns slots.
  EXPECT_NE(info.find("cluster_known_nodes:3\r\ncluster_size:3\r\n"), std::string::npos) << info;
  const auto server_info = b.run("*2\r\n$4\r\nINFO\r\n$7\r\ncluster\r\n", t0);
  EXPECT_EQ(server_info, "$30\r\n# Cluster\r\ncluster_enabled:1\r\n\r\n");
  EXPECT_NE(b.run("*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n", t0).find("\r\nredis_mode:cluster\r\n"),
            std::string::npos);
  const auto nodes = b.run("*2\r\n$7\r\nCLUSTER\r\n$5\r\nNODES\r\n", t0);
  EXPECT_NE(nodes.find(sim::cluster_state::node_id("node-b") +
                       " 127.0.0.1:7001@17001 myself,master - 0 0 2 connected 5461-10922\n"),
            std::string::npos)
      << nodes;
  cluster.begin_migration("node-b", "node-d", slot_set::of(5461, 5462), t0, 1s);
  const auto migrating = b.run("*2\r\n$7\r\nCLUSTER\r\n$5\r\nNODES\r\n", t0);
  EXPECT_NE(
      migrating.find(" 5461-10922 [5461->-" + sim::cluster_state::node_id("node-d") + "] [5462->-"),
      std::string::npos)
      << migrating;
  EXPECT_NE(migrating.find("[5461-<-" + sim::cluster_state::node_id("node-b") + "]"),
            std::string::npos)
      << migrating;
  b.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", t0);
  const auto shards = b.run("*2\r\n$7\r\nCLUSTER\r\n$6\r\nSHARDS\r\n", t0);
  EXPECT_TRUE(
      shards.starts_with("*4\r\n%2\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n"
                         "*1\r\n%7\r\n$2\r\nid\r\n$40\r\n"))
      << shards;
}

TEST(ClusterCommands, ErrorsMatchRedis) {
  auto cluster = three_nodes();
  sim::keyspace data;
  node_connection a(cluster, data, "node-a", 1);
  EXPECT_EQ(a.run("*2\r\n$7\r\nCLUSTER\r\n$3\r\nFOO\r\n", t0),
            "-ERR unknown subcommand 'FOO'. Try CLUSTER HELP.\r\n");
  EXPECT_EQ(a.run("*2\r\n$7\r\nCLUSTER\r\n$7\r\nKEYSLOT\r\n", t0),
            "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n");
  EXPECT_EQ(a.run("*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n", t0),
            "-ERR SELECT is not allowed in cluster mode\r\n+OK\r\n");
  EXPECT_EQ(a.run("*1\r\n$8\r\nREADONLY\r\n*1\r\n$9\r\nREADWRITE\r\n", t0), "+OK\r\n+OK\r\n");
  // A slot handed to the spare is redirected there.
  cluster.complete_migration("node-c", "node-d", slot_set::of(12182, 12182));
  EXPECT_EQ(a.run(get_foo, t0), "-MOVED 12182 127.0.0.1:7003\r\n");
}

TEST(ClusterCommands, StandaloneEndpointHasClusterSupportDisabled) {
  sim::keyspace data;
  sim::endpoint_profile profile;
  sim::command_handler handler(data, profile);
  sim::session_state s;
  handler.init_session(s);
  resp3::parser parser{{}, resp3::inline_mode::accepted};
  parser.feed(
      "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n*1\r\n$8\r\nREADONLY\r\n*1\r\n$6\r\nASKING\r\n"
      "*1\r\n$9\r\nREADWRITE\r\n*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n");
  std::string out;
  std::vector<std::string_view> args;
  while (auto v = parser.next()) {
    ASSERT_EQ(sim::request_args(*v, args).kind, sim::request_kind::command);
    handler.execute(s, args, t0, out);
  }
  EXPECT_EQ(out,
            "-ERR This instance has cluster support disabled\r\n"
            "-ERR This instance has cluster support disabled\r\n"
            "-ERR This instance has cluster support disabled\r\n"
            "-ERR This instance has cluster support disabled\r\n"
            "$-1\r\n");
}

TEST(ClusterCommands, BareMaintNotificationsOnIsAccepted) {
  auto cluster = three_nodes();
  sim::keyspace data;
  node_connection a(cluster, data, "node-a", 1);
  const auto hello = a.run("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", t0);
  EXPECT_NE(hello.find("$4\r\nmode\r\n$7\r\ncluster\r\n"), std::string::npos) << hello;
  EXPECT_EQ(a.run("*3\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n", t0),
            "+OK\r\n");
  ASSERT_TRUE(a.outcomes.back().maint);
  EXPECT_TRUE(a.outcomes.back().maint->accepted);
  EXPECT_FALSE(a.outcomes.back().maint->endpoint_type);
  EXPECT_TRUE(a.s.maint_enabled);
}

}  // namespace
}  // namespace cluster_test
