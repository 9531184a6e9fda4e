#pragma once

#include <schsim/core/verdict.hpp>

#include <string>

namespace schsim::reports {

/**
 * @brief JUnit XML for CI: one <testsuite> per case, one <testcase> per check.
 *
 * A failed check is a <failure>; unsupported and skipped checks are <skipped>; a crashed or
 * hung driver adds a "session" test case with an <error> holding the stderr tail. A failed
 * non-critical check is reported in the name and in <system-out>, not as a failure.
 */
auto to_junit_xml(const verdict::run_result& run) -> std::string;

}  // namespace schsim::reports
