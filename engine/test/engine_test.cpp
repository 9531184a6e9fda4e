// The scenario engine, stepped with a manual clock: no sleeps, no sockets.
#include <schsim/engine/engine.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <string>
#include <vector>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace engine_test {
namespace {

namespace sc = schsim::scenario;
namespace maint = schsim::maint;
namespace tl = schsim::timeline;
using schsim::time_point;
using schsim::engine::action;
using schsim::engine::finished;
using schsim::engine::perform;
using schsim::engine::scenario_engine;
using schsim::engine::wait_until;
using namespace std::chrono_literals;

const time_point t0 = time_point{} + 1000s;

auto base() -> sc::scenario {
  sc::scenario s;
  s.meta.id = "t";
  s.meta.title = "t";
  s.duration = 10s;
  s.seq_start = 100;
  s.topo.start = "node-a";
  s.topo.endpoints.push_back(sc::endpoint{.name = "node-a"});
  s.topo.endpoints.push_back(sc::endpoint{.name = "node-b", .fqdn = "localhost"});
  return s;
}

auto addresses() -> std::vector<schsim::engine::endpoint_address> {
  return {{"node-a", "127.0.0.1", "", 7000}, {"node-b", "127.0.0.1", "localhost", 7001}};
}

void add(sc::scenario& s, std::string id, sc::trigger t, sc::action a) {
  const auto origin = s.steps.size();
  s.steps.push_back(sc::step{std::move(id), std::move(t), std::move(a), origin});
}

auto send(maint::notification n, sc::target to = {}) -> sc::send_action {
  sc::send_action a;
  a.notification = std::move(n);
  a.to = std::move(to);
  return a;
}

auto on(const std::string& endpoint) -> sc::target {
  sc::target t;
  t.scope = sc::target_scope::endpoint;
  t.endpoint = endpoint;
  return t;
}

// Events as the simulator records them.
auto opened(std::uint64_t conn, std::string endpoint, time_point at) -> tl::event {
  return {schsim::to_ns(at), std::move(endpoint), conn, tl::connection_opened{"127.0.0.1:1"}};
}
auto handshake(std::uint64_t conn, std::string endpoint, time_point at,
               std::optional<std::string> type = "internal-ip") -> tl::event {
  return {schsim::to_ns(at), std::move(endpoint), conn,
          tl::maint_handshake{true, std::move(type), true, "OK", 3}};
}
auto command(std::uint64_t conn, std::string endpoint, time_point at, std::string name)
    -> tl::event {
  return {schsim::to_ns(at), std::move(endpoint), conn, tl::command_received{0, {name, "k"}}};
}
auto closed(std::uint64_t conn, std::string endpoint, time_point at) -> tl::event {
  return {schsim::to_ns(at), std::move(endpoint), conn, tl::connection_closed{}};
}
// A connection that opened and opted in at `at`.
auto joined(std::uint64_t conn, std::string endpoint, time_point at,
            std::optional<std::string> type = "internal-ip") -> std::vector<tl::event> {
  return {opened(conn, endpoint, at), handshake(conn, endpoint, at, std::move(type))};
}

struct outcome {
  std::vector<perform> performed;
  action last;
};

auto step(scenario_engine& e, time_point now, std::vector<tl::event> events = {}) -> outcome {
  auto actions = e.next(now, events);
  EXPECT_FALSE(actions.empty());
  outcome o{{}, actions.back()};
  actions.pop_back();
  for (auto& a : actions) {
    EXPECT_TRUE(std::holds_alternative<perform>(a)) << "only the last action may wait or finish";
    o.performed.push_back(std::get<perform>(std::move(a)));
  }
  return o;
}

auto waits_until(const outcome& o) -> time_point {
  EXPECT_TRUE(std::holds_alternative<wait_until>(o.last)) << o.last;
  return std::holds_alternative<wait_until>(o.last) ? std::get<wait_until>(o.last).deadline
                                                    : time_point{};
}

auto pushes(const perform& p) -> const std::vector<schsim::engine::delivery>& {
  return std::get<schsim::engine::push_command>(p.what).deliveries;
}

class Engine : public testing::Test {
 protected:
  std::mt19937_64 rng_{42};
};

TEST_F(Engine, AtStepsAreDueAtStartPlusOffset) {
  auto s = base();
  add(s, "up", sc::at_time{1s}, sc::accept_action{"node-b", sc::endpoint_state::up});
  add(s, "down", sc::at_time{2s}, sc::accept_action{"node-b", sc::endpoint_state::down});
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto o = step(e, t0);
  EXPECT_TRUE(o.performed.empty());
  EXPECT_EQ(waits_until(o), t0 + 1s);

  o = step(e, t0 + 1s + 3ms);  // the driver woke up 3 ms late
  ASSERT_EQ(o.performed.size(), 1u);
  EXPECT_EQ(o.performed[0].step, "up");
  EXPECT_EQ(o.performed[0].action, "accept");
  EXPECT_EQ(o.performed[0].scheduled, t0 + 1s);
  const auto& cmd = std::get<schsim::engine::accept_command>(o.performed[0].what);
  EXPECT_EQ(cmd.endpoint, "node-b");
  EXPECT_EQ(cmd.state, sc::endpoint_state::up);
  EXPECT_EQ(waits_until(o), t0 + 2s);
}

TEST_F(Engine, AfterChainsDoNotAccumulateLateness) {
  auto s = base();
  add(s, "a", sc::at_time{1s}, sc::stall_action{"node-a", {}});
  add(s, "b", sc::after_step{"a", 500ms}, sc::release_action{"node-a"});
  add(s, "c", sc::after_step{"b", 500ms}, sc::release_action{"node-a"});
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto o = step(e, t0 + 1200ms);  // 200 ms late
  ASSERT_EQ(o.performed.size(), 1u);
  EXPECT_EQ(waits_until(o), t0 + 1500ms) << "b is due 500 ms after a was scheduled, not run";
  o = step(e, t0 + 2s);  // b and c both due: run in order
  ASSERT_EQ(o.performed.size(), 2u);
  EXPECT_EQ(o.performed[0].step, "b");
  EXPECT_EQ(o.performed[0].scheduled, t0 + 1500ms);
  EXPECT_EQ(o.performed[1].step, "c");
  EXPECT_EQ(o.performed[1].scheduled, t0 + 2s);
  EXPECT_TRUE(e.all_steps_done());
  EXPECT_EQ(waits_until(o), t0 + 10s) << "then only the end of the scenario is left";
}

TEST_F(Engine, WhenHandshakesWaitsForObservedState) {
  auto s = base();
  add(s, "go", sc::when_observed{sc::observed_counter::handshakes, 2, "", 500ms},
      sc::release_action{"node-a"});
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  EXPECT_EQ(waits_until(step(e, t0)), t0 + 10s);
  auto o = step(e, t0 + 1s, joined(1, "node-a", t0 + 900ms));
  EXPECT_TRUE(o.performed.empty());
  EXPECT_EQ(waits_until(o), t0 + 10s);
  o = step(e, t0 + 3s, joined(2, "node-b", t0 + 2900ms));
  EXPECT_TRUE(o.performed.empty());
  EXPECT_EQ(waits_until(o), t0 + 3400ms) << "scheduled from the event's own stamp";
  o = step(e, t0 + 3400ms);
  ASSERT_EQ(o.performed.size(), 1u);
  EXPECT_EQ(o.performed[0].scheduled, t0 + 3400ms);
}

TEST_F(Engine, WhenCountsPerEndpointAndSkipsSetupCommands) {
  auto s = base();
  add(s, "go", sc::when_observed{sc::observed_counter::commands, 2, "node-b", 0ms},
      sc::release_action{"node-a"});
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto o = step(e, t0 + 1s,
                {command(1, "node-b", t0 + 1ms, "HELLO"), command(1, "node-b", t0 + 2ms, "client"),
                 command(1, "node-b", t0 + 3ms, "auth"), command(2, "node-a", t0 + 4ms, "SET"),
                 command(1, "node-b", t0 + 5ms, "GET")});
  EXPECT_TRUE(o.performed.empty());
  o = step(e, t0 + 1s, {command(1, "node-b", t0 + 6ms, "incr")});
  ASSERT_EQ(o.performed.size(), 1u);
  EXPECT_EQ(o.performed[0].scheduled, t0 + 6ms);
  EXPECT_TRUE(schsim::engine::counts_as_command({"ping"}));
  EXPECT_FALSE(schsim::engine::counts_as_command({"Select", "1"}));
}

TEST_F(Engine, AdoptedConnectionsCountAtStart) {
  auto s = base();
  add(s, "go", sc::when_observed{sc::observed_counter::handshakes, 1, "", 200ms},
      sc::release_action{"node-a"});
  scenario_engine e(s, addresses(), rng_);
  e.adopt({7, "node-a", t0 - 5s, true, "internal-ip"});
  e.start(t0);
  EXPECT_EQ(waits_until(step(e, t0)), t0 + 200ms);
  EXPECT_EQ(e.connections().at(7).ordinal, 1u);
}

TEST_F(Engine, MovingGoesToOptedInConnectionsInTheFormEachAskedFor) {
  auto s = base();
  add(s, "m", sc::at_time{1s},
      send(maint::moving{.time_s = 4, .endpoint = "node-b"}, on("node-a")));
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  std::vector<tl::event> ev;
  for (auto x : joined(1, "node-a", t0, "internal-ip")) ev.push_back(x);
  for (auto x : joined(2, "node-a", t0, "none")) ev.push_back(x);
  for (auto x : joined(3, "node-a", t0, "external-fqdn")) ev.push_back(x);
  ev.push_back(opened(4, "node-a", t0));                   // never opted in
  for (auto x : joined(5, "node-b", t0)) ev.push_back(x);  // other endpoint
  auto o = step(e, t0 + 1s, ev);
  ASSERT_EQ(o.performed.size(), 1u);
  const auto& d = pushes(o.performed[0]);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], (schsim::engine::delivery{1, maint::moving{100, 4, "127.0.0.1:7001"}}));
  EXPECT_EQ(d[1], (schsim::engine::delivery{2, maint::moving{100, 4, std::nullopt}}));
  EXPECT_EQ(d[2], (schsim::engine::delivery{3, maint::moving{100, 4, "localhost:7001"}}));
  EXPECT_EQ(o.performed[0].detail, "MOVING seq=100 time=4 to 3 connections, replayed to new ones");
}

