#include <schsim/harness/process.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <system_error>

#include <sys/socket.h>
#include <unistd.h>

// Its own namespace: CI compiles the tests as unity builds, where file-local names of
// different test files meet.
namespace process_test {
namespace {

namespace asio = boost::asio;
using schsim::harness::child_process;
using schsim::harness::exit_status;
using schsim::harness::process_spec;
using std::chrono::milliseconds;

/// Runs `body` as a coroutine on a fresh io_context and returns its result.
template <class F>
auto run(F body) {
  asio::io_context io;
  auto future = asio::co_spawn(io, body(io), asio::use_future);
  io.run();
  return future.get();
}

TEST(ChildProcess, ReadsStdoutKeepsStderrTailAndExitStatus) {
  const auto [line, second, status, tail] =
      run([](asio::io_context& io)
              -> asio::awaitable<std::tuple<std::optional<std::string>, std::optional<std::string>,
                                            exit_status, std::string>> {
        child_process p(
            io.get_executor(),
            process_spec{{"sh", "-c", "read x; echo \"got $x\"; echo oops >&2; exit 3"}, {}});
        co_await p.write_line("hello");
        auto first = co_await p.read_line();
        auto eof = co_await p.read_line();
        auto s = co_await p.wait();
        co_return std::make_tuple(first, eof, s, p.stderr_tail());
      });
  EXPECT_EQ(line, "got hello");
  EXPECT_FALSE(second);
  EXPECT_EQ(status.code, 3);
  EXPECT_EQ(tail, "oops\n");
}

// Issue 18 item 3: a runaway line is cut at the limit without being buffered, and the reader
// learns how long it really was, so the harness can report it.
TEST(ChildProcess, ALineOverTheLimitIsCutAndItsLengthKept) {
  const auto [head, length, next] =
      run([](asio::io_context& io)
              -> asio::awaitable<std::tuple<std::string, std::size_t, std::string>> {
        child_process p(io.get_executor(),
                        process_spec{{"sh", "-c",
                                      "head -c 300000 /dev/zero | tr '\\0' x; echo;"
                                      " echo short"},
                                     {}});
        auto first = co_await p.read_line(1000);
        const auto first_length = p.last_line_length();
        auto second = co_await p.read_line(1000);
        co_await p.wait();
        co_return std::make_tuple(first.value_or(""), first_length, second.value_or(""));
      });
  EXPECT_EQ(head, std::string(1000, 'x'));
  EXPECT_EQ(length, 300000U);
  EXPECT_EQ(next, "short");
}

TEST(ChildProcess, InheritsOnlyItsThreeStandardDescriptors) {
  // A socket without close-on-exec, as Asio opens them: the driver must not keep it open, or a
  // scenario's RST on another case's connection is held back until this driver exits.
  const int leaked = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(leaked, 3);
  const auto listing = run([](asio::io_context& io) -> asio::awaitable<std::string> {
    // The glob's own directory descriptor is closed by the time readlink runs, so only
    // inherited descriptors are listed.
    const std::string script = "for f in /proc/$$/fd/*; do readlink $f; done | tr '\\n' ' '; echo";
    child_process p(io.get_executor(), process_spec{{"sh", "-c", script}, {}});
    auto line = co_await p.read_line();
    co_await p.wait();
    co_return line.value_or("");
  });
  ::close(leaked);
  EXPECT_EQ(listing.find("socket:"), std::string::npos) << listing;
  EXPECT_NE(listing.find("pipe:"), std::string::npos) << listing;
}

TEST(ChildProcess, StopEndsTheWholeProcessGroup) {
  const auto status = run([](asio::io_context& io) -> asio::awaitable<exit_status> {
    // The shell ignores SIGTERM and its child sleeps: only SIGKILL to the group ends both.
    child_process p(io.get_executor(),
                    process_spec{{"sh", "-c", "trap '' TERM; sleep 30 & echo ready; wait"}, {}});
    co_await p.read_line();  // the trap is set
    co_return co_await p.stop(milliseconds{200});
  });
  EXPECT_EQ(status.signal, SIGKILL);
  EXPECT_FALSE(status.code);
}

TEST(ChildProcess, WaitForTimesOut) {
  const auto still_running = run([](asio::io_context& io) -> asio::awaitable<bool> {
    child_process p(io.get_executor(), process_spec{{"sleep", "5"}, {}});
    const auto s = co_await p.wait_for(milliseconds{50});
    co_return !s.has_value();
  });
  EXPECT_TRUE(still_running);
}

TEST(ChildProcess, PassesExtraEnvironment) {
  const auto line = run([](asio::io_context& io) -> asio::awaitable<std::optional<std::string>> {
    child_process p(io.get_executor(),
                    process_spec{{"sh", "-c", "echo $SCHSIM_CASE"}, {"SCHSIM_CASE=moving-basic"}});
    auto l = co_await p.read_line();
    co_await p.wait();
    co_return l;
  });
  EXPECT_EQ(line, "moving-basic");
}

TEST(ChildProcess, MissingProgramThrows) {
  asio::io_context io;
  EXPECT_THROW(child_process(io.get_executor(), process_spec{{"/nonexistent/driver"}, {}}),
               std::system_error);
}

TEST(ChildProcess, DescribesExits) {
  EXPECT_EQ((exit_status{1, std::nullopt}).describe(), "exited with status 1");
  EXPECT_NE((exit_status{std::nullopt, SIGKILL}).describe().find("killed by signal 9"),
            std::string::npos);
}

TEST(SplitCommandLine, ShellWords) {
  using schsim::harness::split_command_line;
  EXPECT_EQ(split_command_line("node driver.js --x=1"),
            (std::vector<std::string>{"node", "driver.js", "--x=1"}));
  EXPECT_EQ(split_command_line(R"(python3 'my driver.py' "a \"b\"" c\ d)"),
            (std::vector<std::string>{"python3", "my driver.py", "a \"b\"", "c d"}));
  EXPECT_THROW(split_command_line("oops 'unterminated"), std::invalid_argument);
}

}  // namespace
}  // namespace process_test
