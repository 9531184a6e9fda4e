#include <schsim/scenario_io/load.hpp>  // first: the header is self-contained

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "support/scenario_helpers.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace load_test {
namespace {

using schsim::test::errors_of;

namespace sc = schsim::scenario;
namespace io = schsim::scenario_io;
using namespace std::chrono_literals;

constexpr std::string_view header = R"(
[scenario]
id = "t"
title = "test"
duration = "10s"

[topology]
start = "node-a"

[[topology.endpoint]]
name = "node-a"

[[topology.endpoint]]
name = "node-b"
)";

auto load(std::string_view body) -> io::load_result {
  return io::load_string(std::string(header) + std::string(body), "test.toml");
}

auto only_step(const io::load_result& r) -> const sc::step& {
  EXPECT_TRUE(r.ok()) << errors_of(r);
  EXPECT_EQ(r.value->steps.size(), 1u);
  return r.value->steps.front();
}

TEST(ParseDuration, AcceptsUnits) {
  EXPECT_EQ(io::parse_duration("250ms"), 250ms);
  EXPECT_EQ(io::parse_duration("2s"), 2000ms);
  EXPECT_EQ(io::parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(io::parse_duration("1m"), 60000ms);
  EXPECT_EQ(io::parse_duration("0s"), 0ms);
  EXPECT_EQ(io::parse_duration("2 s"), 2000ms);
}

TEST(ParseDuration, RejectsWhatIsNotADuration) {
  for (const auto* bad : {"", "2", "s", "-1s", "1.5ms", "2 seconds", "1..5s", ".5s", "5.s", "1h"}) {
    EXPECT_FALSE(io::parse_duration(bad).has_value()) << bad;
  }
}

// One file that sets every section's keys; the tests below read it back a section at a time.
constexpr std::string_view every_section = R"(
[scenario]
id = "full"
title = "every section"
description = "d"
tags = ["a", "b"]
suite_version = "2"
duration = "6s"
seed = 42
seq_start = 100
dialect = ["simple-string-name"]

[topology]
start = "node-b"

[[topology.endpoint]]
name = "node-a"
host = "127.0.0.1"
fqdn = "localhost"
port = 0
sch = false
resp3 = false
requirepass = "pw"
users = [{ name = "app", password = "x" }]
server_version = "7.2.0"
state = "blackhole"
shards = ["3", "4"]

[[topology.endpoint]]
name = "node-b"

[client]
mode = "enabled"
endpoint_type = "external-fqdn"
protocol = 2
timeout_ms = 700
relaxed_timeout = "disabled"
post_handoff_relaxed_s = 3
user = "app"
password = "x"
pool_size = 8

[workload]
rate = 12.5
duration = "4s"
mix = { get = 3, incr = 1 }
keys = 10
key_prefix = "k:"
value_size = 4
probe = { interval = "50ms", command = "ping" }

[expect]
checks = ["handoff"]
handshake = "not_sent"
connect = "succeeds"
handoff_within = "1s"
timeout_tolerance = 0.1
max_latency = "300ms"
max_error_rate = 0.05
reconnects = { min = 1, max = 2 }
final_endpoint = "node-b"
client_may_exit = true
)";

auto load_every_section() -> io::load_result {
  return io::load_string(std::string(every_section), "full.toml");
}

TEST(Load, ReadsEverySectionScenario) {
  const auto r = load_every_section();
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& s = *r.value;
  EXPECT_EQ(s.meta.id, "full");
  EXPECT_EQ(s.meta.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.meta.suite_version, "2");
  EXPECT_EQ(s.duration, 6s);
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.seq_start, 100);
  EXPECT_TRUE(s.dialect.simple_string_name);
}

TEST(Load, ReadsEverySectionTopology) {
  const auto r = load_every_section();
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& s = *r.value;
  EXPECT_EQ(s.topo.start, "node-b");
  ASSERT_EQ(s.topo.endpoints.size(), 2u);
  const auto& a = s.topo.endpoints[0];
  EXPECT_EQ(a.fqdn, "localhost");
  EXPECT_FALSE(a.sch);
  EXPECT_FALSE(a.resp3);
  EXPECT_EQ(a.requirepass, "pw");
  ASSERT_EQ(a.users.size(), 1u);
  EXPECT_EQ(a.users[0].name, "app");
  EXPECT_EQ(a.initial_state, sc::endpoint_state::blackhole);
  EXPECT_EQ(a.shards, (std::vector<std::string>{"3", "4"}));
}