TEST_F(Engine, AutomaticSeqsIncreasePerNotificationNotPerConnection) {
  auto s = base();
  add(s, "a", sc::at_time{1s}, send(maint::migrating{.time_s = 1, .shard_ids = {"1"}}));
  add(s, "b", sc::at_time{2s}, send(maint::migrated{}));
  auto explicit_seq = send(maint::failing_over{.time_s = 1, .shard_ids = {"1"}});
  explicit_seq.seq = 5;
  add(s, "c", sc::at_time{3s}, explicit_seq);
  add(s, "d", sc::at_time{4s}, send(maint::failed_over{}));
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto ev = joined(1, "node-a", t0);
  for (auto x : joined(2, "node-a", t0)) ev.push_back(x);
  auto o = step(e, t0 + 5s, ev);
  ASSERT_EQ(o.performed.size(), 4u);
  std::vector<std::int64_t> seqs;
  for (const auto& p : o.performed) {
    for (const auto& d : pushes(p)) {
      seqs.push_back(maint::seq_of(d.notification));
    }
  }
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{100, 100, 101, 101, 5, 5, 102, 102}));
}

TEST_F(Engine, SeqBaseIsDrawnFromTheSeed) {
  auto s = base();
  s.seq_start.reset();
  std::mt19937_64 a{7};
  std::mt19937_64 b{7};
  std::mt19937_64 c{8};
  const scenario_engine ea(s, addresses(), a);
  const scenario_engine eb(s, addresses(), b);
  const scenario_engine ec(s, addresses(), c);
  EXPECT_EQ(ea.next_seq(), eb.next_seq());
  EXPECT_NE(ea.next_seq(), ec.next_seq());
  EXPECT_GE(ea.next_seq(), 1000);
}

