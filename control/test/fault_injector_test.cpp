// The mapping from each fault-injector action to scenario steps (control-apis.md §1.2, §4.A).
#include <schsim/control/fault_injector.hpp>

#include <gtest/gtest.h>

#include <algorithm>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::control::fault_injector_test {
namespace {

namespace sc = schsim::scenario;
using json = nlohmann::json;
using schsim::cluster::slot_set;
using std::chrono::milliseconds;

auto standalone() -> deployment {
  deployment d;
  d.scenario_id = "fi-test";
  d.start = "node-a";
  d.endpoints = {served_endpoint{.name = "node-a", .host = "127.0.0.1", .port = 7001},
                 served_endpoint{.name = "node-b", .host = "127.0.0.2", .port = 7001}};
  return d;
}

auto cluster() -> deployment {
  deployment d;
  d.scenario_id = "cluster-test";
  d.cluster = true;
  d.start = "node-a";
  d.endpoints = {
      served_endpoint{
          .name = "node-a", .host = "127.0.0.1", .port = 7001, .slots = slot_set::of(0, 5460)},
      served_endpoint{
          .name = "node-b", .host = "127.0.0.1", .port = 7002, .slots = slot_set::of(5461, 10922)},
      served_endpoint{
          .name = "node-c", .host = "127.0.0.1", .port = 7003, .slots = slot_set::of(10923, 16383)},
      served_endpoint{.name = "node-d", .host = "127.0.0.1", .port = 7004}};
  return d;
}

// By value: the plan_result it is handed is a temporary.
auto plan_of(const plan_result& r) -> action_plan {
  if (const auto* e = std::get_if<plan_error>(&r)) {
    ADD_FAILURE() << "plan failed: " << e->message;
    return {};
  }
  return std::get<action_plan>(r);
}

auto ids(const action_plan& p) -> std::vector<std::string> {
  std::vector<std::string> out;
  for (const auto& st : p.steps) {
    out.push_back(st.id);
  }
  return out;
}

auto step(const action_plan& p, const std::string& id) -> const sc::step& {
  const auto it = std::ranges::find(p.steps, id, &sc::step::id);
  if (it == p.steps.end()) {
    ADD_FAILURE() << "no step " << id;
    static const sc::step none;
    return none;
  }
  return *it;
}

template <typename T>
auto sent(const sc::step& st) -> const T* {
  const auto* send = std::get_if<sc::send_action>(&st.what);
  return send ? std::get_if<T>(&send->notification) : nullptr;
}

TEST(FaultInjectorPlan, FailoverIsTheFailoverCompositeOnTheBoundEndpoint) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto& p = plan_of(plan_action("action-1", "failover", {{"bdb_id", 1}}, d, state));
  EXPECT_EQ(ids(p), (std::vector<std::string>{"action-1", "action-1.end"}));
  ASSERT_NE(sent<maint::failing_over>(step(p, "action-1")), nullptr);
  EXPECT_TRUE(std::holds_alternative<sc::at_time>(step(p, "action-1").start));
  EXPECT_EQ(std::get<sc::send_action>(step(p, "action-1").what).to.endpoint, "node-a");
  ASSERT_NE(sent<maint::failed_over>(step(p, "action-1.end")), nullptr);
  const auto& after = std::get<sc::after_step>(step(p, "action-1.end").start);
  EXPECT_EQ(after.step, "action-1");
  EXPECT_EQ(after.delay, milliseconds{1000});
}

TEST(FaultInjectorPlan, MigrateAcceptsStringIdsAsNodeRedisSendsThem) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto& p = plan_of(
      plan_action("action-2", "migrate", {{"cluster_index", "0"}, {"bdb_id", "1"}}, d, state));
  ASSERT_NE(sent<maint::migrating>(step(p, "action-2")), nullptr);
  ASSERT_NE(sent<maint::migrated>(step(p, "action-2.end")), nullptr);
  EXPECT_EQ(std::get<sc::after_step>(step(p, "action-2.end").start).delay, milliseconds{500});
}