TEST(Load, ReadsEverySectionClient) {
  const auto r = load_every_section();
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& s = *r.value;
  EXPECT_EQ(s.client.mode, sc::sch_mode::enabled);
  EXPECT_EQ(s.client.moving_endpoint_type, sc::endpoint_type::external_fqdn);
  EXPECT_EQ(s.client.protocol, 2);
  EXPECT_EQ(s.client.timeout, 700ms);
  EXPECT_FALSE(s.client.relaxed_timeout.has_value());
  EXPECT_EQ(s.client.post_handoff_relaxed, 3000ms);
  EXPECT_EQ(s.client.pool_size, 8u);
}

TEST(Load, ReadsEverySectionWorkload) {
  const auto r = load_every_section();
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& s = *r.value;
  EXPECT_DOUBLE_EQ(s.load.rate, 12.5);
  EXPECT_EQ(s.load.duration, 4000ms);
  ASSERT_EQ(s.load.mix.size(), 2u);
  EXPECT_EQ(s.load.mix[0].command, "get");
  EXPECT_EQ(s.load.mix[0].weight, 3u);
  ASSERT_TRUE(s.load.probe.has_value());
  EXPECT_EQ(s.load.probe->interval, 50ms);
}

TEST(Load, ReadsEverySectionExpect) {
  const auto r = load_every_section();
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& s = *r.value;
  EXPECT_EQ(s.expect.handshake, sc::handshake_outcome::not_sent);
  EXPECT_EQ(s.expect.connect, sc::connect_outcome::succeeds);
  EXPECT_EQ(s.expect.handoff_within, 1000ms);
  EXPECT_DOUBLE_EQ(s.expect.timeout_tolerance, 0.1);
  ASSERT_TRUE(s.expect.reconnects.has_value());
  EXPECT_EQ(s.expect.reconnects->max, 2u);
  EXPECT_EQ(s.expect.final_endpoint, "node-b");
  EXPECT_TRUE(s.expect.client_may_exit);
}

TEST(Load, DefaultsWhenSectionsAreMissing) {
  const auto r = load("");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& s = *r.value;
  EXPECT_EQ(s.client.mode, sc::sch_mode::automatic);
  EXPECT_EQ(s.client.relaxed_timeout, 10000ms);
  EXPECT_EQ(s.load.mix.size(), 3u);
  EXPECT_TRUE(s.steps.empty());
  EXPECT_EQ(s.topo.endpoints[0].initial_state, sc::endpoint_state::up);
}

TEST(Load, StartDefaultsToTheFirstEndpoint) {
  const auto r = io::load_string(R"(
[scenario]
id = "x"
title = "x"
[topology]
[[topology.endpoint]]
name = "only"
)",
                                 "x.toml");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  EXPECT_EQ(r.value->topo.start, "only");
}

TEST(Load, TlsForTheTopologyAndPerEndpoint) {
  const auto r = io::load_string(R"(
[scenario]
id = "x"
title = "x"
[topology]
tls = true
[[topology.endpoint]]
name = "a"
tls_only = true
tls_client_auth = true
[[topology.endpoint]]
name = "b"
tls_cert_names = ["wrong.invalid", "127.0.0.9"]
[[topology.endpoint]]
name = "c"
tls = false
)",
                                 "x.toml");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& eps = r.value->topo.endpoints;
  ASSERT_EQ(eps.size(), 3U);
  EXPECT_TRUE(eps[0].tls);
  EXPECT_TRUE(eps[0].tls_only);
  EXPECT_TRUE(eps[0].tls_client_auth);
  EXPECT_TRUE(eps[1].tls);
  EXPECT_FALSE(eps[1].tls_only);
  EXPECT_EQ(eps[1].tls_cert_names, (std::vector<std::string>{"wrong.invalid", "127.0.0.9"}));
  EXPECT_FALSE(eps[2].tls);
}

TEST(Load, TlsKeysOnAPlaintextEndpointAreLocatedErrors) {
  const auto r = load(R"(
[[topology.endpoint]]
name = "node-c"
tls_client_auth = true
)");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(errors_of(r).find("test.toml:18:19: error: tls_client_auth needs a TLS endpoint"),
            std::string::npos)
      << errors_of(r);
}