TEST_F(Engine, ActiveMovingIsReplayedWithTheRemainingTime) {
  auto s = base();
  add(s, "m", sc::at_time{1s},
      send(maint::moving{.time_s = 4, .endpoint = "node-b"}, on("node-a")));
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto o = step(e, t0 + 1s, joined(1, "node-a", t0));
  ASSERT_EQ(pushes(o.performed.at(0)).size(), 1u);

  // 1.5 s into the 4 s grace: 2.5 s left, announced as 2.
  o = step(e, t0 + 2500ms + 1ms, joined(2, "node-a", t0 + 2500ms));
  ASSERT_EQ(o.performed.size(), 1u);
  const auto& p = o.performed[0];
  EXPECT_EQ(p.step, "m#replay");
  EXPECT_EQ(p.action, "replay");
  EXPECT_EQ(p.scheduled, t0 + 2500ms);
  EXPECT_TRUE(std::get<schsim::engine::push_command>(p.what).replay);
  EXPECT_EQ(pushes(p).at(0),
            (schsim::engine::delivery{2, maint::moving{100, 2, "127.0.0.1:7001"}}));

  // Not on the endpoint being moved to.
  o = step(e, t0 + 3s, joined(3, "node-b", t0 + 3s));
  EXPECT_TRUE(o.performed.empty());
  // Not after the grace.
  o = step(e, t0 + 5s, joined(4, "node-a", t0 + 5s));
  EXPECT_TRUE(o.performed.empty());
}