TEST(FaultInjectorPlan, BindMovesTheEndpointAndTheNextBindMovesItBack) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto& first = plan_of(plan_action("action-1", "bind", {{"bdb_id", 1}}, d, state));
  EXPECT_EQ(ids(first), (std::vector<std::string>{"action-1.up", "action-1", "action-1.close"}));
  const auto* moving = sent<maint::moving>(step(first, "action-1"));
  ASSERT_NE(moving, nullptr);
  EXPECT_EQ(moving->endpoint, "node-b");
  EXPECT_EQ(moving->time_s, 5);
  EXPECT_EQ(std::get<sc::after_step>(step(first, "action-1.close").start).delay,
            milliseconds{5000});
  EXPECT_EQ(state.active_endpoint, "node-b");
  EXPECT_EQ(first.output["new_addr"], "127.0.0.2:7001");

  const auto& second = plan_of(plan_action("action-2", "bind", json::object(), d, state));
  EXPECT_EQ(sent<maint::moving>(step(second, "action-2"))->endpoint, "node-a");
  EXPECT_EQ(std::get<sc::send_action>(step(second, "action-2").what).to.endpoint, "node-b");
  EXPECT_EQ(state.active_endpoint, "node-a");
}

TEST(FaultInjectorPlan, BindWithOneEndpointSendsANullMoving) {
  auto d = standalone();
  d.endpoints.pop_back();
  auto state = fi_state::initial(d);
  const auto& p = plan_of(plan_action("action-1", "bind", json::object(), d, state));
  const auto* moving = sent<maint::moving>(step(p, "action-1"));
  ASSERT_NE(moving, nullptr);
  EXPECT_FALSE(moving->endpoint.has_value());
}

TEST(FaultInjectorPlan, NodeRedisSequenceRunsBindAfterMigrateHasEnded) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const json params = {
      {"bdbId", "1"},
      {"actions",
       {{{"type", "migrate"}, {"params", {{"cluster_index", "0"}, {"bdb_id", "1"}}}},
        {{"type", "bind"}, {"params", {{"cluster_index", "0"}, {"bdb_id", "1"}}}}}}};
  const auto& p = plan_of(plan_action("action-3", "sequence_of_actions", params, d, state));
  EXPECT_EQ(ids(p), (std::vector<std::string>{"action-3.1", "action-3.1.end", "action-3.2.up",
                                              "action-3.2", "action-3.2.close"}));
  ASSERT_NE(sent<maint::moving>(step(p, "action-3.2")), nullptr);
  for (const auto* id : {"action-3.2.up", "action-3.2"}) {
    const auto& after = std::get<sc::after_step>(step(p, id).start);
    EXPECT_EQ(after.step, "action-3.1.end") << id;
    EXPECT_EQ(after.delay, milliseconds{0}) << id;
  }
}

TEST(FaultInjectorPlan, GoRedisSequenceDelayIsNanoseconds) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const json params = {
      {"bdb_id", 1},
      {"actions", {{{"type", "failover"}}, {{"type", "migrate"}, {"delay", 2'000'000'000}}}}};
  const auto& p = plan_of(plan_action("action-4", "sequence_of_actions", params, d, state));
  const auto& after = std::get<sc::after_step>(step(p, "action-4.2").start);
  EXPECT_EQ(after.step, "action-4.1.end");
  EXPECT_EQ(after.delay, milliseconds{2000});
}

TEST(FaultInjectorPlan, SequenceNamesTheBadItem) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto r =
      plan_action("action-5", "sequence_of_actions",
                  {{"actions", {{{"type", "failover"}}, {{"type", "create_database"}}}}}, d, state);
  const auto& e = std::get<plan_error>(r);
  EXPECT_TRUE(e.rejected);
  EXPECT_NE(e.message.find("actions[1]"), std::string::npos) << e.message;
}

TEST(FaultInjectorPlan, UnknownTypeIsRejectedWithTheKnownOnes) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto r = plan_action("action-1", "reboot_universe", json::object(), d, state);
  const auto& e = std::get<plan_error>(r);
  EXPECT_TRUE(e.rejected);
  EXPECT_NE(e.message.find("reboot_universe"), std::string::npos);
  EXPECT_NE(e.message.find("failover, migrate"), std::string::npos) << e.message;
}

TEST(FaultInjectorPlan, NetworkLatencyTakesGoDurationStrings) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto& p = plan_of(plan_action("action-1", "network_latency",
                                      {{"latency", "150ms"}, {"duration", "2s"}}, d, state));
  const auto& on = std::get<sc::latency_action>(step(p, "action-1").what);
  EXPECT_EQ(on.delay, milliseconds{150});
  EXPECT_EQ(on.endpoint, "node-a");
  const auto& off = std::get<sc::latency_action>(step(p, "action-1.end").what);
  EXPECT_EQ(off.delay, milliseconds{0});
  EXPECT_EQ(std::get<sc::after_step>(step(p, "action-1.end").start).delay, milliseconds{2000});
  EXPECT_TRUE(std::get<plan_error>(
                  plan_action("action-2", "network_latency", {{"latency", "fast"}}, d, state))
                  .rejected);
}

TEST(FaultInjectorPlan, NodeRestartClosesGoesDownAndComesBack) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto& p =
      plan_of(plan_action("action-1", "node_restart", {{"node_id", "node:2"}}, d, state));
  EXPECT_EQ(ids(p), (std::vector<std::string>{"action-1", "action-1.down", "action-1.up"}));
  EXPECT_EQ(std::get<sc::close_action>(step(p, "action-1").what).to.endpoint, "node-b");
  EXPECT_EQ(std::get<sc::accept_action>(step(p, "action-1.up").what).state, sc::endpoint_state::up);
}

