#include <schsim/core/clock.hpp>
#include <schsim/core/scenario/expand.hpp>
#include <schsim/core/scenario/limits.hpp>
#include <schsim/core/timeline/recorder.hpp>
#include <schsim/engine/driver.hpp>
#include <schsim/harness/checks.hpp>
#include <schsim/harness/process.hpp>
#include <schsim/harness/runner.hpp>
#include <schsim/harness/workload.hpp>
#include <schsim/simulator/certificates.hpp>
#include <schsim/simulator/pubsub.hpp>
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
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "blocking_protocol.hpp"

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

/// How much of an offending driver line the evidence quotes.
constexpr std::size_t quoted_line_bytes = 200;

/// The start of `line` for the evidence, with how much was left out.
auto quote_line(std::string_view line, std::size_t full_length) -> std::string {
  const auto shown = line.substr(0, quoted_line_bytes);
  return full_length > shown.size()
             ? fmt::format("\"{}\" ... ({} bytes in all)", shown, full_length)
             : fmt::format("\"{}\"", shown);
}

/// What the driver has said so far; the reader coroutine fills it, the session waits on it.
struct driver_state {
  std::optional<json> hello;
  std::optional<json> configure_reply;
  std::optional<json> connect_reply;
  std::optional<json> subscribe_reply;
  std::optional<json> block_reply;
  bool bye = false;
  bool eof = false;
  std::size_t results = 0;
  std::size_t transaction_results = 0;
  std::size_t protocol_errors = 0;  ///< messages the session could skip (named in driver_log)
  bool protocol_broken = false;     ///< a line the session could not continue from
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
        certs_(engine::make_run_certificates(scn)),
        server_(io.get_executor(), engine::make_server_config(scn, certs_ ? &*certs_ : nullptr),
                recorder_) {}
  ~case_session() {
    if (!tls_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(tls_dir_, ec);
    }
  }
  case_session(const case_session&) = delete;
  auto operator=(const case_session&) -> case_session& = delete;

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
  /// True once the scenario's timeline was started (the driver connected or failed to).
  [[nodiscard]] auto timeline_started() const -> bool { return engine_ != nullptr; }
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
    publish_timer_.cancel();
    produce_timer_.cancel();
    transaction_timer_.cancel();
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
  void handle_line(const std::string& line, std::size_t full_length);
  void handle_result(const json& msg, const std::string& line);
  /// The driver broke the protocol in a way the session cannot continue from (a line that is
  /// not a JSON message, or one over the length limit): the case ends as an error quoting it.
  void protocol_violation(std::string what, const std::string& line, std::size_t full_length);
  void handle_message(const json& msg);
  void handle_transaction_result(const json& msg, const std::string& line);
  auto issue_transactions(std::vector<scheduled_transaction> schedule, std::int64_t origin_ns)
      -> awaitable<void>;
  /// Every command and transaction issued so far has its result.
  [[nodiscard]] auto all_answered() const -> bool {
    return state_.results >= facts_.commands.size() &&
           state_.transaction_results >= facts_.transactions.size();
  }
  auto subscribe_driver() -> awaitable<void>;
  auto publish_messages(std::int64_t origin_ns) -> awaitable<void>;
  auto block_driver() -> awaitable<void>;
  auto produce_elements(std::int64_t origin_ns) -> awaitable<void>;
  auto issue_commands(std::vector<scheduled_command> schedule, std::int64_t origin_ns)
      -> awaitable<void>;
  auto finish_process(std::string_view why) -> awaitable<void>;