TEST(Load, TriggersInEveryForm) {
  const auto r = load(R"(
[[step]]
id = "a"
at_ms = 250
action = "bring_up"
endpoint = "node-b"

[[step]]
id = "b"
after = { step = "a", delay_s = 1 }
action = "refuse"
endpoint = "node-b"

[[step]]
id = "c"
after = "b"
action = "stop_accepting"
endpoint = "node-b"

[[step]]
when = { commands = 100, endpoint = "node-a", delay = "50ms" }
action = "blackhole"
endpoint = "node-b"
)");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& st = r.value->steps;
  ASSERT_EQ(st.size(), 4u);
  EXPECT_EQ(std::get<sc::at_time>(st[0].start).at, 250ms);
  const auto& b = std::get<sc::after_step>(st[1].start);
  EXPECT_EQ(b.step, "a");
  EXPECT_EQ(b.delay, 1000ms);
  EXPECT_EQ(std::get<sc::after_step>(st[2].start).delay, 0ms);
  const auto& w = std::get<sc::when_observed>(st[3].start);
  EXPECT_EQ(w.counter, sc::observed_counter::commands);
  EXPECT_EQ(w.count, 100u);
  EXPECT_EQ(w.endpoint, "node-a");
  EXPECT_EQ(w.delay, 50ms);
  EXPECT_EQ(st[3].id, "step-4");
  EXPECT_EQ(st[3].origin, 3u);
  EXPECT_EQ(std::get<sc::accept_action>(st[1].what).state, sc::endpoint_state::down);
  EXPECT_EQ(std::get<sc::accept_action>(st[2].what).state, sc::endpoint_state::not_accepting);
  EXPECT_EQ(std::get<sc::accept_action>(st[3].what).state, sc::endpoint_state::blackhole);
}

TEST(Load, SendMovingToAnEndpoint) {
  const auto r = load(R"(
[[step]]
at = "1s"
action = "send"
notification = "MOVING"
time = 15
endpoint = "node-b"
seq = 7
to = { endpoint = "node-a" }
dialect = "simple-strings"
active_for = "2s"
)");
  const auto& st = only_step(r);
  const auto& a = std::get<sc::send_action>(st.what);
  const auto& m = std::get<schsim::maint::moving>(a.notification);
  EXPECT_EQ(m.time_s, 15);
  EXPECT_EQ(m.endpoint, "node-b");
  EXPECT_EQ(a.seq, 7);
  EXPECT_EQ(a.to.scope, sc::target_scope::endpoint);
  EXPECT_EQ(a.to.endpoint, "node-a");
  EXPECT_EQ(a.to.filter, sc::opt_in_filter::opted_in);
  ASSERT_TRUE(a.dialect.has_value());
  EXPECT_TRUE(a.dialect->simple_string_name);
  EXPECT_TRUE(a.dialect->simple_string_arguments);
  EXPECT_EQ(a.active_for, 2000ms);
}

TEST(Load, SendMovingWithNullEndpointAndLiteralAddress) {
  auto r = load(R"(
[[step]]
at = "1s"
action = "send"
notification = "moving"
time = 4
endpoint = "none"
)");
  EXPECT_FALSE(
      std::get<schsim::maint::moving>(std::get<sc::send_action>(only_step(r).what).notification)
          .endpoint.has_value());
  r = load(R"(
[[step]]
at = "1s"
action = "send"
notification = "moving"
time = 4
endpoint = "10.0.0.2:6379"
)");
  EXPECT_EQ(
      std::get<schsim::maint::moving>(std::get<sc::send_action>(only_step(r).what).notification)
          .endpoint,
      "10.0.0.2:6379");
}

TEST(Load, ShardsDefaultToTheTargetEndpoints) {
  const auto r = io::load_string(R"(
[scenario]
id = "x"
title = "x"
[topology]
[[topology.endpoint]]
name = "node-a"
shards = ["7"]
[[step]]
at = "1s"
action = "send"
notification = "migrating"
time = 1
to = "node-a"
)",
                                 "x.toml");
  const auto& a = std::get<sc::send_action>(only_step(r).what);
  EXPECT_EQ(std::get<schsim::maint::migrating>(a.notification).shard_ids,
            (std::vector<std::string>{"7"}));
}

TEST(Load, ClusterNotifications) {
  const auto r = load(R"(
[[step]]
at = "1s"
action = "send"
notification = "smigrating"
slots = "0-100,200"

[[step]]
at = "2s"
action = "send"
notification = "smigrated"
entries = [{ source = "node-a", destination = "10.0.0.9:7000", slots = "0-100" }]
)");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& sm = std::get<schsim::maint::smigrating>(
      std::get<sc::send_action>(r.value->steps[0].what).notification);
  ASSERT_EQ(sm.slots.size(), 2u);
  EXPECT_EQ(sm.slots[0].last, 100);
  const auto& sd = std::get<schsim::maint::smigrated>(
      std::get<sc::send_action>(r.value->steps[1].what).notification);
  ASSERT_EQ(sd.entries.size(), 1u);
  EXPECT_EQ(sd.entries[0].source, "node-a");
  EXPECT_EQ(sd.entries[0].destination, "10.0.0.9:7000");
}

