// Per-run certificates: each generated certificate is parsed back with OpenSSL and checked
// (issuer, SANs, validity, usage) and the leaves are verified against the CA as a client would.
#include <schsim/simulator/certificates.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <unistd.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace certificates_test {
namespace {

using namespace schsim::simulator::tls;
using std::chrono::hours;
using std::chrono::system_clock;

struct x509_free_t {
  void operator()(X509* x) const { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_free_t>;

auto parse(const std::string& pem) -> x509_ptr {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  x509_ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

auto name_text(const X509_NAME* name) -> std::string {
  char buf[256] = {};
  X509_NAME_oneline(name, buf, sizeof buf);
  return buf;
}

/// The SAN entries as "DNS:x" / "IP:1.2.3.4", in certificate order.
auto sans(X509* cert) -> std::vector<std::string> {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      out.push_back("DNS:" +
                    std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                                ASN1_STRING_length(n->d.dNSName)));
    } else if (n->type == GEN_IPADD) {
      const auto* bytes = ASN1_STRING_get0_data(n->d.iPAddress);
      if (ASN1_STRING_length(n->d.iPAddress) == 4) {
        out.push_back("IP:" + std::to_string(bytes[0]) + "." + std::to_string(bytes[1]) + "." +
                      std::to_string(bytes[2]) + "." + std::to_string(bytes[3]));
      } else {
        out.push_back("IP:v6");
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

/// Verifies `leaf` against `ca` as a TLS peer would (chain, time, purpose); "" when it holds.
auto verify(X509* ca, X509* leaf, int purpose) -> std::string {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  const int ok = X509_verify_cert(ctx);
  std::string why = ok == 1 ? "" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return why;
}

auto two_endpoints() -> std::vector<leaf_spec> {
  return {
      leaf_spec{"node-a", "node-a", {"localhost", "node-a.schsim.test"}, {"127.0.0.1"}, false},
      leaf_spec{"node-b", "node-b", {"localhost"}, {"127.0.0.2", "::1"}, false},
      leaf_spec{"client", "schsim client", {"client.schsim.test"}, {}, true},
  };
}

TEST(Certificates, LeavesNameTheirHostsAndIpsAndChainToTheCa) {
  const auto now = system_clock::now();
  const auto specs = two_endpoints();
  const auto set = make_certificates("schsim test CA", specs, validity{now - hours(1), hours(25)});

  const auto ca = parse(set.ca_cert_pem);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(name_text(X509_get_subject_name(ca.get())), "/O=schsim/CN=schsim test CA");
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  ASSERT_EQ(set.leaves.size(), 3U);

  const auto a = parse(set.leaf("node-a").cert_pem);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(name_text(X509_get_issuer_name(a.get())), "/O=schsim/CN=schsim test CA");
  EXPECT_EQ(sans(a.get()),
            (std::vector<std::string>{"DNS:localhost", "DNS:node-a.schsim.test", "IP:127.0.0.1"}));
  EXPECT_EQ(X509_check_host(a.get(), "node-a.schsim.test", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(a.get(), "127.0.0.1", 0), 1);
  EXPECT_NE(X509_check_ip_asc(a.get(), "127.0.0.2", 0), 1);
  EXPECT_NE(X509_check_host(a.get(), "node-b.schsim.test", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ca(a.get()), 0);
  EXPECT_EQ(verify(ca.get(), a.get(), X509_PURPOSE_SSL_SERVER), "");

  const auto b = parse(set.leaf("node-b").cert_pem);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(sans(b.get()), (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.2", "IP:v6"}));
  EXPECT_EQ(X509_check_ip_asc(b.get(), "::1", 0), 1);

  const auto client = parse(set.leaf("client").cert_pem);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(verify(ca.get(), client.get(), X509_PURPOSE_SSL_CLIENT), "");
  EXPECT_NE(verify(ca.get(), client.get(), X509_PURPOSE_SSL_SERVER), "")
      << "a client certificate must not serve as a server's";
  EXPECT_NE(verify(ca.get(), a.get(), X509_PURPOSE_SSL_CLIENT), "");
}

TEST(Certificates, ValidityWindowIsTheOneAskedFor) {
  const auto start = system_clock::now() - hours(2);
  const leaf_spec spec{"node-a", "node-a", {"localhost"}, {}, false};
  const auto set = make_certificates("ca", std::span(&spec, 1), validity{start, hours(3)});
  const auto leaf = parse(set.leaf("node-a").cert_pem);
  ASSERT_NE(leaf, nullptr);
  int days = 0;
  int secs = 0;
  ASN1_TIME* expected_start = ASN1_TIME_set(nullptr, system_clock::to_time_t(start));
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, expected_start, X509_get0_notBefore(leaf.get())), 1);
  EXPECT_EQ(days * 86400 + secs, 0);
  ASSERT_EQ(
      ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf.get()), X509_get0_notAfter(leaf.get())),
      1);
  EXPECT_EQ(days * 86400 + secs, 3 * 3600);
  ASN1_TIME_free(expected_start);
}

TEST(Certificates, ExpiredSetFailsVerification) {
  const leaf_spec spec{"node-a", "node-a", {"localhost"}, {}, false};
  const auto set = make_certificates("ca", std::span(&spec, 1),
                                     validity{system_clock::now() - hours(48), hours(24)});
  const auto ca = parse(set.ca_cert_pem);
  const auto leaf = parse(set.leaf("node-a").cert_pem);
  EXPECT_EQ(verify(ca.get(), leaf.get(), X509_PURPOSE_SSL_SERVER), "certificate has expired");
}

TEST(Certificates, EveryCallMakesANewCa) {
  const leaf_spec spec{"node-a", "node-a", {"localhost"}, {}, false};
  const validity when{system_clock::now(), hours(1)};
  const auto first = make_certificates("ca", std::span(&spec, 1), when);
  const auto second = make_certificates("ca", std::span(&spec, 1), when);
  EXPECT_NE(first.ca_key_pem, second.ca_key_pem);
  const auto ca1 = parse(first.ca_cert_pem);
  const auto leaf2 = parse(second.leaf("node-a").cert_pem);
  EXPECT_NE(verify(ca1.get(), leaf2.get(), X509_PURPOSE_SSL_SERVER), "")
      << "a leaf of one run must not verify against another run's CA";
}

TEST(Certificates, BadNamesAreRefusedWithTheLeafNamed) {
  const validity when{system_clock::now(), hours(1)};
  const leaf_spec bad_ip{"node-a", "node-a", {}, {"127.0.0.300"}, false};
  try {
    (void)make_certificates("ca", std::span(&bad_ip, 1), when);
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "certificates: leaf node-a: '127.0.0.300' is not an IP address");
  }
  const leaf_spec nothing{"node-b", "node-b", {}, {}, false};
  EXPECT_THROW((void)make_certificates("ca", std::span(&nothing, 1), when), std::invalid_argument);
}

TEST(Certificates, WrittenFilesHoldThePemsAndKeysAreOwnerOnly) {
  const auto specs = two_endpoints();
  const auto set = make_certificates("ca", specs, validity{system_clock::now(), hours(1)});
  const auto dir = std::filesystem::temp_directory_path() /
                   ("schsim-certs-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  const auto files = write_certificates(set, dir / "tls");
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  EXPECT_EQ(read(files.ca_file), set.ca_cert_pem);
  ASSERT_EQ(files.leaves.size(), 3U);
  EXPECT_EQ(read(files.leaves.at("node-b").cert_file), set.leaf("node-b").cert_pem);
  EXPECT_EQ(read(files.leaves.at("node-b").key_file), set.leaf("node-b").key_pem);
  const auto perms = std::filesystem::status(files.leaves.at("node-b").key_file).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  EXPECT_FALSE(std::filesystem::exists(dir / "tls" / "ca.key"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace certificates_test
