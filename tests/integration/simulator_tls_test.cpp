// TLS endpoints on loopback: handshakes with per-run certificates (SNI, version, client
// certificates recorded), plaintext on TLS endpoints and TLS on plaintext ones refused cleanly
// and recorded, and a bad handshake that affects no other connection.
#include <schsim/simulator/certificates.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace simulator_tls_test {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace sim = schsim::simulator;
namespace tl = schsim::timeline;
using asio::ip::tcp;
using schsim::testing::events_of;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;

constexpr std::string_view ping = "*1\r\n$4\r\nPING\r\n";

auto run_certificates() -> const sim::tls::certificate_set& {
  static const auto set = [] {
    const std::vector<sim::tls::leaf_spec> specs{
        {"node-a", "node-a", {"localhost"}, {"127.0.0.1"}, false},
        {"wrong", "wrong", {"wrong.invalid"}, {"127.0.0.9"}, false},
        {"client", "client", {"client.invalid"}, {}, true},
    };
    return sim::tls::make_certificates(
        "schsim test CA", specs,
        {std::chrono::system_clock::now() - std::chrono::hours(1), std::chrono::hours(2)});
  }();
  return set;
}

struct tls_options {
  bool only = false;
  bool mutual = false;
  std::string leaf = "node-a";
};

auto tls_server(const tls_options& o) -> sim::server_config {
  auto config = sim_fixture::single();
  const auto& set = run_certificates();
  sim::endpoint_tls_config tls;
  tls.cert_pem = set.leaf(o.leaf).cert_pem;
  tls.key_pem = set.leaf(o.leaf).key_pem;
  tls.only = o.only;
  if (o.mutual) {
    tls.client_ca_pem = set.ca_cert_pem;
  }
  config.endpoints[0].tls = tls;
  config.tls_handshake_timeout = std::chrono::milliseconds(300);
  return config;
}

/// A blocking TLS client that verifies the server as `host` against the run's CA.
class tls_client {
 public:
  tls_client(std::uint16_t port, const std::string& host, bool with_client_cert = false)
      : ctx_(make_context(with_client_cert)), stream_(io_, ctx_) {
    // The stream's SSL object copies the context's settings when it is made: the context is
    // complete before (make_context), and the verification is set on the stream itself.
    stream_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback(ssl::host_name_verification(host));
    SSL_set_tlsext_host_name(stream_.native_handle(), host.c_str());
    stream_.lowest_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    local_port_ = stream_.lowest_layer().local_endpoint().port();
  }
  static auto make_context(bool with_client_cert) -> ssl::context {
    const auto& set = run_certificates();
    ssl::context ctx(ssl::context::tls_client);
    ctx.add_certificate_authority(asio::buffer(set.ca_cert_pem));
    if (with_client_cert) {
      ctx.use_certificate_chain(asio::buffer(set.leaf("client").cert_pem));
      ctx.use_private_key(asio::buffer(set.leaf("client").key_pem), ssl::context::pem);
    }
    return ctx;
  }
  auto handshake() -> boost::system::error_code {
    boost::system::error_code ec;
    stream_.handshake(ssl::stream_base::client, ec);
    return ec;
  }
  auto roundtrip(std::string_view request, std::size_t reply_bytes) -> std::string {
    asio::write(stream_, asio::buffer(request));
    std::string reply(reply_bytes, '\0');
    asio::read(stream_, asio::buffer(reply));
    return reply;
  }
  auto read(std::size_t bytes) -> std::string {
    std::string out(bytes, '\0');
    asio::read(stream_, asio::buffer(out));
    return out;
  }
  [[nodiscard]] auto local_port() const -> std::uint16_t { return local_port_; }

 private:
  asio::io_context io_;
  ssl::context ctx_;
  ssl::stream<tcp::socket> stream_;
  std::uint16_t local_port_ = 0;
};

