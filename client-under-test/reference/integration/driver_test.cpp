#include <schsim/core/cluster/slots.hpp>

#include <nlohmann/json.hpp>

#include <deque>
#include <set>

#include "support/child.hpp"
#include "support/sim.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::itest::driver_test {
namespace {

using json = nlohmann::json;

class Driver : public sim_test {
 protected:
  /// The next unconsumed line of `type`, keeping the simulator running while waiting. Every
  /// line read is also kept in seen_ for counting.
  auto next(child_process& d, const std::string& type, milliseconds limit = 10s) -> json {
    json found;
    const bool ok = run_until(
        [&] {
          while (auto line = d.try_read_line()) {
            auto j = json::parse(*line);
            EXPECT_TRUE(j.contains("type")) << *line;
            seen_.push_back(j);
            unread_.push_back(std::move(j));
          }
          for (auto it = unread_.begin(); it != unread_.end(); ++it) {
            if (it->value("type", "") == type) {
              found = std::move(*it);
              unread_.erase(it);
              return true;
            }
          }
          return false;
        },
        limit);
    EXPECT_TRUE(ok) << "no '" << type << "' line; lines so far:\n" << dump_seen();
    return found.is_null() ? json::object() : found;
  }
  auto seen(const std::string& type, const std::string& name = {}) const -> std::size_t {
    std::size_t n = 0;
    for (const auto& j : seen_) {
      n += j.value("type", "") == type && (name.empty() || j.value("name", "") == name);
    }
    return n;
  }

  auto dump_seen() const -> std::string {
    std::string out;
    for (const auto& j : seen_) out += j.dump() + "\n";
    return out;
  }

  // The steps of ShortSessionWithAHandoff, each on the driver `d` of one session.
  void expect_hello(child_process& d) {
    d.write_line(R"({"type":"hello","protocol":1,"case":"driver-test"})");
    const auto hello = next(d, "hello");
    EXPECT_EQ(hello["protocol"], 1);
    EXPECT_EQ(hello["client"], "schsim-refclient");
    EXPECT_EQ(hello["timeouts"]["reply"], "command");
    const auto caps = hello["capabilities"];
    for (const auto* cap :
         {"maint_notifications", "relaxed_timeouts", "handoff", "moving_null_endpoint", "mode_auto",
          "mode_enabled", "resp2", "auth", "reconnect"}) {
      EXPECT_NE(std::find(caps.begin(), caps.end(), cap), caps.end()) << cap;
    }
    EXPECT_TRUE(hello["broken"].empty());
  }

  /// Configures every setting (and one unknown, which must be ignored) and connects to node-a.
  void configure_and_connect(child_process& d) {
    const auto a = address_of("node-a");
    json configure{{"type", "configure"},
                   {"endpoint", {{"host", a.host}, {"port", a.port}}},
                   {"settings",
                    {{"protocol", 3},
                     {"mode", "auto"},
                     {"endpoint_type", "auto"},
                     {"timeout_ms", 500},
                     {"relaxed_timeout_ms", 3000},
                     {"post_handoff_relaxed_ms", 1000},
                     {"handoff_timeout_ms", 3000},
                     {"connect_timeout_ms", 1000},
                     {"pool_size", 2},
                     {"username", nullptr},
                     {"password", nullptr},
                     {"retry_idempotent", false},
                     {"future_knob", 1}}}};
    d.write_line(configure.dump());
    next(d, "configured");
    d.write_line(R"({"type":"connect"})");
    const auto connected = next(d, "connected");
    EXPECT_GT(connected["t_ns"].get<std::int64_t>(), 0);
  }

  /// Three concurrent INCRs of drv:1, each answered once.
  void incr_three_times(child_process& d) {
    for (int id = 1; id <= 3; ++id) {
      d.write_line(json{{"type", "command"},
                        {"id", id},
                        {"args", {"INCR", "drv:1"}},
                        {"intended_ns", to_ns(mono_clock::now())}}
                       .dump());
    }
    std::set<std::string> replies;
    for (int i = 0; i < 3; ++i) {
      const auto r = next(d, "result");
      EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
      EXPECT_LE(r["sent_ns"].get<std::int64_t>(), r["t_ns"].get<std::int64_t>());
      replies.insert(r["reply"].get<std::string>());
    }
    EXPECT_EQ(replies, (std::set<std::string>{"1", "2", "3"}));
  }

