// Malformed input: the offending connection gets Redis's `-ERR Protocol error: ...` and is
// closed; the protocol_error event is recorded; other connections carry on.
#include <gtest/gtest.h>

#include <string>

#include "support/sim_fixture.hpp"
#include "support/test_client.hpp"

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace simulator_bad_input_test {
namespace {

using schsim::testing::events_of;
using schsim::testing::read_end;
using schsim::testing::sim_fixture;
using schsim::testing::test_client;
namespace tl = schsim::timeline;

constexpr std::string_view ping = "*1\r\n$4\r\nPING\r\n";

struct bad_input_case {
  const char* name;
  std::string bytes;
  std::string reply;  ///< the full expected output before the close
};

auto repeat(std::string_view s, int n) -> std::string {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

auto case_name(const ::testing::TestParamInfo<bad_input_case>& p) -> std::string {
  return p.param.name;
}

class BadInput : public ::testing::TestWithParam<bad_input_case> {};

TEST_P(BadInput, AnswersProtocolErrorClosesAndRecords) {
  const auto& param = GetParam();
  sim_fixture f(sim_fixture::single());
  test_client bystander(f.port());
  ASSERT_EQ(bystander.roundtrip(ping), "+PONG\r\n");

  test_client c(f.port());
  const auto id = f.conn_id(c.local_port());
  c.write(param.bytes);
  EXPECT_EQ(c.read_until_closed(), param.reply);
  EXPECT_EQ(c.last_end(), read_end::eof);

  const auto ev = f.wait_for([id](const tl::event& e) {
    return e.conn == id && std::holds_alternative<tl::connection_closed>(e.what);
  });
  ASSERT_TRUE(ev);
  const auto& closed = std::get<tl::connection_closed>(ev->what);
  EXPECT_EQ(closed.by, tl::close_initiator::server);
  EXPECT_EQ(closed.reason, "protocol error");
  const auto errors = events_of<tl::protocol_error>(f.events(), id);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ("-ERR " + errors[0].message + "\r\n",
            param.reply.substr(param.reply.rfind("-ERR Protocol error")));

  EXPECT_EQ(bystander.roundtrip(ping), "+PONG\r\n");
  test_client fresh(f.port());
  EXPECT_EQ(fresh.roundtrip(ping), "+PONG\r\n");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadInput,
    ::testing::Values(bad_input_case{"malformed_bulk_length", "*1\r\n$x\r\nPING\r\n",
                                     "-ERR Protocol error: invalid bulk length\r\n"},
                      bad_input_case{"malformed_multibulk_length", "*x\r\n",
                                     "-ERR Protocol error: invalid multibulk length\r\n"},
                      bad_input_case{"non_bulk_element", "*1\r\n:1\r\n",
                                     "-ERR Protocol error: expected '$', got ':'\r\n"},
                      bad_input_case{"oversized_bulk", "*1\r\n$99999999999\r\n",
                                     "-ERR Protocol error: invalid bulk length\r\n"},
                      bad_input_case{"oversized_aggregate", "*99999999999\r\n",
                                     "-ERR Protocol error: invalid multibulk length\r\n"},
                      bad_input_case{"deep_nesting", repeat("*1\r\n", 100),
                                     "-ERR Protocol error: max nesting depth exceeded\r\n"},
                      bad_input_case{"too_long_inline", std::string(70 * 1024, 'a'),
                                     "-ERR Protocol error: too big inline request\r\n"},
                      bad_input_case{"unbalanced_quotes", "SET k \"abc\r\n",
                                     "-ERR Protocol error: unbalanced quotes in request\r\n"},
                      bad_input_case{
                          "good_commands_first_are_answered",
                          "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$z\r\n",
                          "+PONG\r\n$2\r\nhi\r\n-ERR Protocol error: invalid bulk length\r\n"}),
    case_name);

TEST(BadInputSplit, ErrorIsFoundWhenTheBadBytesArriveInPieces) {
  sim_fixture f(sim_fixture::single());
  test_client c(f.port());
  c.write("*1\r\n$");
  ASSERT_EQ(c.roundtrip("4\r\nPING\r\n"), "+PONG\r\n");
  c.write("*1\r\n$-");
  c.write("5\r\n");
  EXPECT_EQ(c.read_until_closed(), "-ERR Protocol error: invalid bulk length\r\n");
  const auto errors = events_of<tl::protocol_error>(f.events());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_GE(errors[0].offset, 14u);  // past the PING that was fine
}

}  // namespace
}  // namespace simulator_bad_input_test