TEST_F(Engine, MovingSentToAllIsNeverReplayedOnItsTarget) {
  // Sent to every connection (no endpoint scope): a real server announces nothing on the node
  // traffic moves to, so a handoff connection there must not be told to move to itself.
  for (const std::string target : {"node-b", "127.0.0.1:7001", "localhost:7001"}) {
    SCOPED_TRACE(target);
    auto s = base();
    add(s, "m", sc::at_time{1s}, send(maint::moving{.time_s = 4, .endpoint = target}));
    scenario_engine e(s, addresses(), rng_);
    e.start(t0);
    auto o = step(e, t0 + 1s, joined(1, "node-a", t0));
    ASSERT_EQ(pushes(o.performed.at(0)).size(), 1u);
    o = step(e, t0 + 1500ms, joined(2, "node-b", t0 + 1500ms));
    EXPECT_TRUE(o.performed.empty()) << o.performed.at(0).detail;
    // A late joiner on the old endpoint still gets it.
    o = step(e, t0 + 2s, joined(3, "node-a", t0 + 2s));
    ASSERT_EQ(o.performed.size(), 1u);
    EXPECT_EQ(pushes(o.performed[0]).at(0).conn, 3u);
  }
}

TEST_F(Engine, NullEndpointMovingIsReplayedOnlyUntilHalfTheGrace) {
  auto s = base();
  add(s, "m", sc::at_time{1s},
      send(maint::moving{.time_s = 4, .endpoint = std::nullopt}, on("node-a")));
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  step(e, t0 + 1s, joined(1, "node-a", t0, "none"));

  // Before time/2 a new connection still reaches the old node: it hears the MOVING.
  auto o = step(e, t0 + 2500ms, joined(2, "node-a", t0 + 2500ms, "none"));
  ASSERT_EQ(o.performed.size(), 1u);
  EXPECT_EQ(pushes(o.performed[0]).at(0),
            (schsim::engine::delivery{2, maint::moving{100, 2, std::nullopt}}));
  // From time/2 on, the address reaches the new node: a client that came back as told must not
  // be sent round again.
  o = step(e, t0 + 3s, joined(3, "node-a", t0 + 3s, "none"));
  EXPECT_TRUE(o.performed.empty());
}