  /// When the run's phases end (CLOCK_MONOTONIC ns).
  struct run_deadlines {
    std::int64_t run_end = 0;        ///< the scenario's duration after the timeline started
    std::int64_t last_intended = 0;  ///< the last command's intended time
    std::int64_t watchdog = 0;       ///< the latest moment any result may still come
  };
  // The session's phases, in order; each returns false when the case ends there.
  auto start_driver() -> bool;
  auto exchange_hello() -> awaitable<bool>;
  void read_client_info(const json& hello);
  auto gate_on_capabilities() -> awaitable<bool>;
  [[nodiscard]] auto client_settings() const -> json;
  /// Writes the run's certificates to a directory of the case's own; false when it cannot.
  auto write_tls_files() -> bool;
  /// configure's `tls` object when the start endpoint speaks TLS, else null.
  [[nodiscard]] auto tls_settings() const -> json;
  auto configure_driver(const std::string& host, std::uint16_t port) -> awaitable<bool>;
  auto connect_driver() -> awaitable<void>;
  auto start_timeline_and_workload() -> run_deadlines;
  auto wait_for_the_run(const run_deadlines& d) -> awaitable<void>;
  auto end_session(const run_deadlines& d) -> awaitable<void>;
  void record_exit(const exit_status& status);
  [[nodiscard]] auto longest_timeout() const -> milliseconds;
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
  asio::steady_timer publish_timer_{io_};
  asio::steady_timer produce_timer_{io_};
  asio::steady_timer transaction_timer_{io_};
  bool stopping_ = false;
  timeline::recorder recorder_;
  /// The run's certificates (TLS endpoints only), written to tls_dir_ for the driver.
  std::optional<simulator::tls::certificate_set> certs_;
  std::filesystem::path tls_dir_;
  std::optional<simulator::tls::certificate_files> tls_files_;
  simulator::server server_;
  std::unique_ptr<engine::driver> engine_;
  std::unique_ptr<child_process> process_;
  driver_state state_;
  driver_facts facts_;
  std::map<std::uint64_t, std::size_t> index_of_;     // command id -> facts_.commands index
  std::map<std::uint64_t, std::size_t> tx_index_of_;  // transaction id -> facts_.transactions
  std::size_t line_number_ = 0;                       // 1-based number of the driver's last line
  bool issuing_done_ = false;
  bool transactions_done_ = true;  // set false while the transactions workload issues
  bool engine_finished_ = false;
  std::string unsupported_;
};

void case_session::protocol_violation(std::string what, const std::string& line,
                                      std::size_t full_length) {
  const auto detail = fmt::format("{}: driver stdout line {} {}: {}", driver_protocol_error_prefix,
                                  line_number_, what, quote_line(line, full_length));
  note(detail);
  fail_case(v::case_outcome::error, detail);
  // Nothing the driver says after this can be trusted to line up: end it now.
  state_.protocol_broken = true;
  state_.eof = true;
  if (process_) {
    process_->kill();
  }
}

