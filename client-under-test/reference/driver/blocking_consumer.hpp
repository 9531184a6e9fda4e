#pragma once
// The driver's blocking consumer (docs/driver-protocol.md, "block"): one BLPOP/BRPOP pending at
// a time through client::execute_blocking, each answer reported, the next call issued at once.
// Re-issuing after a handoff is the client's job: the consumer never retries on its own.

#include <schsim/refclient/client.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace schsim::refclient_driver {

class blocking_consumer {
 public:
  using emit_fn = std::function<void(const nlohmann::json&)>;
  using clock_fn = std::function<std::int64_t()>;

  blocking_consumer(refclient::client& client, emit_fn emit, clock_fn now)
      : client_{client}, emit_{std::move(emit)}, now_{std::move(now)} {}

  /// Reads a `block` message; returns why it cannot run, or nullopt once the first call is out.
  auto start(const nlohmann::json& msg) -> std::optional<std::string> {
    const auto command = msg.value("command", std::string{"blpop"});
    if (command != "blpop" && command != "brpop") return "unsupported command " + command;
    const auto keys = msg.value("keys", nlohmann::json::array());
    const double timeout = msg.value("timeout", 0.0);
    if (!keys.is_array() || keys.empty()) return std::string{"no keys"};
    if (!std::isfinite(timeout) || timeout < 0) return std::string{"bad timeout"};
    args_ = {command == "blpop" ? "BLPOP" : "BRPOP"};
    for (const auto& k : keys) args_.push_back(k.is_string() ? k.get<std::string>() : k.dump());
    args_.push_back(nlohmann::json(timeout).dump());  // Redis reads a double, e.g. "1.0"
    block_for_ = std::chrono::milliseconds{static_cast<std::int64_t>(std::ceil(timeout * 1000))};
    next();
    return std::nullopt;
  }

  /// No call after the one pending (shutdown).
  void stop() { stopped_ = true; }

 private:
  void next() {
    if (stopped_) return;
    const auto sent = now_();
    client_.execute_blocking(args_, block_for_,
                             [this, sent](refclient::command_result r) { answered(sent, r); });
  }

  void answered(std::int64_t sent, const refclient::command_result& r) {
    nlohmann::json line;
    if (const auto* v = std::get_if<resp3::value>(&r)) {
      if (v->elements.size() == 2) {
        line = {{"type", "popped"}, {"key", v->elements[0].text}, {"element", v->elements[1].text}};
      } else {
        line = {{"type", "block_timeout"}};  // nil: the call's own timeout ran out
      }
    } else {
      const auto& e = std::get<refclient::command_error>(r);
      line = {{"type", "block_error"},
              {"error_class", std::string{refclient::to_string(e.kind)}},
              {"message", e.message}};
    }
    line["sent_ns"] = sent;
    line["t_ns"] = now_();
    emit_(line);
    next();
  }

  refclient::client& client_;
  emit_fn emit_;
  clock_fn now_;
  std::vector<std::string> args_;
  std::chrono::milliseconds block_for_{0};
  bool stopped_ = false;
};

}  // namespace schsim::refclient_driver