TEST(FaultInjectorPlan, SlotMigrateRemoveGivesTheLastOwnersSlotsAwayAndRetiresIt) {
  const auto d = cluster();
  auto state = fi_state::initial(d);
  const auto& p = plan_of(plan_action("action-1", "slot_migrate",
                                      {{"effect", "remove"}, {"trigger", "migrate"}}, d, state));
  ASSERT_NE(sent<maint::smigrating>(step(p, "action-1")), nullptr);
  const auto* smigrated = sent<maint::smigrated>(step(p, "action-1.smigrated"));
  ASSERT_NE(smigrated, nullptr);
  EXPECT_EQ(smigrated->entries.size(), 2U);  // node-c's slots split over node-a and node-b
  EXPECT_EQ(std::get<sc::accept_action>(step(p, "action-1.retire").what).endpoint, "node-c");
  EXPECT_TRUE(state.owned.at("node-c").empty());
  EXPECT_EQ(p.output["nodes_after"].size(), 2U);
}

TEST(FaultInjectorPlan, SlotMigrateAddBringsTheSpareUpAndGivesItSlots) {
  const auto d = cluster();
  auto state = fi_state::initial(d);
  const auto& p = plan_of(plan_action("action-1", "slot_migrate", {{"effect", "add"}}, d, state));
  EXPECT_EQ(std::get<sc::accept_action>(step(p, "action-1.up").what).endpoint, "node-d");
  EXPECT_FALSE(state.owned.at("node-d").empty());
  EXPECT_EQ(p.output["nodes_after"].size(), 4U);
}

TEST(FaultInjectorPlan, SlotMigrateRemoveAddKeepsTheCountAndChangesAnAddress) {
  const auto d = cluster();
  auto state = fi_state::initial(d);
  const auto& p =
      plan_of(plan_action("action-1", "slot_migrate", {{"effect", "remove-add"}}, d, state));
  EXPECT_EQ(p.steps.front().id, "action-1.bring_up");
  EXPECT_TRUE(state.owned.at("node-c").empty());
  EXPECT_EQ(state.owned.at("node-d"), slot_set::of(10923, 16383));
  EXPECT_EQ(p.output["nodes_after"].size(), 3U);
  EXPECT_NE(p.output["nodes_after"], p.output["nodes_before"]);
  // The next remove-add finds node-c spare and node-d an owner: planned ownership carries over.
  const auto& again =
      plan_of(plan_action("action-2", "slot_migrate", {{"effect", "remove-add"}}, d, state));
  EXPECT_EQ(std::get<sc::accept_action>(step(again, "action-2.bring_up").what).endpoint, "node-c");
}