  /// MOVING to node-b on every node-a connection; `pushed` says how many got it.
  void hand_off_to_node_b(child_process& d, std::size_t& pushed) {
    // The pool may have grown to two connections for the three concurrent commands.
    pushed = push("node-a", moving_bytes(1, 3, address_of("node-b").to_string()), "MOVING", 1);
    ASSERT_GE(pushed, 1u);
    ASSERT_TRUE(run_until(
        [&] {
          while (auto line = d.try_read_line()) {
            seen_.push_back(json::parse(*line));
            unread_.push_back(seen_.back());
          }
          return seen("event", "handoff_done") == pushed;
        },
        5s));
  }

  /// After the handoff: the value is still there, and a server error is reported as one.
  void expect_commands_after_handoff(child_process& d) {
    d.write_line(R"({"type":"command","id":4,"args":["GET","drv:1"],"intended_ns":0})");
    auto r = next(d, "result");
    EXPECT_EQ(r["id"], 4);
    EXPECT_EQ(r["reply"], "3");
    d.write_line(R"({"type":"command","id":5,"args":["NOSUCHCMD"],"intended_ns":0})");
    r = next(d, "result");
    EXPECT_FALSE(r["ok"].get<bool>());
    EXPECT_EQ(r["error_class"], "server");
  }

  void shut_down_after_handoff(child_process& d, std::size_t pushed) {
    d.write_line(R"({"type":"shutdown"})");
    const auto bye = next(d, "bye");
    EXPECT_EQ(bye["stats"]["handoffs_completed"], pushed);
    EXPECT_EQ(d.wait_exit(5s), std::optional<int>{0});
    EXPECT_EQ(value_of("drv:1"), std::optional<std::string>{"3"});
    EXPECT_EQ(events_of<timeline::maint_handshake>("node-b").size(), pushed);
  }

