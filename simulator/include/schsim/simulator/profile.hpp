#pragma once

#include <string>
#include <vector>

namespace schsim::simulator {

/// An ACL user (`AUTH user pass`, `HELLO 3 AUTH user pass`).
struct acl_user {
  std::string name;
  std::string password;
};

/// What kind of server an endpoint pretends to be.
struct endpoint_profile {
  /// Answers CLIENT MAINT_NOTIFICATIONS; when false, the exact open-source error
  /// `-ERR unknown subcommand '<as sent>'. Try CLIENT HELP.`
  bool sch_supported = true;
  /// Accepts HELLO 3; when false, HELLO 3 gets `-NOPROTO unsupported protocol version`
  /// (RESP2-only).
  bool resp3_supported = true;
  /// `requirepass` for the default user; empty means no password.
  std::string requirepass;
  std::vector<acl_user> users;
  std::string server_version = "7.4.0";
};

}  // namespace schsim::simulator
