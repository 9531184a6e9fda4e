#pragma once
// Per-run TLS certificates: a throwaway CA and one leaf per TLS endpoint (plus a client leaf for
// mutual TLS), made with OpenSSL's C API. make_certificates() works in memory (PEM strings);
// write_certificates() is the only part that touches the file system.

#include <chrono>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace schsim::simulator::tls {

/// What one leaf certificate names.
struct leaf_spec {
  /// Key of the leaf in the result (an endpoint's name, or "client").
  std::string id;
  /// Subject common name; also what the leaf is listed under in messages.
  std::string common_name;
  /// subjectAltName DNS entries (host names a client may verify against).
  std::vector<std::string> dns_names;
  /// subjectAltName IP entries (IPv4 or IPv6 literals).
  std::vector<std::string> ip_addresses;
  /// A client certificate (extendedKeyUsage clientAuth) rather than a server one (serverAuth).
  bool client = false;
};

struct issued_leaf {
  std::string id;
  std::string cert_pem;
  std::string key_pem;
};

struct certificate_set {
  std::string ca_cert_pem;
  std::string ca_key_pem;
  std::vector<issued_leaf> leaves;
  /// The leaf with this id; throws std::out_of_range when there is none.
  [[nodiscard]] auto leaf(const std::string& id) const -> const issued_leaf&;
};

/// Validity window of every certificate of the set.
struct validity {
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::duration lifetime = std::chrono::hours(24);
};

/**
 * Makes a new CA (EC P-256, self-signed, CA:TRUE) and one leaf per spec signed by it, each
 * valid from `when.not_before` for `when.lifetime`. Keys are fresh on every call; nothing is
 * reused between runs. Throws std::runtime_error with OpenSSL's reason on failure, and
 * std::invalid_argument for an IP entry that is not an address.
 */
auto make_certificates(const std::string& ca_name, std::span<const leaf_spec> leaves,
                       const validity& when) -> certificate_set;

/// Paths of a certificate set written to disk.
struct certificate_files {
  std::filesystem::path ca_file;
  struct pair {
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
  };
  std::map<std::string, pair> leaves;  ///< by leaf id
};

/// Writes `ca.pem` and `<id>.crt` / `<id>.key` per leaf into `dir` (created if missing; keys
/// readable by the owner only). The CA's key is not written: nothing needs it after issuing.
/// Throws std::runtime_error naming the path that could not be written.
auto write_certificates(const certificate_set& set, const std::filesystem::path& dir)
    -> certificate_files;

}  // namespace schsim::simulator::tls