void case_session::handle_result(const json& msg, const std::string& line) {
  const auto id = msg.at("id").get<std::uint64_t>();
  const auto it = index_of_.find(id);
  if (it == index_of_.end()) {
    note(fmt::format("{}: driver stdout line {}: result for unknown command id {}: {}",
                     driver_protocol_error_prefix, line_number_, id,
                     quote_line(line, line.size())));
    ++state_.protocol_errors;
    return;
  }
  auto& cmd = facts_.commands[it->second];
  if (cmd.completed) {
    note(
        fmt::format("{}: driver stdout line {}: second result for command {} (the first is "
                    "kept): {}",
                    driver_protocol_error_prefix, line_number_, id, quote_line(line, line.size())));
    ++state_.protocol_errors;
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
}

void case_session::handle_message(const json& msg) {
  delivered_message m;
  m.channel = msg.at("channel").get<std::string>();
  m.payload = msg.at("payload").get<std::string>();
  if (msg.contains("pattern") && msg["pattern"].is_string()) {
    m.pattern = msg["pattern"].get<std::string>();
  }
  m.seq = simulator::payload_seq(m.payload);
  m.t_ns = msg.value("t_ns", now_ns());
  facts_.pubsub.messages.push_back(std::move(m));
}

/// A transaction's result: executed with its replies, or failed with why.
void case_session::handle_transaction_result(const json& msg, const std::string& line) {
  const auto id = msg.at("id").get<std::uint64_t>();
  const auto it = tx_index_of_.find(id);
  if (it == tx_index_of_.end() || facts_.transactions[it->second].completed) {
    note(fmt::format("{}: driver stdout line {}: {} for transaction {}: {}",
                     driver_protocol_error_prefix, line_number_,
                     it == tx_index_of_.end() ? "result" : "second result", id,
                     quote_line(line, line.size())));
    ++state_.protocol_errors;
    return;
  }
  auto& tx = facts_.transactions[it->second];
  tx.completed = true;
  tx.ok = msg.value("ok", false);
  tx.sent_ns = msg.value("sent_ns", tx.issued_ns);
  tx.done_ns = msg.value("t_ns", now_ns());
  if (tx.ok) {
    for (const auto& reply : msg.value("replies", json::array())) {
      tx.replies.push_back(reply.is_string() ? reply.get<std::string>() : reply.dump());
    }
  } else {
    tx.error_class = msg.value("error_class", "other");
    tx.message = msg.value("message", "");
  }
  ++state_.transaction_results;
}

void case_session::handle_line(const std::string& line, std::size_t full_length) {
  if (full_length > line.size()) {
    protocol_violation(fmt::format("is longer than the {}-byte limit", max_driver_line_bytes), line,
                       full_length);
    return;
  }
  if (line.empty()) {
    return;
  }
  json msg;
  try {
    msg = json::parse(line);
  } catch (const json::exception&) {
    protocol_violation("is not JSON", line, full_length);
    return;
  }
  if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) {
    protocol_violation("is not a message (a JSON object with a string \"type\")", line,
                       full_length);
    return;
  }
  const auto type = msg["type"].get<std::string>();
  try {
    if (type == "result") {
      handle_result(msg, line);
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
    } else if (type == "transaction_result") {
      handle_transaction_result(msg, line);
    } else if (type == "message") {
      handle_message(msg);
    } else if (type == "subscribed" || type == "subscribe_failed") {
      state_.subscribe_reply = msg;
    } else if (detail::is_block_report(type)) {
      facts_.blocking.reports.push_back(detail::parse_block_report(msg, now_ns()));
    } else if (type == "block_started" || type == "block_failed") {
      state_.block_reply = msg;
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
    ++state_.protocol_errors;
    note(fmt::format("{}: driver stdout line {}: malformed {} ({}): {}",
                     driver_protocol_error_prefix, line_number_, type, e.what(),
                     quote_line(line, line.size())));
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
    ++line_number_;
    log("<- " + *line);
    handle_line(*line, process_->last_line_length());
    notify();
    if (state_.protocol_broken) {
      co_return;
    }
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

/// The transactions workload: each block sent whole in one `transaction` message at its
/// intended time, beside the commands (open-loop too: nothing waits for a result).
auto case_session::issue_transactions(std::vector<scheduled_transaction> schedule,
                                      std::int64_t origin_ns) -> awaitable<void> {
  for (auto& t : schedule) {
    const std::int64_t intended = origin_ns + t.offset.count();
    if (const auto wait = intended - now_ns(); wait > 0) {
      transaction_timer_.expires_after(std::chrono::nanoseconds(wait));
      co_await transaction_timer_.async_wait(as_tuple_awaitable);
    }
    if (stopping_ || state_.eof || process_outcome_) {
      break;
    }
    transaction_outcome out;
    out.id = t.id;
    out.watch = t.watch;
    out.commands = t.commands;
    out.intended_ns = intended;
    out.issued_ns = now_ns();
    tx_index_of_[t.id] = facts_.transactions.size();
    facts_.transactions.push_back(out);
    const json message = {{"type", "transaction"},
                          {"id", t.id},
                          {"watch", t.watch},
                          {"commands", t.commands},
                          {"intended_ns", intended}};
    if (!co_await send(message)) {
      break;
    }
  }
  transactions_done_ = true;
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
  if (!write_tls_files() || !start_driver()) {
    co_return;
  }
  if (!co_await exchange_hello() || !co_await gate_on_capabilities() ||
      !co_await configure_driver(start->host, start->port)) {
    co_return;
  }
  co_await connect_driver();
  co_await subscribe_driver();
  co_await block_driver();
  const auto deadlines = start_timeline_and_workload();
  co_await wait_for_the_run(deadlines);
  co_await end_session(deadlines);
}

auto case_session::start_driver() -> bool {
  result_.client.command = fmt::format("{}", fmt::join(options_.client.argv, " "));
  try {
    auto env = options_.client.env;
    env.push_back("SCHSIM_CASE=" + scn_.meta.id);
    process_ = std::make_unique<child_process>(io_.get_executor(),
                                               process_spec{options_.client.argv, env});
  } catch (const std::exception& e) {
    fail_case(v::case_outcome::error, std::string("cannot start the client driver: ") + e.what());
    return false;
  }
  result_.process.started = true;
  asio::co_spawn(io_, reader(), asio::detached);
  return true;
}

void case_session::record_exit(const exit_status& status) {
  result_.process.exit_code = status.code;
  result_.process.signal = status.signal;
}

auto case_session::exchange_hello() -> awaitable<bool> {
  const json hello_message = json{{"type", "hello"}, {"protocol", 1}, {"case", scn_.meta.id}};
  co_await send(hello_message);
  if (!co_await wait_until([&] { return state_.hello || state_.eof; },
                           timeout_of(options_.reply_timeout))) {
    result_.process.killed_by_watchdog = true;
    fail_case(v::case_outcome::hung, "the driver did not answer hello");
    record_exit(co_await process_->stop(milliseconds{2000}));
    co_return false;
  }
  if (!state_.hello) {
    const auto status = (co_await process_->wait_for(milliseconds{3000})).value_or(exit_status{});
    record_exit(status);
    if (status.code == 127) {
      unsupported_ = "the driver exited with status 127 before hello (cannot run this client)";
      fail_case(v::case_outcome::unsupported, unsupported_);
    } else {
      fail_case(v::case_outcome::crashed,
                fmt::format("the driver {} before hello", status.describe()));
    }
    co_return false;
  }
  read_client_info(*state_.hello);
  co_return true;
}

void case_session::read_client_info(const json& hello) {
  auto& info = facts_.client;
  info.command = result_.client.command;
  info.library = hello.value("client", "");
  info.version = hello.value("version", "");
  info.name = options_.client.name_from_hello && !info.library.empty()
                  ? client_name_from_hello(info.library, info.version)
                  : options_.client.name;
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
}

auto case_session::gate_on_capabilities() -> awaitable<bool> {
  const auto& have = facts_.client.capabilities;
  std::vector<std::string> missing;
  for (const auto& cap : required_capabilities(scenario::expand(scn_))) {
    if (std::find(have.begin(), have.end(), cap) == have.end()) {
      missing.push_back(cap);
    }
  }
  if (missing.empty()) {
    co_return true;
  }
  unsupported_ = fmt::format("the client lacks {}", fmt::join(missing, ", "));
  fail_case(v::case_outcome::unsupported, unsupported_);
  co_await finish_process("shutdown");
  co_return false;
}

auto case_session::client_settings() const -> json {
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
  return settings;
}

auto case_session::write_tls_files() -> bool {
  if (!certs_) {
    return true;
  }
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "schsim-tls-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) {
    fail_case(v::case_outcome::error,
              fmt::format("cannot create a directory for the run's certificates in {}: {}",
                          std::filesystem::temp_directory_path().string(), std::strerror(errno)));
    return false;
  }
  tls_dir_ = dir_template;
  try {
    tls_files_ = simulator::tls::write_certificates(*certs_, tls_dir_);
  } catch (const std::exception& e) {
    fail_case(v::case_outcome::error, e.what());
    return false;
  }
  return true;
}

auto case_session::tls_settings() const -> json {
  const auto* start = scn_.topo.find(scn_.topo.start);
  if (start == nullptr || !start->tls || !tls_files_) {
    return nullptr;
  }
  json tls{{"ca_file", tls_files_->ca_file.string()},
           {"server_name", engine::tls_server_name(*start)}};
  const auto client = tls_files_->leaves.find(engine::client_certificate_id);
  if (client != tls_files_->leaves.end()) {
    tls["cert_file"] = client->second.cert_file.string();
    tls["key_file"] = client->second.key_file.string();
  }
  return tls;
}

auto case_session::configure_driver(const std::string& host, std::uint16_t port)
    -> awaitable<bool> {
  json configure = json{{"type", "configure"},
                        {"endpoint", {{"host", host}, {"port", port}}},
                        {"settings", client_settings()}};
  if (auto tls = tls_settings(); !tls.is_null()) {
    configure["tls"] = std::move(tls);
  }
  co_await send(configure);
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
    co_return false;
  }
  const auto& reply = *state_.configure_reply;
  const auto reply_type = reply.value("type", "");
  if (reply_type == "configured") {
    co_return true;
  }
  if (reply_type == "unsupported") {
    unsupported_ = fmt::format("the client cannot express {}: {}",
                               reply.value("feature", "a setting"), reply.value("message", ""));
    fail_case(v::case_outcome::unsupported, unsupported_);
  } else {
    fail_case(v::case_outcome::error,
              "the driver refused the configuration: " + reply.value("message", reply.dump()));
  }
  co_await finish_process("shutdown");
  co_return false;
}

auto case_session::longest_timeout() const -> milliseconds {
  const auto& s = scn_.client;
  return std::max(s.timeout, s.relaxed_timeout.value_or(s.timeout));
}

auto case_session::connect_driver() -> awaitable<void> {
  const json connect = json{{"type", "connect"}};
  co_await send(connect);
  const auto connect_limit =
      milliseconds{std::max<std::int64_t>(10'000, 2 * longest_timeout().count())};
  co_await wait_until([&] { return state_.connect_reply || state_.eof; },
                      timeout_of(connect_limit));
  const auto& reply = state_.connect_reply;
  if (reply && reply->value("type", "") == "connected") {
    facts_.connect = connect_result::connected;
  } else {
    facts_.connect = connect_result::failed;
    facts_.connect_error_class = reply ? reply->value("error_class", "other") : "timeout";
    facts_.connect_message =
        reply ? reply->value("message", "")
              : fmt::format("no answer to connect within {} ms", connect_limit.count());
  }
  if (reply) {
    facts_.connect_ns = reply->value("t_ns", now_ns());
  }
  note(fmt::format("connect: {}", reply ? reply->dump() : std::string("no answer")));
}

/// The workload's subscription, taken before the timeline starts so that the first maintenance
/// event finds it held.
auto case_session::subscribe_driver() -> awaitable<void> {
  const auto& pubsub = scn_.load.pubsub;
  if (!pubsub || facts_.connect != connect_result::connected) {
    co_return;
  }
  auto& sub = facts_.pubsub;
  sub.asked = true;
  const json message = {{"type", "subscribe"},
                        {"kind", std::string(scenario::to_string(pubsub->kind))},
                        {"channels", workload_subscription(scn_.load)}};
  co_await send(message);
  const auto limit = milliseconds{std::max<std::int64_t>(10'000, 2 * longest_timeout().count())};
  co_await wait_until([&] { return state_.subscribe_reply || state_.eof; }, timeout_of(limit));
  const auto& reply = state_.subscribe_reply;
  sub.subscribed = reply && reply->value("type", "") == "subscribed";
  sub.at_ns = reply ? reply->value("t_ns", now_ns()) : now_ns();
  if (!sub.subscribed) {
    sub.error_class = reply ? reply->value("error_class", "other") : "timeout";
    sub.message = reply ? reply->value("message", "")
                        : fmt::format("no answer to subscribe within {} ms", limit.count());
  }
  note(fmt::format("subscribe: {}", reply ? reply->dump() : std::string("no answer")));
}

/// The server-side publisher: `rate` messages a second, round-robin over the channels, payload
/// `seq:N`, until the workload ends (the last pubsub_unjudged_tail left for delivery).
auto case_session::publish_messages(std::int64_t origin_ns) -> awaitable<void> {
  const auto& p = *scn_.load.pubsub;
  if (p.rate <= 0) {
    co_return;
  }
  const auto channels = workload_channels(scn_.load);
  const auto length =
      scn_.load.duration ? std::min(*scn_.load.duration, scn_.duration) : scn_.duration;
  const auto end_ns =
      origin_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(length).count();
  const bool sharded = p.kind == scenario::subscribe_kind::shard;
  for (std::int64_t seq = 1;; ++seq) {
    const auto due = origin_ns + static_cast<std::int64_t>(static_cast<double>(seq) * 1e9 / p.rate);
    if (due >= end_ns) {
      break;
    }
    if (const auto wait = due - now_ns(); wait > 0) {
      publish_timer_.expires_after(std::chrono::nanoseconds(wait));
      co_await publish_timer_.async_wait(as_tuple_awaitable);
    }
    if (stopping_ || state_.eof || process_outcome_) {
      break;
    }
    const auto& channel = channels[static_cast<std::size_t>(seq - 1) % channels.size()];
    server_.publish(scn_.topo.start, channel, fmt::format("seq:{}", seq), sharded);
  }
}

/// The workload's blocking consumer, started before the timeline so that the first maintenance
/// event finds a call pending.
auto case_session::block_driver() -> awaitable<void> {
  if (!scn_.load.blocking || facts_.connect != connect_result::connected) {
    co_return;
  }
  auto& consumer = facts_.blocking;
  consumer.asked = true;
  co_await send(detail::block_request(scn_.load));
  const auto limit = milliseconds{std::max<std::int64_t>(10'000, 2 * longest_timeout().count())};
  co_await wait_until([&] { return state_.block_reply || state_.eof; }, timeout_of(limit));
  const auto& reply = state_.block_reply;
  consumer.started = reply && reply->value("type", "") == "block_started";
  consumer.at_ns = reply ? reply->value("t_ns", now_ns()) : now_ns();
  if (!consumer.started) {
    consumer.error_class = reply ? reply->value("error_class", "other") : "timeout";
    consumer.message = reply ? reply->value("message", "")
                             : fmt::format("no answer to block within {} ms", limit.count());
  }
  note(fmt::format("block: {}", reply ? reply->dump() : std::string("no answer")));
}

/// The server-side producer: `rate` elements a second, round-robin over the lists, element
/// `seq:N`, pushed by the simulator itself (RPUSH from no connection) until the workload ends.
auto case_session::produce_elements(std::int64_t origin_ns) -> awaitable<void> {
  const auto& b = *scn_.load.blocking;
  if (b.rate <= 0) {
    co_return;
  }
  const auto keys = workload_blocking_keys(scn_.load);
  const auto length =
      scn_.load.duration ? std::min(*scn_.load.duration, scn_.duration) : scn_.duration;
  const auto end_ns =
      origin_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(length).count();
  for (std::int64_t seq = 1;; ++seq) {
    const auto due = origin_ns + static_cast<std::int64_t>(static_cast<double>(seq) * 1e9 / b.rate);
    if (due >= end_ns) {
      break;
    }
    if (const auto wait = due - now_ns(); wait > 0) {
      produce_timer_.expires_after(std::chrono::nanoseconds(wait));
      co_await produce_timer_.async_wait(as_tuple_awaitable);
    }
    if (stopping_ || state_.eof || process_outcome_) {
      break;
    }
    const auto& key = keys[static_cast<std::size_t>(seq - 1) % keys.size()];
    server_.produce_list_element(key, fmt::format("seq:{}", seq));
  }
}

auto case_session::start_timeline_and_workload() -> run_deadlines {
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
  if (schedule.size() >= scenario::limits::max_commands_per_run) {
    note(fmt::format("the workload was cut at {} commands, the most one run keeps",
                     schedule.size()));
  }
  run_deadlines d;
  d.last_intended = origin + (schedule.empty() ? 0 : schedule.back().offset.count());
  asio::co_spawn(io_, issue_commands(std::move(schedule), origin), asio::detached);
  if (auto blocks = facts_.connect == connect_result::connected
                        ? make_transaction_schedule(scn_.load, scn_.duration)
                        : std::vector<scheduled_transaction>{};
      !blocks.empty()) {
    d.last_intended = std::max(d.last_intended, origin + blocks.back().offset.count());
    transactions_done_ = false;
    asio::co_spawn(io_, issue_transactions(std::move(blocks), origin), asio::detached);
  }
  if (facts_.pubsub.subscribed) {
    asio::co_spawn(io_, publish_messages(origin), asio::detached);
  }
  if (facts_.blocking.started) {
    asio::co_spawn(io_, produce_elements(origin), asio::detached);
  }
  d.run_end = origin + std::chrono::duration_cast<std::chrono::nanoseconds>(scn_.duration).count();
  d.watchdog =
      std::max(d.run_end, d.last_intended) + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                 2 * longest_timeout() + options_.watchdog_slack)
                                                 .count();
  return d;
}

auto case_session::wait_for_the_run(const run_deadlines& d) -> awaitable<void> {
  // The engine ends its timeline at the scenario's end (before run_end): waiting for it means
  // every step that could still run did, so a step missing from the timeline never ran.
  co_await wait_until(
      [&] {
        return state_.eof ||
               (issuing_done_ && transactions_done_ && now_ns() >= d.run_end && engine_finished_);
      },
      d.watchdog);
  co_await wait_until(
      [&] { return state_.eof || (issuing_done_ && transactions_done_ && all_answered()); },
      d.watchdog);
  facts_.shutdown_ns = now_ns();
  if (engine_) {
    engine_->stop();
  }
}

auto case_session::end_session(const run_deadlines& d) -> awaitable<void> {
  if (state_.eof && !state_.bye) {
    const auto status = (co_await process_->wait_for(milliseconds{3000})).value_or(exit_status{});
    record_exit(status);
    if (!scn_.expect.client_may_exit) {
      fail_case(v::case_outcome::crashed,
                fmt::format("the driver {} during the run", status.describe()));
    } else {
      result_.outcome_detail =
          fmt::format("the driver {} during the run (allowed by the scenario)", status.describe());
    }
    co_return;
  }
  if (!all_answered()) {
    result_.process.killed_by_watchdog = true;
    fail_case(v::case_outcome::hung,
              fmt::format("{} of {} commands and {} of {} transactions had no result {:.1f} s "
                          "after the last was due; the watchdog ended the driver",
                          facts_.commands.size() - state_.results, facts_.commands.size(),
                          facts_.transactions.size() - state_.transaction_results,
                          facts_.transactions.size(),
                          static_cast<double>(d.watchdog - d.last_intended) / 1e9));
    record_exit(co_await process_->stop(milliseconds{2000}));
    co_return;
  }
  co_await finish_process("shutdown");
  if (state_.protocol_errors > 0) {
    note(fmt::format("{}s: {} message(s) from the driver were skipped (named above)",
                     driver_protocol_error_prefix, state_.protocol_errors));
  }
}

/// The steps of the expanded scenario that have no step_executed event in the timeline, in
/// scenario order: their `when` was never met, or the run ended before them.
auto steps_not_run(const scenario::scenario& expanded, const std::vector<timeline::event>& events)
    -> std::vector<std::string> {
  std::set<std::string, std::less<>> executed;
  for (const auto& e : events) {
    if (const auto* step = std::get_if<timeline::step_executed>(&e.what)) {
      executed.insert(step->step);
    }
  }
  std::vector<std::string> missing;
  for (const auto& step : expanded.steps) {
    if (!executed.contains(step.id)) {
      missing.push_back(step.id);
    }
  }
  return missing;
}

/// Every check of a case the client could not run: each keeps its id, meaning and criticality
/// and says why it was not judged; latency, which is reported whenever commands ran, says that
/// none did instead of calling itself unsupported.
auto unsupported_checks(const check_input& input, const std::string& reason)
    -> std::vector<v::check_result> {
  auto checks = run_checks(input);
  for (auto& c : checks) {
    c.findings.clear();
    c.figures.clear();
    c.tolerances.clear();
    c.excerpt.clear();
    if (c.id == latency_id) {
      c.outcome = v::status::skipped;
      c.summary = "not measured: no command ran (" + reason + ")";
    } else {
      c.outcome = v::status::unsupported;
      c.summary = reason;
    }
  }
  return checks;
}

/// The case's outcome when the session itself went fine: from the checks, but never a pass
/// when scenario steps did not run (the client was then not tested on what the scenario is for).
void judge_case(v::case_result& result) {
  result.outcome = v::outcome_of_case(result.checks, result.steps_not_run);
  if (result.outcome != v::case_outcome::inconclusive) {
    return;
  }
  if (!result.steps_not_run.empty()) {
    result.outcome_detail = fmt::format(
        "scenario steps never ran: {} (a `when` condition was never met, e.g. the client never "
        "opted in, or the run ended first); what they test was not judged",
        fmt::join(result.steps_not_run, ", "));
    return;
  }
  std::vector<std::string> not_judged;
  for (const auto& c : result.checks) {
    if (c.critical && c.outcome == v::status::not_judged) {
      not_judged.push_back(c.id);
    }
  }
  result.outcome_detail =
      fmt::format("checks that judged nothing: {}", fmt::join(not_judged, ", "));
}

}  // namespace

auto client_name_from_hello(std::string_view client, std::string_view version) -> std::string {
  return version.empty() ? std::string(client) : fmt::format("{} {}", client, version);
}

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
    result.checks = unsupported_checks(input, session->unsupported_reason());
  } else if (outcome != v::case_outcome::error || !result.timeline.empty()) {
    result.checks = run_checks(input);
  }
  if (session->timeline_started()) {
    result.steps_not_run = steps_not_run(expanded, result.timeline);
  }
  if (outcome) {
    result.outcome = *outcome;
  } else {
    judge_case(result);
  }
  return result;
}

}  // namespace schsim::harness