TEST(Load, TargetsInEveryForm) {
  const auto r = load(R"(
[[step]]
at = "1s"
action = "close"
to = { connection = 2, endpoint = "node-b" }
how = "rst"
point = "mid_frame"

[[step]]
at = "1s"
action = "close"
to = { connection = "random", opted_in = true, opened_before = "step-1" }

[[step]]
at = "1s"
action = "send"
notification = "migrating"
time = 1
to = "new"

[[step]]
at = "1s"
action = "raw"
hex = "2b 4f 4b 0d 0a"
to = { connection = "last" }
)");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& st = r.value->steps;
  const auto& c1 = std::get<sc::close_action>(st[0].what);
  EXPECT_EQ(c1.to.scope, sc::target_scope::connection);
  EXPECT_EQ(c1.to.ordinal, 2u);
  EXPECT_EQ(c1.to.endpoint, "node-b");
  EXPECT_EQ(c1.to.filter, sc::opt_in_filter::any);
  EXPECT_EQ(c1.how, sc::close_mode::rst);
  EXPECT_EQ(c1.point, sc::close_point::mid_frame);
  const auto& c2 = std::get<sc::close_action>(st[1].what);
  EXPECT_EQ(c2.to.pick, sc::connection_pick::random);
  EXPECT_EQ(c2.to.filter, sc::opt_in_filter::opted_in);
  EXPECT_EQ(c2.to.opened_before, "step-1");
  EXPECT_EQ(std::get<sc::send_action>(st[2].what).to.scope, sc::target_scope::new_connections);
  const auto& raw = std::get<sc::raw_action>(st[3].what);
  EXPECT_EQ(raw.bytes, "+OK\r\n");
  EXPECT_EQ(raw.to.pick, sc::connection_pick::last);
}

TEST(Load, CompositeActions) {
  const auto r = load(R"(
[[step]]
id = "m"
at = "1s"
action = "moving_lifecycle"
from = "node-a"
to = "none"
time = 2
late_close = "1600ms"
close_how = "rst"
retire_old = true

[[step]]
id = "b"
at = "1s"
action = "bind"
from = "node-a"
to = "node-b"

[[step]]
id = "i"
at = "1s"
action = "in_place_upgrade"
endpoint = "node-a"
notification = "failing_over"
)");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& m = std::get<sc::moving_lifecycle_action>(r.value->steps[0].what);
  EXPECT_FALSE(m.to.has_value());
  EXPECT_EQ(m.late_close, 1600ms);
  EXPECT_EQ(m.close_how, sc::close_mode::rst);
  EXPECT_TRUE(m.retire_old);
  const auto& b = std::get<sc::moving_lifecycle_action>(r.value->steps[1].what);
  EXPECT_EQ(b.time_s, 5);  // the fault injector's bind
  EXPECT_EQ(b.to, "node-b");
  EXPECT_EQ(std::get<sc::in_place_upgrade_action>(r.value->steps[2].what).opener,
            schsim::maint::kind::failing_over);
}

TEST(Load, ReportsSeveralErrors) {
  const auto r = load(R"(
[workload]
rate = "x"
keys = "y"
)");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 2u) << errors_of(r);
  EXPECT_EQ(r.errors[0].line, 17u);
  EXPECT_EQ(r.errors[1].line, 18u);
}

TEST(Load, ErrorsOfOneSectionComeInTheOrderItsKeysAreRead) {
  // A section's key table decides the order, not the file: mode is read before password, name
  // before port (and [topology] before [client]).
  const auto r = load(R"(
[client]
password = 1
mode = "sometimes"
[[topology.endpoint]]
port = 70000
name = 3
)");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 4u) << errors_of(r);
  EXPECT_EQ(r.errors[0].line, 21u) << errors_of(r);
  EXPECT_EQ(r.errors[1].line, 20u) << errors_of(r);
  EXPECT_EQ(r.errors[2].line, 18u) << errors_of(r);
  EXPECT_EQ(r.errors[3].line, 17u) << errors_of(r);
}

