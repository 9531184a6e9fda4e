#include <schsim/core/clock.hpp>
#include <schsim/core/scenario/expand.hpp>
#include <schsim/core/timeline/recorder.hpp>
#include <schsim/engine/driver.hpp>
#include <schsim/harness/checks.hpp>
#include <schsim/harness/process.hpp>
#include <schsim/harness/runner.hpp>
#include <schsim/harness/workload.hpp>
#include <schsim/simulator/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <random>

namespace schsim::harness {

namespace {

namespace asio = boost::asio;
namespace v = schsim::verdict;
using asio::awaitable;
using asio::use_awaitable;
using nlohmann::json;
using std::chrono::milliseconds;
constexpr auto as_tuple_awaitable = asio::as_tuple(use_awaitable);

auto now_ns() -> std::int64_t { return to_ns(mono_clock::now()); }

/// What the driver has said so far; the reader coroutine fills it, the session waits on it.
struct driver_state {
  std::optional<json> hello;
  std::optional<json> configure_reply;
  std::optional<json> connect_reply;
  bool bye = false;
  bool eof = false;
  std::size_t results = 0;
  std::size_t bad_lines = 0;
};

class case_session {
 public:
  case_session(asio::io_context& io, const scenario::scenario& scn, const case_options& options,
               std::uint64_t seed, v::case_result& result)
      : io_(io),
        scn_(scn),
        options_(options),
        seed_(seed),
        result_(result),
        wake_(io),
        server_(io.get_executor(), engine::make_server_config(scn), recorder_) {}

  auto run() -> awaitable<void>;

  [[nodiscard]] auto events() const -> std::vector<timeline::event> { return recorder_.snapshot(); }
  [[nodiscard]] auto facts() const -> const driver_facts& { return facts_; }
  [[nodiscard]] auto server_endpoints() const -> std::vector<v::endpoint_ref> {
    std::vector<v::endpoint_ref> out;
    for (const auto& e : server_.endpoints()) {
      out.push_back({e.name, e.address()});
    }
    return out;
  }
  [[nodiscard]] auto unsupported_reason() const -> const std::string& { return unsupported_; }
  /// The outcome decided by the session (unsupported, crashed, hung, error), if any.
  [[nodiscard]] auto session_outcome() const -> std::optional<v::case_outcome> {
    return process_outcome_;
  }
  void harness_failed(std::string detail) {
    process_outcome_ = v::case_outcome::error;
    result_.outcome_detail = std::move(detail);
  }
  [[nodiscard]] auto stderr_tail() const -> std::string {
    return process_ ? process_->stderr_tail() : std::string();
  }

  /// Ends everything still pending so the io_context runs dry: the timeline, the simulator,
  /// the command schedule and the driver's pipes (a driver still running is killed later).
  void shutdown() {
    stopping_ = true;
    if (engine_) {
      engine_->stop();
    }
    server_.stop();
    issue_timer_.cancel();
    wake_.cancel();
    if (process_) {
      process_->close_pipes();
    }
  }

 private:
  void log(std::string_view text) const {
    if (options_.log) {
      options_.log(text);
    }
  }
  void note(std::string text) {
    // Keep the report bounded however chatty the driver is.
    if (result_.driver_log.size() < 400) {
      result_.driver_log.push_back(std::move(text));
    }
  }
  void notify() { wake_.cancel(); }

  /// Waits until `done()` or `deadline`; true when done.
  template <class Pred>
  auto wait_until(Pred done, std::int64_t deadline_ns) -> awaitable<bool> {
    while (!done()) {
      const auto now = now_ns();
      if (now >= deadline_ns) {
        co_return false;
      }
      wake_.expires_after(
          std::chrono::nanoseconds(std::min<std::int64_t>(deadline_ns - now, 50'000'000)));
      co_await wake_.async_wait(as_tuple_awaitable);
    }
    co_return true;
  }

  auto send(const json& message) -> awaitable<bool> {
    if (!process_ || state_.eof) {
      co_return false;
    }
    const std::string line = message.dump();
    log("-> " + line);
    co_return co_await process_->write_line(line);
  }

  auto reader() -> awaitable<void>;
  void handle_line(const std::string& line);
  auto issue_commands(std::vector<scheduled_command> schedule, std::int64_t origin_ns)
      -> awaitable<void>;
  auto finish_process(std::string_view why) -> awaitable<void>;
  void fail_case(v::case_outcome outcome, std::string detail) {
    if (!process_outcome_) {
      process_outcome_ = outcome;
      result_.outcome_detail = std::move(detail);
    }
  }
  auto timeout_of(std::chrono::milliseconds d) const -> std::int64_t {
    return now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  }

