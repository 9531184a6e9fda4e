#include <schsim/refclient/config.hpp>

#include <gtest/gtest.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace schsim::refclient::config_test {
namespace {

using namespace std::chrono_literals;

// The worked examples of the go-redis README
// (../shared/seeds/go-redis-maintnotifications-readme.md).
TEST(ConfigFormulas, Pool100Gives33WorkersAndQueue500) {
  const int workers = resolve_max_workers(100, 0);
  EXPECT_EQ(workers, 33);
  EXPECT_EQ(resolve_handoff_queue_size(100, 0, workers, 0), 500);  // 660 capped at 5×100
}

TEST(ConfigFormulas, Pool100WithMaxActive150GivesQueue151) {
  const int workers = resolve_max_workers(100, 0);
  EXPECT_EQ(workers, 33);
  EXPECT_EQ(resolve_handoff_queue_size(100, 150, workers, 0), 151);
}

TEST(ConfigFormulas, SmallPools) {
  EXPECT_EQ(resolve_max_workers(4, 0), 2);                // min(2, max(10, 1))
  EXPECT_EQ(resolve_max_workers(1, 0), 1);                // min(0, 10) raised to 1
  EXPECT_EQ(resolve_max_workers(30, 0), 10);              // min(15, max(10, 10))
  EXPECT_EQ(resolve_handoff_queue_size(4, 0, 2, 0), 20);  // max(40, 4) capped at 5×4
  EXPECT_EQ(resolve_handoff_queue_size(1, 0, 1, 0), 5);
}

TEST(ConfigFormulas, ExplicitValues) {
  EXPECT_EQ(resolve_max_workers(100, 5), 50);  // raised to pool/2
  EXPECT_EQ(resolve_max_workers(100, 80), 80);
  EXPECT_EQ(resolve_handoff_queue_size(100, 0, 33, 50), 200);  // at least 200
  EXPECT_EQ(resolve_handoff_queue_size(100, 0, 33, 1000), 1000);
}

TEST(ConfigResolve, TlsNeedsItsCaAndNameAndAWholeClientCertificate) {
  client_config c;
  c.tls = tls_config{"/tmp/ca.pem", "localhost", "", ""};
  ASSERT_TRUE(std::holds_alternative<config_error>(resolve(c)))
      << "tls with security plain is a contradiction";
  c.security = transport_security::tls;
  const auto ok = resolve(c);
  ASSERT_TRUE(std::holds_alternative<resolved_config>(ok));
  // Auto under TLS picks an FQDN type (sch-protocol.md §1.2).
  EXPECT_EQ(std::get<resolved_config>(ok).moving_endpoint_type, endpoint_type::internal_fqdn);
  // Broken ip-endpoint-type-under-tls: the IP start address alone decides.
  c.broken.set(broken_mode::ip_endpoint_type_under_tls);
  EXPECT_EQ(std::get<resolved_config>(resolve(c)).moving_endpoint_type, endpoint_type::internal_ip);
  c.broken = {};
  c.tls->cert_file = "/tmp/client.crt";
  ASSERT_TRUE(std::holds_alternative<config_error>(resolve(c)));
  EXPECT_EQ(std::get<config_error>(resolve(c)).message,
            "tls.cert_file and tls.key_file go together");
  c.tls->key_file = "/tmp/client.key";
  EXPECT_TRUE(std::holds_alternative<resolved_config>(resolve(c)));
  c.tls->server_name.clear();
  EXPECT_EQ(std::get<config_error>(resolve(c)).message, "tls.server_name is required");
}

TEST(ConfigResolve, DefaultsFollowGoRedis) {
  client_config c;
  c.pool_size = 100;
  const auto r = resolve(c);
  ASSERT_TRUE(std::holds_alternative<resolved_config>(r));
  const auto& rc = std::get<resolved_config>(r);
  EXPECT_EQ(c.maint.mode, maint_mode::automatic);
  EXPECT_EQ(c.maint.relaxed_timeout, 10s);
  EXPECT_EQ(c.maint.handoff_timeout, 15s);
  EXPECT_EQ(c.maint.max_handoff_retries, 3);
  EXPECT_EQ(rc.max_workers, 33);
  EXPECT_EQ(rc.handoff_queue_size, 500);
  EXPECT_EQ(rc.post_handoff_relaxed_duration, 20s);
  EXPECT_EQ(rc.queue_timeout, 15s + c.dial_timeout);
  EXPECT_EQ(rc.moving_endpoint_type, endpoint_type::internal_ip);  // 127.0.0.1, plain
}

TEST(ConfigResolve, ExplicitEndpointTypeAndPostHandoff) {
  client_config c;
  c.maint.moving_endpoint_type = endpoint_type::none;
  c.maint.relaxed_timeout = 3s;
  auto rc = std::get<resolved_config>(resolve(c));
  EXPECT_EQ(rc.moving_endpoint_type, endpoint_type::none);
  EXPECT_EQ(rc.post_handoff_relaxed_duration, 6s);
  c.maint.post_handoff_relaxed_duration = 1s;
  rc = std::get<resolved_config>(resolve(c));
  EXPECT_EQ(rc.post_handoff_relaxed_duration, 1s);
}

TEST(ConfigResolve, RejectsEnabledOnResp2AndBadValues) {
  client_config c;
  c.protocol = 2;
  c.maint.mode = maint_mode::enabled;
  ASSERT_TRUE(std::holds_alternative<config_error>(resolve(c)));
  EXPECT_NE(std::get<config_error>(resolve(c)).message.find("RESP3"), std::string::npos);
  c = {};
  c.protocol = 4;
  EXPECT_TRUE(std::holds_alternative<config_error>(resolve(c)));
  c = {};
  c.maint.max_handoff_retries = 11;
  EXPECT_TRUE(std::holds_alternative<config_error>(resolve(c)));
  c = {};
  c.pool_size = 0;
  EXPECT_TRUE(std::holds_alternative<config_error>(resolve(c)));
  c = {};
  c.protocol = 2;  // auto mode on RESP2 is fine: nothing is sent
  EXPECT_TRUE(std::holds_alternative<resolved_config>(resolve(c)));
}

TEST(EndpointDetection, IpLiteralsFollowGoRedisRanges) {
  const auto plain = transport_security::plain;
  EXPECT_EQ(detect_endpoint_type("127.0.0.1", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("10.1.2.3", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("172.16.0.1", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("172.31.255.255", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("172.32.0.1", plain), endpoint_type::external_ip);
  EXPECT_EQ(detect_endpoint_type("192.168.1.1", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("169.254.0.5", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("100.64.0.1", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("100.128.0.1", plain), endpoint_type::external_ip);
  EXPECT_EQ(detect_endpoint_type("8.8.8.8", plain), endpoint_type::external_ip);
  EXPECT_EQ(detect_endpoint_type("::1", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("[::1]", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("fd00::1", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("fe80::1", plain), endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("2001:db8::1", plain), endpoint_type::external_ip);
  EXPECT_EQ(detect_endpoint_type("::ffff:10.0.0.1", plain), endpoint_type::internal_ip);
}

TEST(EndpointDetection, TlsPicksFqdnAndNamesAreNotResolved) {
  const auto tls = transport_security::tls;
  EXPECT_EQ(detect_endpoint_type("10.0.0.1", tls), endpoint_type::internal_fqdn);
  EXPECT_EQ(detect_endpoint_type("8.8.8.8", tls), endpoint_type::external_fqdn);
  EXPECT_EQ(detect_endpoint_type("redis.example.com", tls), endpoint_type::external_fqdn);
  EXPECT_EQ(detect_endpoint_type("localhost", transport_security::plain),
            endpoint_type::internal_ip);
  EXPECT_EQ(detect_endpoint_type("redis-master", tls), endpoint_type::internal_fqdn);
}

TEST(ConfigNames, RoundTrip) {
  for (auto m : {maint_mode::disabled, maint_mode::enabled, maint_mode::automatic}) {
    EXPECT_EQ(parse_maint_mode(to_string(m)), m);
  }
  EXPECT_EQ(parse_maint_mode("auto"), maint_mode::automatic);
  EXPECT_EQ(parse_maint_mode("on"), std::nullopt);
  for (auto t : {endpoint_type::automatic, endpoint_type::internal_ip, endpoint_type::internal_fqdn,
                 endpoint_type::external_ip, endpoint_type::external_fqdn, endpoint_type::none}) {
    EXPECT_EQ(parse_endpoint_type(to_string(t)), t);
  }
  EXPECT_EQ(to_string(endpoint_type::external_fqdn), "external-fqdn");
  EXPECT_EQ(parse_endpoint_type("internal_ip"), std::nullopt);
}

}  // namespace
}  // namespace schsim::refclient::config_test