TEST(FaultInjectorPlan, SlotShuffleKeepsTheAddressSet) {
  const auto d = cluster();
  auto state = fi_state::initial(d);
  const auto& p =
      plan_of(plan_action("action-1", "slot_migrate", {{"effect", "slot-shuffle"}}, d, state));
  EXPECT_EQ(sent<maint::smigrated>(step(p, "action-1.smigrated"))->entries.size(), 2U);
  EXPECT_EQ(p.output["nodes_after"], p.output["nodes_before"]);
}

TEST(FaultInjectorPlan, SlotMigrateOnAStandaloneTopologyFailsWithTheReason) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto r = plan_action("action-1", "slot_migrate", {{"effect", "remove"}}, d, state);
  const auto& e = std::get<plan_error>(r);
  EXPECT_FALSE(e.rejected);
  EXPECT_NE(e.message.find("cluster"), std::string::npos);
  EXPECT_TRUE(std::get<plan_error>(
                  plan_action("action-2", "slot_migrate", {{"effect", "explode"}}, d, state))
                  .rejected);
}

TEST(FaultInjectorPlan, CreateDatabaseAnswersWithTheServedEndpoint) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const json params = {{"cluster_index", 0},
                       {"database_config", {{"name", "m-standard"}, {"oss_cluster", false}}}};
  const auto& p = plan_of(plan_action("action-1", "create_database", params, d, state));
  EXPECT_TRUE(p.steps.empty());
  EXPECT_EQ(p.output["bdb_id"], 1);
  EXPECT_EQ(p.output["endpoints"][0], "redis://127.0.0.1:7001");
  EXPECT_EQ(p.output["raw_endpoints"][0]["port"], 7001);
  EXPECT_EQ(p.output["raw_endpoints"][0]["dns_name"], "127.0.0.1");
  EXPECT_EQ(state.databases.at(1).name, "m-standard");
  const auto cluster_db = plan_action("action-2", "create_database",
                                      {{"database_config", {{"oss_cluster", true}}}}, d, state);
  EXPECT_FALSE(std::get<plan_error>(cluster_db).rejected);
}

TEST(FaultInjectorPlan, DeleteResetAndClusterConfig) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  plan_of(plan_action("a1", "create_database", {{"database_config", json::object()}}, d, state));
  plan_of(plan_action("a2", "delete_database", {{"bdb_id", "1"}}, d, state));
  EXPECT_TRUE(state.databases.empty());
  plan_of(plan_action("a3", "update_cluster_config",
                      {{"config", {{"client_maint_notifications", false}}}}, d, state));
  EXPECT_FALSE(state.maint_notifications);
  plan_of(plan_action("a4", "reset_cluster", {{"clean_all_dbs", true}}, d, state));
  EXPECT_TRUE(state.maint_notifications);
}

TEST(FaultInjectorPlan, RladminStatusHasTheSectionsLettuceAndRedisPyParse) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  plan_of(plan_action("a1", "create_database", {{"database_config", {{"name", "m-standard"}}}}, d,
                      state));
  const auto& p = plan_of(
      plan_action("a2", "execute_rladmin_command", {{"rladmin_command", "status"}}, d, state));
  const auto text = p.output["output"].get<std::string>();
  for (const auto* section : {"CLUSTER NODES:", "DATABASES:", "ENDPOINTS:", "SHARDS:"}) {
    EXPECT_NE(text.find(section), std::string::npos) << section;
  }
  EXPECT_NE(text.find("db:1 m-standard "), std::string::npos) << text;
  EXPECT_NE(text.find("db:1 m-standard redis:1 node:1 master"), std::string::npos) << text;
  EXPECT_NE(text.find("db:1 m-standard endpoint:1:1 node:1 single"), std::string::npos) << text;
}

TEST(FaultInjectorPlan, RladminMigrateBindFailoverCauseTheirNotifications) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto& m = plan_of(
      plan_action("a1", "execute_rladmin_command",
                  {{"rladmin_command", "migrate node 1 all_shards target_node 2"}}, d, state));
  EXPECT_NE(sent<maint::migrating>(step(m, "a1")), nullptr);
  const auto& b =
      plan_of(plan_action("a2", "execute_rladmin_command",
                          {{"rladmin_command", "bind endpoint 1:1 policy single"}}, d, state));
  EXPECT_NE(sent<maint::moving>(step(b, "a2")), nullptr);
  const auto& f = plan_of(plan_action("a3", "execute_rladmin_command",
                                      {{"rladmin_command", "failover shard 1"}}, d, state));
  EXPECT_NE(sent<maint::failing_over>(step(f, "a3")), nullptr);
}

