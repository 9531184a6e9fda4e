#include <schsim/refclient/cluster.hpp>

#include <gtest/gtest.h>

#include "support/wire.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::cluster_test {
namespace {

using test::from_wire;
using namespace std::chrono_literals;

const address seed{"10.0.0.9", 7000};

auto parse_ok(std::string_view bytes) -> slot_map {
  auto r = parse_cluster_slots(from_wire(bytes), seed);
  if (const auto* e = std::get_if<cluster_slots_error>(&r)) {
    ADD_FAILURE() << e->message;
    return {};
  }
  return std::get<slot_map>(std::move(r));
}

auto parse_error(std::string_view bytes) -> std::string {
  auto r = parse_cluster_slots(from_wire(bytes), seed);
  if (std::holds_alternative<slot_map>(r)) {
    ADD_FAILURE() << "parsed, expected an error: " << bytes;
    return {};
  }
  return std::get<cluster_slots_error>(r).message;
}

// --- CLUSTER SLOTS ----------------------------------------------------------------------------

// RESP3 as Redis 7 sends it: each node is [host, port, id, {metadata map}].
TEST(ClusterSlots, Resp3ReplyWithMetadataMapGivesOwners) {
  const auto map = parse_ok(
      "*2\r\n"
      "*3\r\n:0\r\n:8191\r\n"
      "*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n$40\r\n0123456789012345678901234567890123456789\r\n"
      "%1\r\n$8\r\nhostname\r\n$6\r\nnode-a\r\n"
      "*3\r\n:8192\r\n:16383\r\n"
      "*4\r\n$9\r\n127.0.0.1\r\n:7002\r\n$40\r\nabcdefabcdefabcdefabcdefabcdefabcdefabcd\r\n%"
      "0\r\n");
  EXPECT_EQ(map.owner(0), (address{"127.0.0.1", 7001}));
  EXPECT_EQ(map.owner(8191), (address{"127.0.0.1", 7001}));
  EXPECT_EQ(map.owner(8192), (address{"127.0.0.1", 7002}));
  EXPECT_EQ(map.owner(16383), (address{"127.0.0.1", 7002}));
  EXPECT_EQ(map.covered(), 16384U);
  EXPECT_EQ(map.nodes(), (std::vector<address>{{"127.0.0.1", 7001}, {"127.0.0.1", 7002}}));
}

// RESP2: metadata is an array, replicas follow the master and are not routed to.
TEST(ClusterSlots, Resp2ReplyWithReplicasKeepsMastersOnly) {
  const auto map = parse_ok(
      "*2\r\n"
      "*4\r\n:0\r\n:99\r\n"
      "*3\r\n$8\r\n10.0.0.1\r\n:6379\r\n$3\r\naaa\r\n"
      "*3\r\n$8\r\n10.0.0.5\r\n:6379\r\n$3\r\nbbb\r\n"
      "*3\r\n:100\r\n:199\r\n"
      "*4\r\n$8\r\n10.0.0.2\r\n:6380\r\n$3\r\nccc\r\n*0\r\n");
  EXPECT_EQ(map.owner(42), (address{"10.0.0.1", 6379}));
  EXPECT_EQ(map.owner(150), (address{"10.0.0.2", 6380}));
  EXPECT_EQ(map.owner(200), std::nullopt) << "slots no row lists are unknown";
  EXPECT_EQ(map.covered(), 200U);
  EXPECT_EQ(map.nodes().size(), 2U) << "the replica 10.0.0.5 is not a routing target";
}

// An empty host, or "?", means "the node you asked" (cluster-preferred-endpoint-type).
TEST(ClusterSlots, EmptyOrUnknownHostIsTheQueriedNode) {
  const auto map = parse_ok(
      "*2\r\n"
      "*3\r\n:0\r\n:10\r\n*2\r\n$0\r\n\r\n:7001\r\n"
      "*3\r\n:11\r\n:20\r\n*2\r\n$1\r\n?\r\n:7002\r\n");
  EXPECT_EQ(map.owner(5), (address{"10.0.0.9", 7001}));
  EXPECT_EQ(map.owner(15), (address{"10.0.0.9", 7002}));
}

TEST(ClusterSlots, NodeIdIsOptional) {
  const auto map = parse_ok("*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\nlocalhost\r\n:7001\r\n");
  EXPECT_EQ(map.owner(16383), (address{"localhost", 7001}));
}

TEST(ClusterSlots, MalformedRepliesAreErrorsNotPartialMaps) {
  EXPECT_NE(parse_error("-ERR This instance has cluster support disabled\r\n")
                .find("cluster support disabled"),
            std::string::npos);
  EXPECT_NE(parse_error(":1\r\n").find("expected an array"), std::string::npos);
  EXPECT_NE(parse_error("*1\r\n*2\r\n:0\r\n:5\r\n").find("row 0"), std::string::npos);
  EXPECT_NE(parse_error("*1\r\n*3\r\n:9\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n").find("bad slot range"),
            std::string::npos);
  EXPECT_NE(
      parse_error("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n").find("bad slot range"),
      std::string::npos);
  EXPECT_NE(parse_error("*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:0\r\n").find("bad port"),
            std::string::npos);
  EXPECT_NE(parse_error("*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n:1\r\n:7000\r\n").find("bad host"),
            std::string::npos);
  EXPECT_NE(parse_error("*2\r\n"
                        "*3\r\n:0\r\n:10\r\n*2\r\n$1\r\na\r\n:1\r\n"
                        "*3\r\n:5\r\n:20\r\n*2\r\n$1\r\nb\r\n:2\r\n")
                .find("listed twice"),
            std::string::npos);
}

// --- slot map ---------------------------------------------------------------------------------

TEST(SlotMap, AssignMovesSlotsAndNodesWithoutSlotsDropOut) {
  slot_map map;
  const address a{"h", 1};
  const address b{"h", 2};
  map.assign(cluster::slot_set::of(0, 16383), a);
  map.assign(cluster::slot_set::of(100, 199), b);
  EXPECT_EQ(map.owner(99), a);
  EXPECT_EQ(map.owner(100), b);
  EXPECT_EQ(map.owner(200), a);
  EXPECT_EQ(map.slots_of(b).to_string(), "100-199");
  EXPECT_EQ(map.slots_of(a).to_string(), "0-99,200-16383");
  map.assign(std::uint16_t{5}, b);
  EXPECT_EQ(map.owner(5), b);
  map.assign(cluster::slot_set::of(0, 16383), b);
  EXPECT_EQ(map.nodes(), std::vector<address>{b}) << "a owns nothing: no longer a member";
  EXPECT_TRUE(map.slots_of(a).empty());
  EXPECT_EQ(map.owner(16384), std::nullopt);
}

// --- redirects --------------------------------------------------------------------------------

TEST(Redirect, MovedAndAskAreParsed) {
  const address from{"127.0.0.1", 7001};
  EXPECT_EQ(parse_redirect("MOVED 3999 127.0.0.1:6381", from),
            (redirect{redirect::kind::moved, 3999, {"127.0.0.1", 6381}}));
  EXPECT_EQ(parse_redirect("ASK 16383 10.1.2.3:7002", from),
            (redirect{redirect::kind::ask, 16383, {"10.1.2.3", 7002}}));
  EXPECT_EQ(parse_redirect("MOVED 0 [::1]:7003", from),
            (redirect{redirect::kind::moved, 0, {"::1", 7003}}));
}

TEST(Redirect, EmptyHostMeansTheAnsweringNodesHost) {
  EXPECT_EQ(parse_redirect("MOVED 12 :7005", address{"10.0.0.7", 7001}),
            (redirect{redirect::kind::moved, 12, {"10.0.0.7", 7005}}));
}

TEST(Redirect, OtherErrorsAndGarbageAreNotRedirects) {
  const address from{"h", 1};
  EXPECT_EQ(parse_redirect("ERR unknown command", from), std::nullopt);
  EXPECT_EQ(parse_redirect("CROSSSLOT Keys in request don't hash to the same slot", from),
            std::nullopt);
  EXPECT_EQ(parse_redirect("MOVED 16384 h:1", from), std::nullopt) << "slot out of range";
  EXPECT_EQ(parse_redirect("MOVED x h:1", from), std::nullopt);
  EXPECT_EQ(parse_redirect("MOVED 12", from), std::nullopt);
  EXPECT_EQ(parse_redirect("MOVED 12 h", from), std::nullopt) << "no port: refuse, never guess";
  EXPECT_EQ(parse_redirect("moved 12 h:1", from), std::nullopt) << "Redis spells it upper case";
}

TEST(Redirect, BoundedAndNeverSilent) {
  const address from{"h", 1};
  const redirect_step moved_once = follow_redirect{{redirect::kind::moved, 1, {"h", 2}}};
  const redirect_step asked_once = follow_redirect{{redirect::kind::ask, 1, {"h", 2}}};
  const redirect_step exhausted =
      redirects_exhausted{{error_class::server, "too many redirections (5), last: MOVED 1 h:2"}};
  const redirect_step passed_on = not_a_redirect{};
  EXPECT_EQ(next_redirect_step("ERR wrong", from, 0, 5), passed_on);
  EXPECT_EQ(next_redirect_step("MOVED 1 h:2", from, 4, 5), moved_once);
  EXPECT_EQ(next_redirect_step("ASK 1 h:2", from, 0, 5), asked_once);
  EXPECT_EQ(next_redirect_step("MOVED 1 h:2", from, 5, 5), exhausted);
  EXPECT_EQ(
      next_redirect_step("TRYAGAIN Multiple keys request during rehashing of slot", from, 9, 5),
      passed_on);
}

// --- routing ----------------------------------------------------------------------------------

auto args(std::initializer_list<std::string> a) -> std::vector<std::string> { return a; }

TEST(Routing, FirstKeyDecidesTheSlot) {
  // Values from Redis: CLUSTER KEYSLOT foo = 12182, CLUSTER KEYSLOT 123456789 = 12739.
  EXPECT_EQ(command_slot(args({"GET", "foo"})), 12182);
  EXPECT_EQ(command_slot(args({"incr", "123456789"})), 12739);
  EXPECT_EQ(command_slot(args({"SET", "foo", "bar"})), 12182);
  EXPECT_EQ(command_slot(args({"MGET", "foo", "other"})), 12182);
}

TEST(Routing, HashTagsPutKeysInOneSlot) {
  EXPECT_EQ(command_slot(args({"GET", "{user1000}.following"})),
            command_slot(args({"GET", "{user1000}.followers"})));
  EXPECT_EQ(command_slot(args({"GET", "{user1000}.following"})), cluster::key_slot("user1000"));
}

TEST(Routing, KeylessCommandsHaveNoSlot) {
  EXPECT_EQ(command_slot(args({"PING"})), std::nullopt);
  EXPECT_EQ(command_slot(args({"ping", "hello"})), std::nullopt);
  EXPECT_EQ(command_slot(args({"CLUSTER", "SLOTS"})), std::nullopt);
  EXPECT_EQ(command_slot(args({"CLIENT", "MAINT_NOTIFICATIONS", "ON"})), std::nullopt);
  EXPECT_EQ(command_slot(args({"INFO", "server"})), std::nullopt);
  EXPECT_EQ(command_slot(args({"HELLO", "3"})), std::nullopt);
  EXPECT_EQ(command_slot(std::vector<std::string>{}), std::nullopt);
}

TEST(Routing, ScriptsUseTheFirstKeyAfterNumkeys) {
  EXPECT_EQ(command_key(args({"EVAL", "return 1", "1", "foo", "arg"})), "foo");
  EXPECT_EQ(command_key(args({"evalsha", "abc", "2", "k1", "k2"})), "k1");
  EXPECT_EQ(command_key(args({"FCALL", "f", "0", "arg"})), std::nullopt);
  EXPECT_EQ(command_key(args({"EVAL", "return 1", "0"})), std::nullopt);
}

TEST(Routing, StreamsAndSubcommandsFindTheirKey) {
  EXPECT_EQ(command_key(args({"XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"})), "s1");
  EXPECT_EQ(command_key(args({"XREADGROUP", "GROUP", "g", "c", "streams", "s", ">"})), "s");
  EXPECT_EQ(command_key(args({"OBJECT", "ENCODING", "k"})), "k");
  EXPECT_EQ(command_key(args({"MEMORY", "USAGE", "k"})), "k");
}

// --- topology refresher -----------------------------------------------------------------------

const time_point t0{std::chrono::seconds{1000}};

auto smigrated(topology_refresher& r, std::int64_t seq, time_point now)
    -> std::pair<smigrated_verdict, std::vector<topology_action>> {
  std::vector<topology_action> actions;
  const auto v = r.on_smigrated(seq, now, actions);
  return {v, actions};
}

const std::vector<topology_action> none{};
auto start(int attempt) -> std::vector<topology_action> { return {start_reload{attempt}}; }

TEST(TopologyRefresher, NewSeqReloadsOnceAndCopiesAreDropped) {
  topology_refresher r;
  EXPECT_EQ(smigrated(r, 7, t0), std::pair(smigrated_verdict::reload, start(1)));
  EXPECT_TRUE(r.reloading());
  // Another node's copy, or a redelivery, while the reload runs: covered by it.
  EXPECT_EQ(smigrated(r, 7, t0 + 1ms), std::pair(smigrated_verdict::in_progress, none));
  EXPECT_EQ(r.on_reload_done(true, t0 + 5ms), none);
  EXPECT_FALSE(r.reloading());
  EXPECT_EQ(r.reloads(), 1U);
  EXPECT_EQ(smigrated(r, 7, t0 + 2s), std::pair(smigrated_verdict::duplicate, none));
  EXPECT_EQ(r.next_deadline(), std::nullopt);
}

// TTL, not forever: a restarted server numbers from scratch (documented in README).
TEST(TopologyRefresher, SeqIsForgottenAfterItsMemory) {
  topology_refresher r{topology_params{.seq_memory = 120s}};
  (void)smigrated(r, 3, t0);
  (void)r.on_reload_done(true, t0 + 10ms);
  EXPECT_EQ(smigrated(r, 3, t0 + 10ms + 119s).first, smigrated_verdict::duplicate);
  EXPECT_EQ(smigrated(r, 3, t0 + 10ms + 120s), std::pair(smigrated_verdict::reload, start(1)));
}

// Seqs are identities, never compared for order (sch-protocol.md §3.4).
TEST(TopologyRefresher, LowerSeqLaterIsStillNew) {
  topology_refresher r;
  (void)smigrated(r, 100, t0);
  (void)r.on_reload_done(true, t0 + 1ms);
  EXPECT_EQ(smigrated(r, 5, t0 + 1s).first, smigrated_verdict::reload);
}

// A reload in flight may have been answered before the change: one more follows, and any
// number of requests meanwhile coalesce into that one.
TEST(TopologyRefresher, RequestsDuringAReloadCoalesceIntoOneMore) {
  topology_refresher r;
  (void)smigrated(r, 1, t0);
  EXPECT_EQ(smigrated(r, 2, t0 + 1ms), std::pair(smigrated_verdict::reload, none));
  EXPECT_EQ(smigrated(r, 3, t0 + 2ms), std::pair(smigrated_verdict::reload, none));
  EXPECT_EQ(r.on_moved(t0 + 3ms), none);
  EXPECT_EQ(smigrated(r, 2, t0 + 4ms).first, smigrated_verdict::in_progress);
  // SMIGRATED-triggered: no cooldown.
  EXPECT_EQ(r.on_reload_done(true, t0 + 10ms), start(1));
  EXPECT_EQ(smigrated(r, 1, t0 + 11ms).first, smigrated_verdict::duplicate);
  EXPECT_EQ(smigrated(r, 3, t0 + 11ms).first, smigrated_verdict::in_progress);
  EXPECT_EQ(r.on_reload_done(true, t0 + 20ms), none);
  EXPECT_EQ(r.reloads(), 2U);
  EXPECT_EQ(smigrated(r, 3, t0 + 21ms).first, smigrated_verdict::duplicate);
}

// -MOVED storms: the first reloads at once, then at most one per cooldown.
TEST(TopologyRefresher, MovedReloadsRespectTheCooldown) {
  topology_refresher r{topology_params{.cooldown = 200ms}};
  EXPECT_EQ(r.on_moved(t0), start(1));
  EXPECT_EQ(r.on_moved(t0 + 1ms), none);
  EXPECT_EQ(r.on_reload_done(true, t0 + 10ms), none) << "MOVED-only dirty waits for the cooldown";
  EXPECT_EQ(r.next_deadline(), t0 + 210ms);
  EXPECT_EQ(r.on_moved(t0 + 50ms), none);
  EXPECT_EQ(r.on_timer(t0 + 100ms), none) << "spurious early timer";
  EXPECT_EQ(r.on_timer(t0 + 210ms), start(1));
  EXPECT_EQ(r.next_deadline(), std::nullopt);
  EXPECT_EQ(r.on_reload_done(true, t0 + 220ms), none);
  EXPECT_EQ(r.on_moved(t0 + 500ms), start(1)) << "cooldown over: at once";
}

TEST(TopologyRefresher, SmigratedSkipsAPendingCooldown) {
  topology_refresher r{topology_params{.cooldown = 200ms}};
  (void)r.on_moved(t0);
  (void)r.on_reload_done(true, t0 + 10ms);
  EXPECT_EQ(r.on_moved(t0 + 20ms), none);
  ASSERT_TRUE(r.next_deadline().has_value());
  EXPECT_EQ(smigrated(r, 9, t0 + 30ms), std::pair(smigrated_verdict::reload, start(1)));
  EXPECT_EQ(r.next_deadline(), std::nullopt);
}

TEST(TopologyRefresher, FailedReloadRetriesThenGivesUpAndARedeliveryRetries) {
  topology_refresher r{topology_params{.retry_delay = 100ms, .max_attempts = 3}};
  (void)smigrated(r, 4, t0);
  EXPECT_EQ(r.on_reload_done(false, t0 + 5ms), none);
  EXPECT_EQ(r.next_deadline(), t0 + 105ms);
  EXPECT_EQ(smigrated(r, 4, t0 + 50ms).first, smigrated_verdict::in_progress)
      << "a retry is coming";
  EXPECT_EQ(r.on_timer(t0 + 105ms), start(2));
  EXPECT_EQ(r.on_reload_done(false, t0 + 110ms), none);
  EXPECT_EQ(r.on_timer(t0 + 210ms), start(3));
  EXPECT_EQ(r.on_reload_done(false, t0 + 215ms),
            (std::vector<topology_action>{reload_gave_up{{4}}}));
  EXPECT_FALSE(r.reloading());
  EXPECT_EQ(r.next_deadline(), std::nullopt);
  // redis-py releases the in-progress mark on failure so that a redelivery can retry.
  EXPECT_EQ(smigrated(r, 4, t0 + 1s), std::pair(smigrated_verdict::reload, start(1)));
}

TEST(TopologyRefresher, SuccessAfterARetryMarksTheSeqHandled) {
  topology_refresher r;
  (void)smigrated(r, 8, t0);
  (void)r.on_reload_done(false, t0 + 1ms);
  (void)r.on_timer(*r.next_deadline());
  EXPECT_EQ(r.on_reload_done(true, t0 + 300ms), none);
  EXPECT_EQ(smigrated(r, 8, t0 + 400ms).first, smigrated_verdict::duplicate);
}

TEST(TopologyRefresher, StaleDoneIsIgnored) {
  topology_refresher r;
  EXPECT_EQ(r.on_reload_done(true, t0), none);
  EXPECT_EQ(r.reloads(), 0U);
}

}  // namespace
}  // namespace schsim::refclient::cluster_test