auto tls_event(sim_fixture& f, std::uint64_t conn) -> std::optional<tl::tls_handshake> {
  const auto ev = f.wait_for([conn](const tl::event& e) {
    return e.conn == conn && std::holds_alternative<tl::tls_handshake>(e.what);
  });
  if (!ev) {
    return std::nullopt;
  }
  return std::get<tl::tls_handshake>(ev->what);
}

auto close_event(sim_fixture& f, std::uint64_t conn) -> std::optional<tl::connection_closed> {
  const auto ev = f.wait_for([conn](const tl::event& e) {
    return e.conn == conn && std::holds_alternative<tl::connection_closed>(e.what);
  });
  if (!ev) {
    return std::nullopt;
  }
  return std::get<tl::connection_closed>(ev->what);
}

TEST(SimulatorTls, ServesAVerifiedClientAndRecordsSniAndVersion) {
  sim_fixture f(tls_server({}));
  tls_client c(f.port(), "localhost");
  ASSERT_FALSE(c.handshake());
  EXPECT_EQ(c.roundtrip(ping, 7), "+PONG\r\n");
  const auto id = f.conn_id(c.local_port());
  const auto hs = tls_event(f, id);
  ASSERT_TRUE(hs);
  EXPECT_TRUE(hs->tls);
  EXPECT_TRUE(hs->completed);
  EXPECT_EQ(hs->sni, "localhost");
  EXPECT_EQ(hs->version, "TLSv1.3");
  EXPECT_FALSE(hs->client_certificate);
  EXPECT_EQ(hs->error, "");
  const auto conns = f.call([](sim::server& s) { return s.connections(); });
  ASSERT_EQ(conns.size(), 1U);
  EXPECT_TRUE(conns[0].tls);
}

TEST(SimulatorTls, ControlWritesGoThroughTheTlsStream) {
  sim_fixture f(tls_server({}));
  tls_client c(f.port(), "localhost");
  ASSERT_FALSE(c.handshake());
  EXPECT_EQ(c.roundtrip(ping, 7), "+PONG\r\n");
  sim::selector one;
  one.which = sim::selector::scope::connection;
  one.connection = f.conn_id(c.local_port());
  const std::string frame = ">2\r\n$4\r\nTEST\r\n:1\r\n";
  EXPECT_EQ(f.call([&](sim::server& s) { return s.send_raw(one, frame, "t"); }), 1U);
  EXPECT_EQ(c.read(frame.size()), frame);
}

TEST(SimulatorTls, ClientRejectsACertificateForAnotherName) {
  sim_fixture f(tls_server({.leaf = "wrong"}));
  tls_client c(f.port(), "localhost");
  const auto ec = c.handshake();
  ASSERT_TRUE(ec);
  const auto id = f.conn_id(c.local_port());
  const auto hs = tls_event(f, id);
  ASSERT_TRUE(hs);
  EXPECT_TRUE(hs->tls);
  EXPECT_FALSE(hs->completed);
  EXPECT_EQ(hs->sni, "localhost");
  EXPECT_NE(hs->error, "");  // the client's alert, in OpenSSL's words
  EXPECT_TRUE(events_of<tl::command_received>(f.events(), id).empty());
}

TEST(SimulatorTls, PlaintextIsServedOnAnEndpointThatTakesBothAndRecordedAsPlaintext) {
  sim_fixture f(tls_server({}));
  test_client c(f.port());
  EXPECT_EQ(c.roundtrip(ping), "+PONG\r\n");
  const auto hs = tls_event(f, f.conn_id(c.local_port()));
  ASSERT_TRUE(hs);
  EXPECT_FALSE(hs->tls);
  EXPECT_FALSE(hs->completed);
  EXPECT_EQ(hs->error, "");
}

