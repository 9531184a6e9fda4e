#include <schsim/simulator/certificates.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <system_error>

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace schsim::simulator::tls {
namespace {

template <auto Free>
struct deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free_all>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION_free>>;

/// OpenSSL's queued reason for the last failure (and clears the queue), for error messages.
auto openssl_reason() -> std::string {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "no reason given by OpenSSL";
  }
  std::string text(256, '\0');
  ERR_error_string_n(code, text.data(), text.size());
  text.resize(text.find('\0'));
  return text;
}

void require(bool ok, const std::string& what) {
  if (!ok) {
    throw std::runtime_error("certificates: " + what + ": " + openssl_reason());
  }
}

auto new_key() -> pkey_ptr {
  pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  require(key != nullptr, "generating an EC P-256 key");
  return key;
}

auto is_ip_literal(const std::string& text) -> bool {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

void add_extension(X509* cert, X509V3_CTX& ctx, int nid, const std::string& value) {
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  require(ext != nullptr, std::string("building extension ") + OBJ_nid2sn(nid) + " = " + value);
  require(X509_add_ext(cert, ext.get(), -1) == 1, "adding extension");
}

void set_name(X509* cert, const std::string& common_name) {
  X509_NAME* name = X509_get_subject_name(cert);
  require(
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("schsim"), -1, -1, 0) == 1,
      "setting the subject");
  require(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                     -1, -1, 0) == 1,
          "setting the subject's common name " + common_name);
}

/// A certificate with a random serial, the validity window and `key`, not yet signed.
auto new_certificate(EVP_PKEY* key, const std::string& common_name, const validity& when)
    -> x509_ptr {
  x509_ptr cert(X509_new());
  require(cert != nullptr, "allocating a certificate");
  require(X509_set_version(cert.get(), X509_VERSION_3) == 1, "setting the version");
  bn_ptr serial(BN_new());
  require(serial != nullptr && BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1,
          "drawing a serial number");
  require(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr,
          "setting the serial number");
  const auto from = std::chrono::system_clock::to_time_t(when.not_before);
  const auto until = std::chrono::system_clock::to_time_t(when.not_before + when.lifetime);
  require(ASN1_TIME_set(X509_getm_notBefore(cert.get()), from) != nullptr, "setting notBefore");
  require(ASN1_TIME_set(X509_getm_notAfter(cert.get()), until) != nullptr, "setting notAfter");
  require(X509_set_pubkey(cert.get(), key) == 1, "setting the public key");
  set_name(cert.get(), common_name);
  return cert;
}

auto subject_alt_names(const leaf_spec& spec) -> std::string {
  std::string san;
  auto add = [&](const std::string& kind, const std::string& value) {
    if (!san.empty()) {
      san += ',';
    }
    san += kind + ':' + value;
  };
  for (const auto& dns : spec.dns_names) {
    if (dns.empty() || dns.find_first_of(", :") != std::string::npos) {
      throw std::invalid_argument("certificates: leaf " + spec.id + ": '" + dns +
                                  "' is not a host name");
    }
    add("DNS", dns);
  }
  for (const auto& ip : spec.ip_addresses) {
    if (!is_ip_literal(ip)) {
      throw std::invalid_argument("certificates: leaf " + spec.id + ": '" + ip +
                                  "' is not an IP address");
    }
    add("IP", ip);
  }
  return san;
}

auto to_pem(const X509* cert) -> std::string {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  require(bio != nullptr && PEM_write_bio_X509(bio.get(), cert) == 1, "writing a certificate");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(len)};
}

auto to_pem(EVP_PKEY* key) -> std::string {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  require(bio != nullptr &&
              PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "writing a private key");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(len)};
}

auto make_leaf(const leaf_spec& spec, X509* ca, EVP_PKEY* ca_key, const validity& when)
    -> issued_leaf {
  const std::string san = subject_alt_names(spec);
  if (san.empty()) {
    throw std::invalid_argument("certificates: leaf " + spec.id + " names no host and no IP");
  }
  auto key = new_key();
  auto cert = new_certificate(key.get(), spec.common_name, when);
  require(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)) == 1, "setting the issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca, cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ctx, NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), ctx, NID_ext_key_usage, spec.client ? "clientAuth" : "serverAuth");
  add_extension(cert.get(), ctx, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ctx, NID_authority_key_identifier, "keyid:always");
  add_extension(cert.get(), ctx, NID_subject_alt_name, san);
  require(X509_sign(cert.get(), ca_key, EVP_sha256()) > 0, "signing leaf " + spec.id);
  return issued_leaf{spec.id, to_pem(cert.get()), to_pem(key.get())};
}

void write_file(const std::filesystem::path& path, const std::string& text, bool secret) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (secret) {
    // Owner only before the key goes in.
    std::error_code ec;
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  }
  out << text;
  out.close();
  if (!out) {
    throw std::runtime_error("certificates: cannot write " + path.string());
  }
}

}  // namespace

auto certificate_set::leaf(const std::string& id) const -> const issued_leaf& {
  const auto it =
      std::find_if(leaves.begin(), leaves.end(), [&](const issued_leaf& l) { return l.id == id; });
  if (it == leaves.end()) {
    throw std::out_of_range("certificates: no leaf " + id);
  }
  return *it;
}

auto make_certificates(const std::string& ca_name, std::span<const leaf_spec> leaves,
                       const validity& when) -> certificate_set {
  ERR_clear_error();
  auto ca_key = new_key();
  auto ca = new_certificate(ca_key.get(), ca_name, when);
  require(X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())) == 1,
          "setting the CA's issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.get(), ca.get(), nullptr, nullptr, 0);
  add_extension(ca.get(), ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(ca.get(), ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ctx, NID_subject_key_identifier, "hash");
  require(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0, "signing the CA");

  certificate_set set;
  set.ca_cert_pem = to_pem(ca.get());
  set.ca_key_pem = to_pem(ca_key.get());
  for (const auto& spec : leaves) {
    set.leaves.push_back(make_leaf(spec, ca.get(), ca_key.get(), when));
  }
  return set;
}

auto write_certificates(const certificate_set& set, const std::filesystem::path& dir)
    -> certificate_files {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw std::runtime_error("certificates: cannot create " + dir.string() + ": " + ec.message());
  }
  certificate_files files;
  files.ca_file = dir / "ca.pem";
  write_file(files.ca_file, set.ca_cert_pem, false);
  for (const auto& leaf : set.leaves) {
    if (leaf.id.empty() || leaf.id.find('/') != std::string::npos || leaf.id.starts_with('.')) {
      throw std::invalid_argument("certificates: leaf id '" + leaf.id + "' cannot be a file name");
    }
    certificate_files::pair p{dir / (leaf.id + ".crt"), dir / (leaf.id + ".key")};
    write_file(p.cert_file, leaf.cert_pem, false);
    write_file(p.key_file, leaf.key_pem, true);
    files.leaves.emplace(leaf.id, std::move(p));
  }
  return files;
}

}  // namespace schsim::simulator::tls