TEST_F(Engine, ClosingNotificationEndsTheReplay) {
  auto s = base();
  add(s, "open", sc::at_time{1s},
      send(maint::migrating{.time_s = 2, .shard_ids = {"1"}}, on("node-a")));
  add(s, "close", sc::at_time{3s}, send(maint::migrated{}, on("node-a")));
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  step(e, t0 + 1s);
  auto o = step(e, t0 + 2s, joined(1, "node-a", t0 + 2s));
  ASSERT_EQ(o.performed.size(), 1u);
  EXPECT_EQ(maint::time_of(pushes(o.performed[0]).at(0).notification), 1);
  step(e, t0 + 3s);
  o = step(e, t0 + 4s, joined(2, "node-a", t0 + 4s));
  EXPECT_TRUE(o.performed.empty());
}

TEST_F(Engine, NewConnectionsOnlyAndClearActive) {
  auto s = base();
  sc::target later;
  later.scope = sc::target_scope::new_connections;
  add(s, "n", sc::at_time{1s}, send(maint::failing_over{.time_s = 9, .shard_ids = {"1"}}, later));
  add(s, "clear", sc::at_time{3s}, sc::clear_active_action{});
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto o = step(e, t0 + 1s, joined(1, "node-a", t0));
  ASSERT_EQ(o.performed.size(), 1u);
  EXPECT_TRUE(pushes(o.performed[0]).empty()) << "nobody now";
  o = step(e, t0 + 2s, joined(2, "node-b", t0 + 2s));
  ASSERT_EQ(o.performed.size(), 1u);
  EXPECT_EQ(pushes(o.performed[0]).at(0).conn, 2u);
  o = step(e, t0 + 3s);
  EXPECT_EQ(o.performed.at(0).action, "clear_active");
  o = step(e, t0 + 4s, joined(3, "node-a", t0 + 4s));
  EXPECT_TRUE(o.performed.empty());
}

TEST_F(Engine, TargetsPickConnections) {
  auto s = base();
  sc::target second;
  second.scope = sc::target_scope::connection;
  second.ordinal = 2;
  second.filter = sc::opt_in_filter::any;
  sc::target last = second;
  last.pick = sc::connection_pick::last;
  sc::target second_on_b = second;
  second_on_b.endpoint = "node-b";
  sc::target random = second;
  random.pick = sc::connection_pick::random;
  add(s, "a", sc::at_time{1s}, sc::close_action{second, sc::close_mode::rst, {}, {}});
  add(s, "b", sc::at_time{1s}, sc::close_action{last, {}, {}, {}});
  add(s, "c", sc::at_time{1s}, sc::close_action{second_on_b, {}, sc::close_point::mid_frame, {}});
  add(s, "d", sc::at_time{1s}, sc::raw_action{"x", random});
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto o = step(e, t0 + 1s,
                {opened(10, "node-a", t0), opened(11, "node-b", t0), opened(12, "node-a", t0),
                 opened(13, "node-b", t0), opened(14, "node-a", t0), closed(14, "node-a", t0)});
  ASSERT_EQ(o.performed.size(), 4u);
  auto conns = [&](std::size_t i) {
    const auto& w = o.performed[i].what;
    if (const auto* c = std::get_if<schsim::engine::close_command>(&w)) {
      return c->connections;
    }
    return std::get<schsim::engine::raw_command>(w).connections;
  };
  EXPECT_EQ(conns(0), (std::vector<std::uint64_t>{11}));
  EXPECT_EQ(conns(1), (std::vector<std::uint64_t>{13})) << "14 is closed";
  EXPECT_EQ(conns(2), (std::vector<std::uint64_t>{13}));
  EXPECT_EQ(o.performed[0].detail, "rst between_frames on 1 connection");
  EXPECT_EQ(std::get<schsim::engine::close_command>(o.performed[0].what).reason, "scenario step a");
  ASSERT_EQ(conns(3).size(), 1u);
  EXPECT_NE(conns(3)[0], 14u);

  // The same seed picks the same connection.
  std::mt19937_64 again{42};
  scenario_engine e2(s, addresses(), again);
  e2.start(t0);
  auto o2 = step(e2, t0 + 1s,
                 {opened(10, "node-a", t0), opened(11, "node-b", t0), opened(12, "node-a", t0),
                  opened(13, "node-b", t0), opened(14, "node-a", t0), closed(14, "node-a", t0)});
  EXPECT_EQ(std::get<schsim::engine::raw_command>(o2.performed[3].what).connections, conns(3));
}