TEST(SimulatorTls, PlaintextOnATlsOnlyEndpointIsRefusedAndOthersCarryOn) {
  sim_fixture f(tls_server({.only = true}));
  tls_client bystander(f.port(), "localhost");
  ASSERT_FALSE(bystander.handshake());
  test_client c(f.port());
  const auto id = f.conn_id(c.local_port());
  c.write(ping);
  EXPECT_EQ(c.read_until_closed(), "");
  const auto hs = tls_event(f, id);
  ASSERT_TRUE(hs);
  EXPECT_FALSE(hs->tls);
  EXPECT_EQ(hs->error, "plaintext on a TLS-only endpoint");
  const auto closed = close_event(f, id);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->by, tl::close_initiator::server);
  EXPECT_TRUE(events_of<tl::command_received>(f.events(), id).empty());
  EXPECT_EQ(bystander.roundtrip(ping, 7), "+PONG\r\n");
}

TEST(SimulatorTls, ClientHelloOnAPlaintextEndpointIsRefusedAndRecorded) {
  sim_fixture f(sim_fixture::single());
  test_client bystander(f.port());
  ASSERT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
  tls_client c(f.port(), "localhost");
  EXPECT_TRUE(c.handshake());
  const auto id = f.conn_id(c.local_port());
  const auto hs = tls_event(f, id);
  ASSERT_TRUE(hs);
  EXPECT_TRUE(hs->tls);
  EXPECT_FALSE(hs->completed);
  EXPECT_EQ(hs->error, "TLS ClientHello on a plaintext endpoint");
  EXPECT_TRUE(events_of<tl::protocol_error>(f.events(), id).empty());
  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
}

TEST(SimulatorTls, GarbageInTheHandshakeFailsOnlyThatConnection) {
  sim_fixture f(tls_server({}));
  tls_client bystander(f.port(), "localhost");
  ASSERT_FALSE(bystander.handshake());
  test_client c(f.port());
  const auto id = f.conn_id(c.local_port());
  c.write(std::string("\x16\x03\x01\x00\x05garbagegarbage", 19));
  c.read_until_closed();  // (an alert record at most), then the close
  const auto hs = tls_event(f, id);
  ASSERT_TRUE(hs);
  EXPECT_TRUE(hs->tls);
  EXPECT_FALSE(hs->completed);
  EXPECT_NE(hs->error, "");
  EXPECT_EQ(bystander.roundtrip(ping, 7), "+PONG\r\n");
  tls_client fresh(f.port(), "localhost");
  ASSERT_FALSE(fresh.handshake());
  EXPECT_EQ(fresh.roundtrip(ping, 7), "+PONG\r\n");
}

TEST(SimulatorTls, AStalledHandshakeIsClosedAtTheTimeout) {
  sim_fixture f(tls_server({}));
  test_client c(f.port());
  const auto id = f.conn_id(c.local_port());
  c.write(std::string("\x16\x03\x01", 3));  // a record header, then nothing
  const auto hs = tls_event(f, id);
  ASSERT_TRUE(hs);
  EXPECT_FALSE(hs->completed);
  EXPECT_EQ(hs->error, "handshake timed out");
  c.read_until_closed();
  ASSERT_TRUE(close_event(f, id));

  test_client silent(f.port());
  const auto silent_id = f.conn_id(silent.local_port());
  const auto none = tls_event(f, silent_id);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->error, "no byte within the TLS handshake timeout");
}

TEST(SimulatorTls, MutualTlsRequiresAClientCertificateFromTheRunsCa) {
  sim_fixture f(tls_server({.mutual = true}));
  tls_client anonymous(f.port(), "localhost");
  // TLS 1.3: the client's handshake completes before the server has judged its certificate;
  // the server's alert arrives with the first read.
  boost::system::error_code ec = anonymous.handshake();
  if (!ec) {
    EXPECT_ANY_THROW(anonymous.roundtrip(ping, 7));
  }
  const auto refused = tls_event(f, f.conn_id(anonymous.local_port()));
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->completed);
  EXPECT_NE(refused->error, "");

  tls_client with_cert(f.port(), "localhost", true);
  ASSERT_FALSE(with_cert.handshake());
  EXPECT_EQ(with_cert.roundtrip(ping, 7), "+PONG\r\n");
  const auto ok = tls_event(f, f.conn_id(with_cert.local_port()));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->completed);
  EXPECT_TRUE(ok->client_certificate);
}

}  // namespace
}  // namespace simulator_tls_test
