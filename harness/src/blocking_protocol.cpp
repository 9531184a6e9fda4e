#include "blocking_protocol.hpp"

#include <schsim/harness/workload.hpp>
#include <schsim/simulator/pubsub.hpp>

#include <string>

namespace schsim::harness::detail {

using nlohmann::json;

auto block_request(const scenario::workload& w) -> json {
  return json{{"type", "block"},
              {"command", std::string(scenario::to_string(w.blocking->command))},
              {"keys", workload_blocking_keys(w)},
              {"timeout", w.blocking->timeout}};
}

auto is_block_report(std::string_view type) -> bool {
  return type == "popped" || type == "block_timeout" || type == "block_error";
}

auto parse_block_report(const json& msg, std::int64_t now_ns) -> block_report {
  block_report r;
  const auto type = msg.at("type").get<std::string>();
  r.t_ns = msg.value("t_ns", now_ns);
  r.sent_ns = msg.value("sent_ns", r.t_ns);
  if (type == "popped") {
    r.what = block_report::kind::popped;
    r.key = msg.at("key").get<std::string>();
    r.element = msg.at("element").get<std::string>();
    r.seq = simulator::payload_seq(r.element);
  } else if (type == "block_timeout") {
    r.what = block_report::kind::timed_out;
  } else {
    r.what = block_report::kind::failed;
    r.error_class = msg.value("error_class", "other");
    r.message = msg.value("message", "");
  }
  return r;
}

}  // namespace schsim::harness::detail