  std::vector<json> seen_;
  std::deque<json> unread_;
};

TEST_F(Driver, ShortSessionWithAHandoff) {
  start({endpoint("node-a"), endpoint("node-b")});
  child_process d{{SCHSIM_REFCLIENT_DRIVER}};
  expect_hello(d);
  configure_and_connect(d);
  incr_three_times(d);
  std::size_t pushed = 0;
  ASSERT_NO_FATAL_FAILURE(hand_off_to_node_b(d, pushed));
  expect_commands_after_handoff(d);
  shut_down_after_handoff(d, pushed);
}

TEST_F(Driver, ConfigErrorsAndConnectFailures) {
  start({endpoint("node-a")});
  child_process d{{SCHSIM_REFCLIENT_DRIVER}};
  d.write_line(R"({"type":"hello","protocol":1,"case":"x"})");
  next(d, "hello");
  const auto a = address_of("node-a");
  d.write_line(json{{"type", "configure"},
                    {"endpoint", {{"host", a.host}, {"port", a.port}}},
                    {"settings", {{"protocol", 2}, {"mode", "enabled"}}}}
                   .dump());
  EXPECT_EQ(next(d, "error")["error_class"], "config");
  d.write_line(json{{"type", "configure"},
                    {"endpoint", {{"host", a.host}, {"port", a.port}}},
                    {"tls", {{"ca_file", ""}, {"server_name", "localhost"}}}}
                   .dump());
  EXPECT_EQ(next(d, "error")["error_class"], "config");
  server().stop();
  run_for(50ms);  // let the listeners close
  d.write_line(json{{"type", "configure"},
                    {"endpoint", {{"host", a.host}, {"port", a.port}}},
                    {"settings", {{"connect_timeout_ms", 500}}}}
                   .dump());
  next(d, "configured");
  d.write_line(R"({"type":"connect"})");
  const auto failed = next(d, "connect_failed");
  EXPECT_EQ(failed["error_class"], "connection") << failed.dump();
  d.write_line("this is not json");
  EXPECT_EQ(next(d, "error")["error_class"], "other");
  d.close_stdin();  // EOF without shutdown: still a clean exit
  EXPECT_EQ(d.wait_exit(5s), std::optional<int>{0});
}

// settings.cluster: the endpoint is the seed; commands reach every node by slot, and a
// standalone server makes connect fail with Redis's own text.
TEST_F(Driver, ClusterSessionRoutesBySlot) {
  auto a = endpoint("node-a");
  a.slots = cluster::slot_set::of(0, 8191);
  auto b = endpoint("node-b");
  b.slots = cluster::slot_set::of(8192, 16383);
  start({a, b}, true);
  child_process d{{SCHSIM_REFCLIENT_DRIVER}};
  d.write_line(R"({"type":"hello","protocol":1,"case":"cluster"})");
  const auto caps = next(d, "hello")["capabilities"];
  EXPECT_NE(std::find(caps.begin(), caps.end(), "cluster"), caps.end());
  const auto seed = address_of("node-b");
  d.write_line(json{{"type", "configure"},
                    {"endpoint", {{"host", seed.host}, {"port", seed.port}}},
                    {"settings", {{"cluster", true}, {"pool_size", 2}}}}
                   .dump());
  next(d, "configured");
  d.write_line(R"({"type":"connect"})");
  next(d, "connected");
  const int commands = 40;
  for (int id = 1; id <= commands; ++id) {
    d.write_line(json{
        {"type", "command"},
        {"id", id},
        {"args", {"INCR", "dc:" + std::to_string(id)}},
        {"intended_ns",
         0}}.dump());
  }
  for (int i = 0; i < commands; ++i) {
    const auto r = next(d, "result");
    EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(r["reply"], "1") << r.dump();
  }
  EXPECT_GT(events_of<timeline::command_received>("node-a").size(), 5U);
  EXPECT_GT(events_of<timeline::command_received>("node-b").size(), 5U);
  EXPECT_TRUE(events_of<timeline::cluster_redirect>().empty());
  d.write_line(R"({"type":"shutdown"})");
  const auto bye = next(d, "bye");
  EXPECT_EQ(bye["stats"]["topology_reloads"], 1);
  EXPECT_EQ(bye["stats"]["moved"], 0);
  EXPECT_EQ(d.wait_exit(5s), std::optional<int>{0});
  EXPECT_GE(seen("event", "topology_loaded"), 1U);
}

TEST_F(Driver, ClusterModeOnAStandaloneServerFailsToConnect) {
  start({endpoint("node-a")});
  child_process d{{SCHSIM_REFCLIENT_DRIVER}};
  d.write_line(R"({"type":"hello","protocol":1,"case":"x"})");
  next(d, "hello");
  const auto a = address_of("node-a");
  d.write_line(json{{"type", "configure"},
                    {"endpoint", {{"host", a.host}, {"port", a.port}}},
                    {"settings", {{"cluster", true}}}}
                   .dump());
  next(d, "configured");
  d.write_line(R"({"type":"connect"})");
  const auto failed = next(d, "connect_failed");
  EXPECT_NE(failed["message"].get<std::string>().find("cluster support disabled"),
            std::string::npos)
      << failed.dump();
  d.write_line(R"({"type":"shutdown"})");
  next(d, "bye");
  EXPECT_EQ(d.wait_exit(5s), std::optional<int>{0});
}

TEST_F(Driver, BrokenModesAreListedAndSelectable) {
  {
    child_process list{{SCHSIM_REFCLIENT_DRIVER, "--list-broken"}};
    EXPECT_EQ(list.wait_exit(5s), std::optional<int>{0});
    std::size_t lines = 0;
    while (list.try_read_line()) ++lines;
    EXPECT_EQ(lines, broken_mode_count);
  }
  {
    child_process bad{{SCHSIM_REFCLIENT_DRIVER, "--broken=no-such-bug"}};
    EXPECT_EQ(bad.wait_exit(5s), std::optional<int>{2});
  }
  child_process d{
      {SCHSIM_REFCLIENT_DRIVER, "--broken=ignore-moving,no-relax", "--broken", "late-reconnect"}};
  d.write_line(R"({"type":"hello","protocol":1,"case":"x"})");
  const auto hello = next(d, "hello");
  EXPECT_EQ(hello["broken"], (json{"ignore-moving", "no-relax", "late-reconnect"}));
  d.write_line(R"({"type":"shutdown"})");
  next(d, "bye");
  EXPECT_EQ(d.wait_exit(5s), std::optional<int>{0});
}

}  // namespace
}  // namespace schsim::refclient::itest::driver_test
