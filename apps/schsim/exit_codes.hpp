#pragma once

namespace schsim::app {

/// Exit codes, documented in the README; CI scripts depend on them.
enum exit_code : int {
  ok = 0,                  ///< everything passed / the command succeeded
  check_failed = 1,        ///< a conformance check failed
  usage_error = 2,         ///< bad command line or bad scenario file
  client_unsupported = 3,  ///< the client under test declared a needed feature unsupported
  client_crashed = 4,      ///< the client under test crashed or hung (watchdog)
  internal_error = 70,     ///< a bug in schsim (EX_SOFTWARE)
};

}  // namespace schsim::app