TEST_F(Engine, OpenedBeforeSparesLaterConnections) {
  auto s = base();
  s.topo.endpoints.pop_back();
  add(s, "m", sc::at_time{1s},
      sc::moving_lifecycle_action{.from = "node-a", .to = std::nullopt, .time_s = 2});
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto o = step(e, t0 + 1s, joined(1, "node-a", t0));
  ASSERT_EQ(o.performed.size(), 1u);
  EXPECT_FALSE(std::get<maint::moving>(pushes(o.performed[0]).at(0).notification).endpoint);
  EXPECT_EQ(waits_until(o), t0 + 3s);
  // Reconnected after time/2: no replay (that would loop it), and spared by the close.
  o = step(e, t0 + 3s, joined(2, "node-a", t0 + 2s));
  ASSERT_EQ(o.performed.size(), 1u) << "only the close";
  EXPECT_EQ(o.performed[0].step, "m.close");
  EXPECT_EQ(std::get<schsim::engine::close_command>(o.performed[0].what).connections,
            (std::vector<std::uint64_t>{1}));
}

TEST_F(Engine, MovingLifecycleRunsOnSchedule) {
  auto s = base();
  s.topo.endpoints[1].initial_state = sc::endpoint_state::down;
  add(s, "m", sc::when_observed{sc::observed_counter::handshakes, 1, "", 500ms},
      sc::moving_lifecycle_action{
          .from = "node-a", .to = "node-b", .time_s = 3, .late_close = 1600ms});
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto o = step(e, t0 + 100ms, joined(1, "node-a", t0 + 100ms));
  EXPECT_EQ(waits_until(o), t0 + 600ms);
  o = step(e, t0 + 600ms);
  ASSERT_EQ(o.performed.size(), 2u);
  EXPECT_EQ(o.performed[0].step, "m.up");
  EXPECT_EQ(o.performed[1].step, "m");
  EXPECT_EQ(waits_until(o), t0 + 600ms + 4600ms);
  o = step(e, t0 + 5200ms, joined(2, "node-b", t0 + 700ms));
  ASSERT_EQ(o.performed.size(), 1u);
  EXPECT_EQ(o.performed[0].step, "m.close");
  EXPECT_EQ(std::get<schsim::engine::close_command>(o.performed[0].what).connections,
            (std::vector<std::uint64_t>{1}));
  EXPECT_TRUE(e.all_steps_done());
}

TEST_F(Engine, SmigratedEntriesGetAddresses) {
  auto s = base();
  add(s, "x", sc::at_time{0ms},
      send(maint::smigrated{.entries = {{"node-a", "node-b", {{0, 8191}}},
                                        {"10.0.0.1:1", "node-b", {{8192, 8192}}}}}));
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  auto o = step(e, t0, joined(1, "node-a", t0 - 1ms, "none"));
  const auto& sm = std::get<maint::smigrated>(pushes(o.performed.at(0)).at(0).notification);
  EXPECT_EQ(sm.entries[0].source, "127.0.0.1:7000");
  EXPECT_EQ(sm.entries[0].destination, "127.0.0.1:7001") << "ip:port even for type none";
  EXPECT_EQ(sm.entries[1].source, "10.0.0.1:1");
}