TEST(Load, MissingFile) {
  const auto r = io::load_file("/nonexistent/x.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(io::to_string(r.errors[0]).find("cannot open"), std::string::npos);
}

TEST(Load, DiagnosticFormat) {
  const io::diagnostic d{"f.toml", 3, 7, "bad thing", "do this"};
  EXPECT_EQ(io::to_string(d), "f.toml:3:7: error: bad thing\n  hint: do this");
}

TEST(Actions, TableListsPrimitiveAndCompositeActions) {
  std::vector<std::string_view> names;
  for (const auto& a : io::builtin_actions()) {
    names.push_back(a.name);
    EXPECT_FALSE(a.summary.empty()) << a.name;
  }
  for (auto expected :
       {"send", "raw", "latency", "stall", "release", "fragment", "close", "bring_up", "refuse",
        "stop_accepting", "blackhole", "clear_active", "moving_lifecycle", "rolling_upgrade",
        "in_place_upgrade", "maintenance_mode", "migrate", "failover", "bind"}) {
    EXPECT_NE(std::ranges::find(names, expected), names.end()) << expected;
  }
}

// ---------------------------------------------------------------------------------------------
// The built-in suite and the catalogue of bad files.

auto files_in(const std::filesystem::path& dir) -> std::vector<std::string> {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".toml") {
      out.push_back(e.path().filename().string());
    }
  }
  std::ranges::sort(out);
  return out;
}

auto param_name(const testing::TestParamInfo<std::string>& info) -> std::string {
  std::string name = info.param.substr(0, info.param.size() - 5);
  std::ranges::replace_if(
      name, [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

const std::filesystem::path scenarios_dir = std::filesystem::path(SCHSIM_SOURCE_DIR) / "scenarios";
const std::filesystem::path bad_dir =
    std::filesystem::path(SCHSIM_SOURCE_DIR) / "core/scenario_io/test/bad";

class BuiltinScenario : public testing::TestWithParam<std::string> {};

TEST_P(BuiltinScenario, LoadsAndValidates) {
  const auto path = scenarios_dir / GetParam();
  const auto r = io::load_file(path);
  ASSERT_TRUE(r.ok()) << errors_of(r);
  EXPECT_EQ(r.value->meta.id + ".toml", GetParam()) << "a built-in's file is named after its id";
  EXPECT_FALSE(r.value->meta.description.empty());
  EXPECT_LE(r.value->duration, 6s) << "built-ins stay short so the suite runs fast";
}

INSTANTIATE_TEST_SUITE_P(Suite, BuiltinScenario, testing::ValuesIn(files_in(scenarios_dir)),
                         param_name);

TEST(BuiltinSuite, CoversTheIssueList) {
  const auto files = files_in(scenarios_dir);
  EXPECT_GE(files.size(), 25u);
  for (auto id : {"notification-moving",
                  "notification-migrating",
                  "notification-migrated",
                  "notification-failing-over",
                  "notification-failed-over",
                  "notification-smigrating",
                  "notification-smigrated",
                  "migrating-latency",
                  "failover",
                  "moving-new-endpoint",
                  "moving-null-endpoint",
                  "moving-late-close",
                  "seq-duplicate",
                  "seq-overlapping",
                  "seq-non-monotonic",
                  "new-connection-during-window",
                  "idle-connections",
                  "fragmented-push",
                  "auth-new-endpoint",
                  "rolling-upgrade",
                  "in-place-upgrade",
                  "maintenance-mode",
                  "no-sch-auto",
                  "no-sch-enabled",
                  "resp2-only",
                  "cloud-relaxed-only"}) {
    EXPECT_NE(std::ranges::find(files, std::string(id) + ".toml"), files.end()) << id;
  }
}

// Each bad file's first line says where the first error must be and what it must say:
//   # expect: LINE:COLUMN text that appears in the message or hint
class BadScenario : public testing::TestWithParam<std::string> {};

TEST_P(BadScenario, IsRejectedAtItsLocation) {
  const auto path = bad_dir / GetParam();
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(first, m, std::regex(R"(# expect: (\d+):(\d+) (.+))")))
      << "first line must be '# expect: LINE:COL text', got: " << first;
  const auto r = io::load_file(path);
  ASSERT_FALSE(r.ok()) << GetParam() << " was accepted";
  ASSERT_FALSE(r.errors.empty());
  const auto& e = r.errors.front();
  EXPECT_EQ(e.file, path.string());
  EXPECT_EQ(e.line, std::stoul(m[1])) << errors_of(r);
  EXPECT_EQ(e.column, std::stoul(m[2])) << errors_of(r);
  EXPECT_NE(io::to_string(e).find(m[3].str()), std::string::npos) << errors_of(r);
  EXPECT_FALSE(e.hint.empty() && e.message.find("TOML") == std::string::npos)
      << "every error says how to fix it: " << errors_of(r);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, BadScenario, testing::ValuesIn(files_in(bad_dir)), param_name);

}  // namespace
}  // namespace load_test