TEST(FaultInjectorPlan, StandaloneTopologyChangeEffects) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto& p = plan_of(
      plan_action("a1", "topology_change_standalone",
                  {{"effect", "data_movement_conn_drop"}, {"trigger", "migrate"}}, d, state));
  EXPECT_NE(sent<maint::migrating>(step(p, "a1")), nullptr);
  EXPECT_EQ(std::get<sc::after_step>(step(p, "a1.moving").start).step, "a1.end");
  const auto& dns = plan_of(plan_action("a2", "topology_change_standalone",
                                        {{"effect", "dns_resolution_change"}}, d, state));
  EXPECT_FALSE(sent<maint::moving>(step(dns, "a2"))->endpoint.has_value());
}

TEST(FaultInjectorPlan, ARejectedPlanLeavesTheStateAlone) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto r =
      plan_action("a1", "sequence_of_actions",
                  {{"actions", {{{"type", "bind"}}, {{"type", "network_latency"}}}}}, d, state);
  ASSERT_TRUE(std::holds_alternative<plan_error>(r));
  EXPECT_EQ(state.active_endpoint, "node-a");
}

TEST(FaultInjectorPlan, SeqsAreNumberedPerActionSoTheClosingOneIsTheOpeningPlusOne) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  const auto& failover = plan_of(plan_action("a1", "failover", json::object(), d, state));
  const auto& migrate = plan_of(plan_action("a2", "migrate", json::object(), d, state));
  auto seq_of = [](const sc::step& st) { return std::get<sc::send_action>(st.what).seq; };
  EXPECT_EQ(seq_of(step(failover, "a1")), 1001);
  EXPECT_EQ(seq_of(step(failover, "a1.end")), 1002);
  EXPECT_EQ(seq_of(step(migrate, "a2")), 1003);
  EXPECT_EQ(seq_of(step(migrate, "a2.end")), 1004);
}

TEST(FaultInjectorPlan, CreateDatabaseAnswersWhereBindMovedTheEndpoint) {
  const auto d = standalone();
  auto state = fi_state::initial(d);
  plan_of(plan_action("a1", "bind", json::object(), d, state));
  const auto& p = plan_of(
      plan_action("a2", "create_database", {{"database_config", json::object()}}, d, state));
  EXPECT_EQ(p.output["raw_endpoints"][0]["dns_name"], "127.0.0.2");
}

TEST(FaultInjectorPlan, CreateDatabaseOnAClusterRestoresTheInitialSlotMap) {
  const auto d = cluster();
  auto state = fi_state::initial(d);
  plan_of(plan_action("a1", "slot_migrate", {{"effect", "remove-add"}}, d, state));
  const auto& p = plan_of(plan_action("a2", "create_database",
                                      {{"database_config", {{"oss_cluster", true}}}}, d, state));
  EXPECT_EQ(std::get<sc::complete_slot_migration_action>(step(p, "a2.reset.node-c").what).slots,
            slot_set::of(10923, 16383));
  EXPECT_EQ(std::get<sc::accept_action>(step(p, "a2.up.node-c").what).state,
            sc::endpoint_state::up);
  EXPECT_TRUE(state.owned.at("node-d").empty());
  EXPECT_EQ(state.owned.at("node-c"), slot_set::of(10923, 16383));
}

TEST(FaultInjectorDuration, GoStringsAndMilliseconds) {
  EXPECT_EQ(parse_fi_duration("100ms"), milliseconds{100});
  EXPECT_EQ(parse_fi_duration("1.5s"), milliseconds{1500});
  EXPECT_EQ(parse_fi_duration("2m"), milliseconds{120000});
  EXPECT_EQ(parse_fi_duration(250), milliseconds{250});
  EXPECT_EQ(parse_fi_duration("soon"), std::nullopt);
  EXPECT_EQ(parse_fi_duration("-1s"), std::nullopt);
}

}  // namespace
}  // namespace schsim::control::fault_injector_test