TEST_F(Engine, FinishesAtTheEndAndNamesStepsThatNeverRan) {
  auto s = base();
  s.duration = 2s;
  add(s, "a", sc::at_time{1s}, sc::release_action{"node-a"});
  add(s, "never", sc::when_observed{sc::observed_counter::connections, 5, "", 0ms},
      sc::release_action{"node-a"});
  scenario_engine e(s, addresses(), rng_);
  e.start(t0);
  EXPECT_EQ(waits_until(step(e, t0 + 1s)), t0 + 2s);
  const auto o = step(e, t0 + 2s);
  ASSERT_TRUE(std::holds_alternative<finished>(o.last));
  EXPECT_EQ(std::get<finished>(o.last).error, "steps never ran before the scenario ended: never");

  auto ok = base();
  ok.duration = 1s;
  scenario_engine e2(ok, addresses(), rng_);
  e2.start(t0);
  const auto o2 = step(e2, t0 + 1s);
  ASSERT_TRUE(std::holds_alternative<finished>(o2.last));
  EXPECT_EQ(std::get<finished>(o2.last).error, "");
}

TEST_F(Engine, CompositesAreExpandedAndWindowsSplit) {
  auto s = base();
  add(s, "l", sc::at_time{1s}, sc::latency_action{"node-a", 300ms, 1s});
  scenario_engine e(s, addresses(), rng_);
  ASSERT_EQ(e.steps().size(), 2u);
  e.start(t0);
  auto o = step(e, t0 + 1s);
  EXPECT_EQ(std::get<schsim::engine::latency_command>(o.performed.at(0).what).delay, 300ms);
  o = step(e, t0 + 2s);
  EXPECT_EQ(o.performed.at(0).step, "l.end");
  EXPECT_EQ(std::get<schsim::engine::latency_command>(o.performed.at(0).what).delay, 0ms);
}

}  // namespace

// Steps added to a running timeline (the control API's fault-injector actions).
namespace {

TEST(EngineAddSteps, AtStepsAreDueFromNowAndAfterStepsFollowThem) {
  std::mt19937_64 rng{7};
  scenario_engine e(base(), addresses(), rng);
  e.start(t0);
  EXPECT_EQ(waits_until(step(e, t0)), t0 + 10s);
  const auto now = t0 + 3s;
  std::vector<sc::step> added;
  added.push_back(
      sc::step{"fi-1", sc::at_time{}, send(maint::migrating{.time_s = 5}, on("node-a")), 0});
  added.push_back(sc::step{"fi-1.end", sc::after_step{"fi-1", 500ms},
                           send(maint::migrated{}, on("node-a")), 0});
  e.add_steps(std::move(added), now);
  auto first = step(e, now);
  ASSERT_EQ(first.performed.size(), 1U);
  EXPECT_EQ(first.performed[0].step, "fi-1");
  EXPECT_EQ(first.performed[0].scheduled, now);
  EXPECT_EQ(waits_until(first), now + 500ms);
  auto second = step(e, now + 500ms);
  ASSERT_EQ(second.performed.size(), 1U);
  EXPECT_EQ(second.performed[0].step, "fi-1.end");
  EXPECT_TRUE(e.all_steps_done());
}

TEST(EngineAddSteps, RefusesDuplicatesCompositesCountersAndUnknownReferences) {
  std::mt19937_64 rng{7};
  scenario_engine e(base(), addresses(), rng);
  e.start(t0);
  auto one = [](std::string id, sc::trigger t, sc::action a) {
    std::vector<sc::step> v;
    v.push_back(sc::step{std::move(id), std::move(t), std::move(a), 0});
    return v;
  };
  e.add_steps(one("x", sc::at_time{}, send(maint::migrated{}, on("node-a"))), t0);
  EXPECT_THROW(e.add_steps(one("x", sc::at_time{}, send(maint::migrated{})), t0),
               std::invalid_argument);
  EXPECT_THROW(e.add_steps(one("y", sc::at_time{}, sc::failover_action{.endpoint = "node-a"}), t0),
               std::invalid_argument);
  EXPECT_THROW(e.add_steps(one("z", sc::when_observed{}, send(maint::migrated{})), t0),
               std::invalid_argument);
  EXPECT_THROW(e.add_steps(one("w", sc::after_step{"nope", 0ms}, send(maint::migrated{})), t0),
               std::invalid_argument);
  EXPECT_EQ(e.steps().size(), 1U);
}

}  // namespace
}  // namespace engine_test