 private:
  std::optional<v::case_outcome> process_outcome_;  ///< set when the session itself went wrong
  asio::io_context& io_;
  const scenario::scenario& scn_;
  const case_options& options_;
  std::uint64_t seed_;
  v::case_result& result_;
  asio::steady_timer wake_;
  asio::steady_timer issue_timer_{io_};
  bool stopping_ = false;
  timeline::recorder recorder_;
  simulator::server server_;
  std::unique_ptr<engine::driver> engine_;
  std::unique_ptr<child_process> process_;
  driver_state state_;
  driver_facts facts_;
  std::map<std::uint64_t, std::size_t> index_of_;  // command id -> facts_.commands index
  bool issuing_done_ = false;
  bool engine_finished_ = false;
  std::string unsupported_;
};

void case_session::handle_line(const std::string& line) {
  if (line.empty()) {
    return;
  }
  json msg;
  try {
    msg = json::parse(line);
  } catch (const json::exception&) {
    ++state_.bad_lines;
    note("not JSON: " + line.substr(0, 300));
    return;
  }
  if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) {
    ++state_.bad_lines;
    note("no \"type\": " + line.substr(0, 300));
    return;
  }
  const auto type = msg["type"].get<std::string>();
  try {
    if (type == "result") {
      const auto id = msg.at("id").get<std::uint64_t>();
      const auto it = index_of_.find(id);
      if (it == index_of_.end()) {
        note("result for unknown command id " + std::to_string(id));
        return;
      }
      auto& cmd = facts_.commands[it->second];
      if (cmd.completed) {
        note("second result for command " + std::to_string(id) + ": " + line.substr(0, 200));
        return;
      }
      cmd.completed = true;
      cmd.ok = msg.value("ok", false);
      cmd.sent_ns = msg.value("sent_ns", cmd.issued_ns);
      cmd.done_ns = msg.value("t_ns", now_ns());
      if (cmd.ok) {
        cmd.reply = msg.contains("reply") && msg["reply"].is_string()
                        ? msg["reply"].get<std::string>()
                        : msg.value("reply", json()).dump();
      } else {
        cmd.error_class = msg.value("error_class", "other");
        cmd.message = msg.value("message", "");
      }
      ++state_.results;
    } else if (type == "hello") {
      state_.hello = msg;
    } else if (type == "configured" || type == "unsupported" ||
               (type == "error" && !state_.configure_reply)) {
      state_.configure_reply = msg;
      if (type == "error") {
        note("error: " + line.substr(0, 300));
      }
    } else if (type == "connected" || type == "connect_failed") {
      state_.connect_reply = msg;
    } else if (type == "bye") {
      state_.bye = true;
      note("bye: " + msg.value("stats", json::object()).dump());
    } else if (type == "event") {
      note(fmt::format(
          "event {:+.1f} ms {} {}",
          static_cast<double>(msg.value("t_ns", std::int64_t{0}) - result_.start_ns) / 1e6,
          msg.value("name", ""), msg.value("detail", json::object()).dump()));
    } else {
      note("message: " + line.substr(0, 300));
    }
  } catch (const json::exception& e) {
    ++state_.bad_lines;
    note(std::string("malformed ") + type + " (" + e.what() + "): " + line.substr(0, 300));
  }
}

auto case_session::reader() -> awaitable<void> {
  for (;;) {
    auto line = co_await process_->read_line();
    if (!line) {
      state_.eof = true;
      notify();
      co_return;
    }
    log("<- " + *line);
    handle_line(*line);
    notify();
  }
}

auto case_session::issue_commands(std::vector<scheduled_command> schedule, std::int64_t origin_ns)
    -> awaitable<void> {
  for (const auto& c : schedule) {
    const std::int64_t intended = origin_ns + c.offset.count();
    if (const auto wait = intended - now_ns(); wait > 0) {
      issue_timer_.expires_after(std::chrono::nanoseconds(wait));
      co_await issue_timer_.async_wait(as_tuple_awaitable);
    }
    if (stopping_ || state_.eof || process_outcome_) {
      break;
    }
    v::command_outcome out;
    out.id = c.id;
    out.args = c.args;
    out.purpose = c.purpose;
    out.intended_ns = intended;
    out.issued_ns = now_ns();
    index_of_[c.id] = facts_.commands.size();
    facts_.commands.push_back(out);
    json message;
    message["type"] = "command";
    message["id"] = c.id;
    message["args"] = c.args;
    message["intended_ns"] = intended;
    const bool written = co_await send(message);
    if (!written) {
      break;
    }
  }
  issuing_done_ = true;
  notify();
}

auto case_session::finish_process(std::string_view why) -> awaitable<void> {
  if (!process_) {
    co_return;
  }
  if (!process_->exited() && !state_.eof) {
    facts_.shutdown_ns = facts_.shutdown_ns != 0 ? facts_.shutdown_ns : now_ns();
    const json message1 = json{{"type", "shutdown"}};
    co_await send(message1);
    co_await wait_until([&] { return state_.bye || state_.eof; },
                        timeout_of(options_.reply_timeout / 2));
  }
  auto status = co_await process_->wait_for(milliseconds{5000});
  if (!status) {
    result_.process.killed_by_watchdog = true;
    fail_case(v::case_outcome::hung, fmt::format("the driver did not exit within 5 s of {}", why));
    status = co_await process_->stop(milliseconds{2000});
  }
  result_.process.exit_code = status->code;
  result_.process.signal = status->signal;
}

auto case_session::run() -> awaitable<void> {
  server_.start();
  const auto endpoints = server_.endpoints();
  const auto start = std::find_if(endpoints.begin(), endpoints.end(),
                                  [&](const auto& e) { return e.name == scn_.topo.start; });
  if (start == endpoints.end()) {
    fail_case(v::case_outcome::error, "the scenario's start endpoint was not started");
    co_return;
  }

  // 1. Start the driver.
  result_.client.command = fmt::format("{}", fmt::join(options_.client.argv, " "));
  try {
    auto env = options_.client.env;
    env.push_back("SCHSIM_CASE=" + scn_.meta.id);
    process_ = std::make_unique<child_process>(io_.get_executor(),
                                               process_spec{options_.client.argv, env});
  } catch (const std::exception& e) {
    fail_case(v::case_outcome::error, std::string("cannot start the client driver: ") + e.what());
    co_return;
  }
  result_.process.started = true;
  asio::co_spawn(io_, reader(), asio::detached);

  // 2. hello.
  const json message2 = json{{"type", "hello"}, {"protocol", 1}, {"case", scn_.meta.id}};
  co_await send(message2);
  if (!co_await wait_until([&] { return state_.hello || state_.eof; },
                           timeout_of(options_.reply_timeout))) {
    result_.process.killed_by_watchdog = true;
    fail_case(v::case_outcome::hung, "the driver did not answer hello");
    const auto s = co_await process_->stop(milliseconds{2000});
    result_.process.exit_code = s.code;
    result_.process.signal = s.signal;
    co_return;
  }
  if (!state_.hello) {
    const auto s = co_await process_->wait_for(milliseconds{3000});
    const auto status = s.value_or(exit_status{});
    result_.process.exit_code = status.code;
    result_.process.signal = status.signal;
    if (status.code == 127) {
      unsupported_ = "the driver exited with status 127 before hello (cannot run this client)";
      fail_case(v::case_outcome::unsupported, unsupported_);
    } else {
      fail_case(v::case_outcome::crashed,
                fmt::format("the driver {} before hello", status.describe()));
    }
    co_return;
  }
  const auto& hello = *state_.hello;
  auto& info = facts_.client;
  info.name = options_.client.name;
  info.command = result_.client.command;
  info.library = hello.value("client", "");
  info.version = hello.value("version", "");
  info.language = hello.value("language", "");
  if (hello.contains("capabilities") && hello["capabilities"].is_array()) {
    for (const auto& c : hello["capabilities"]) {
      if (c.is_string()) {
        info.capabilities.push_back(c.get<std::string>());
      }
    }
  }
  info.reply_timeout = hello.value("timeouts", json::object()).value("reply", "command");
  result_.client = info;

  std::vector<std::string> missing;
  for (const auto& cap : required_capabilities(scenario::expand(scn_))) {
    if (std::find(info.capabilities.begin(), info.capabilities.end(), cap) ==
        info.capabilities.end()) {
      missing.push_back(cap);
    }
  }
  if (!missing.empty()) {
    unsupported_ = fmt::format("the client lacks {}", fmt::join(missing, ", "));
    fail_case(v::case_outcome::unsupported, unsupported_);
    co_await finish_process("shutdown");
    co_return;
  }

  // 3. configure.
  const auto& s = scn_.client;
  json settings{
      {"protocol", s.protocol},
      {"mode", std::string(scenario::to_string(s.mode))},
      {"endpoint_type", std::string(scenario::to_string(s.moving_endpoint_type))},
      {"timeout_ms", s.timeout.count()},
      {"relaxed_timeout_ms", s.relaxed_timeout ? json(s.relaxed_timeout->count()) : json(nullptr)},
      {"post_handoff_relaxed_ms", s.post_handoff_relaxed.count()},
      {"pool_size", s.pool_size},
      {"username", s.user.empty() ? json(nullptr) : json(s.user)},
      {"password", s.password.empty() ? json(nullptr) : json(s.password)},
      {"retry_idempotent", false}};
  if (scn_.topo.cluster) {
    // The endpoint is the seed node: the driver builds its client's cluster client from it.
    settings["cluster"] = true;
  }
  const json message3 = json{{"type", "configure"},
                             {"endpoint", {{"host", start->host}, {"port", start->port}}},
                             {"settings", settings}};
  co_await send(message3);
  if (!co_await wait_until([&] { return state_.configure_reply || state_.eof; },
                           timeout_of(options_.reply_timeout)) ||
      !state_.configure_reply) {
    if (state_.eof) {
      fail_case(v::case_outcome::crashed, "the driver died during configure");
    } else {
      result_.process.killed_by_watchdog = true;
      fail_case(v::case_outcome::hung, "the driver did not answer configure");
    }
    co_await finish_process("configure");
    co_return;
  }
  const auto reply_type = state_.configure_reply->value("type", "");
  if (reply_type == "unsupported") {
    unsupported_ = fmt::format("the client cannot express {}: {}",
                               state_.configure_reply->value("feature", "a setting"),
                               state_.configure_reply->value("message", ""));
    fail_case(v::case_outcome::unsupported, unsupported_);
    co_await finish_process("shutdown");
    co_return;
  }
  if (reply_type != "configured") {
    fail_case(v::case_outcome::error,
              "the driver refused the configuration: " +
                  state_.configure_reply->value("message", state_.configure_reply->dump()));
    co_await finish_process("shutdown");
    co_return;
  }

  // 4. connect, then timeline and workload together.
  const json message4 = json{{"type", "connect"}};
  co_await send(message4);
  const auto connect_limit = milliseconds{std::max<std::int64_t>(
      10'000, 2 * std::max(s.timeout.count(), s.relaxed_timeout.value_or(s.timeout).count()))};
  co_await wait_until([&] { return state_.connect_reply || state_.eof; },
                      timeout_of(connect_limit));
  if (state_.connect_reply && state_.connect_reply->value("type", "") == "connected") {
    facts_.connect = connect_result::connected;
  } else {
    facts_.connect = connect_result::failed;
    facts_.connect_error_class =
        state_.connect_reply ? state_.connect_reply->value("error_class", "other") : "timeout";
    facts_.connect_message = state_.connect_reply ? state_.connect_reply->value("message", "")
                                                  : fmt::format("no answer to connect within {} ms",
                                                                connect_limit.count());
  }
  if (state_.connect_reply) {
    facts_.connect_ns = state_.connect_reply->value("t_ns", now_ns());
  }
  note(fmt::format("connect: {}",
                   state_.connect_reply ? state_.connect_reply->dump() : std::string("no answer")));

  engine_ = std::make_unique<engine::driver>(io_.get_executor(), server_, recorder_, scn_, seed_);
  const std::int64_t origin = now_ns();
  engine_->start([this](const std::string& error) {
    engine_finished_ = true;
    if (!error.empty()) {
      note("timeline: " + error);
    }
    notify();
  });
  auto schedule = facts_.connect == connect_result::connected
                      ? make_schedule(scn_.load, scn_.duration, seed_)
                      : std::vector<scheduled_command>{};
  const std::int64_t last_intended =
      origin + (schedule.empty() ? 0 : schedule.back().offset.count());
  asio::co_spawn(io_, issue_commands(std::move(schedule), origin), asio::detached);

  const std::int64_t run_end =
      origin + std::chrono::duration_cast<std::chrono::nanoseconds>(scn_.duration).count();
  const auto longest = std::max(s.timeout, s.relaxed_timeout.value_or(s.timeout));
  const std::int64_t watchdog =
      std::max(run_end, last_intended) +
      std::chrono::duration_cast<std::chrono::nanoseconds>(2 * longest + options_.watchdog_slack)
          .count();
  co_await wait_until([&] { return state_.eof || (issuing_done_ && now_ns() >= run_end); },
                      watchdog);
  co_await wait_until(
      [&] { return state_.eof || (issuing_done_ && state_.results >= facts_.commands.size()); },
      watchdog);
  facts_.shutdown_ns = now_ns();
  if (engine_) {
    engine_->stop();
  }

  if (state_.eof && !state_.bye) {
    const auto status = (co_await process_->wait_for(milliseconds{3000})).value_or(exit_status{});
    result_.process.exit_code = status.code;
    result_.process.signal = status.signal;
    if (!scn_.expect.client_may_exit) {
      fail_case(v::case_outcome::crashed,
                fmt::format("the driver {} during the run", status.describe()));
    } else {
      result_.outcome_detail =
          fmt::format("the driver {} during the run (allowed by the scenario)", status.describe());
    }
    co_return;
  }
  if (state_.results < facts_.commands.size()) {
    result_.process.killed_by_watchdog = true;
    fail_case(v::case_outcome::hung,
              fmt::format("{} of {} commands had no result {:.1f} s after the last was due; the "
                          "watchdog ended the driver",
                          facts_.commands.size() - state_.results, facts_.commands.size(),
                          static_cast<double>(watchdog - last_intended) / 1e9));
    const auto status = co_await process_->stop(milliseconds{2000});
    result_.process.exit_code = status.code;
    result_.process.signal = status.signal;
    co_return;
  }
  co_await finish_process("shutdown");
  if (state_.bad_lines > 0) {
    note(fmt::format("{} line(s) from the driver were not protocol messages", state_.bad_lines));
  }
}

}  // namespace

auto run_case(const scenario::scenario& scn, const case_options& options) -> verdict::case_result {
  v::case_result result;
  result.scenario_id = scn.meta.id;
  result.title = scn.meta.title;
  result.description = scn.meta.description;
  result.tags = scn.meta.tags;
  result.scenario_file = options.scenario_file;
  result.repetition = options.repetition;
  result.client.name = options.client.name;
  const std::uint64_t seed = options.seed ? *options.seed
                             : scn.seed   ? *scn.seed
                                          : std::random_device{}();
  result.seed = seed;
  result.start_ns = now_ns();

  asio::io_context io(1);
  std::optional<case_session> session;
  try {
    session.emplace(io, scn, options, seed, result);
  } catch (const std::exception& e) {
    result.outcome = v::case_outcome::error;
    result.outcome_detail = std::string("cannot set up the simulator: ") + e.what();
    result.end_ns = now_ns();
    return result;
  }
  std::exception_ptr failure;
  asio::co_spawn(io, session->run(), [&](std::exception_ptr e) {
    failure = e;
    session->shutdown();
  });
  io.run();
  result.process.stderr_tail = session->stderr_tail();
  result.end_ns = now_ns();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      session->harness_failed(std::string("harness error: ") + e.what());
    }
  }

  // The reports are written whatever happened, with whatever evidence there is.
  result.timeline = session->events();
  result.endpoints = session->server_endpoints();
  const auto& facts = session->facts();
  if (!facts.client.library.empty()) {
    result.client = facts.client;
  }
  result.commands = facts.commands;
  // Checks read the timeline the engine ran: composite steps expanded into the steps whose ids
  // the recorded events carry.
  const auto expanded = scenario::expand(scn);
  const check_input input{expanded, result.timeline, facts, result.endpoints, result.start_ns};
  result.windows = derive_windows(input);
  const auto outcome = session->session_outcome();
  if (outcome == v::case_outcome::unsupported) {
    for (const auto id : all_check_ids()) {
      v::check_result r;
      r.id = std::string(id);
      r.outcome = v::status::unsupported;
      r.summary = session->unsupported_reason();
      result.checks.push_back(r);
    }
  } else if (outcome != v::case_outcome::error || !result.timeline.empty()) {
    result.checks = run_checks(input);
  }
  result.outcome = outcome ? *outcome : v::outcome_from_checks(result.checks);
  return result;
}

}  // namespace schsim::harness
