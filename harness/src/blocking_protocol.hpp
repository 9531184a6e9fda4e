#pragma once
// Internal: the driver-protocol side of the blocking workload (docs/driver-protocol.md,
// "block"): the request the harness sends and the reports it reads back.

#include <schsim/core/scenario/model.hpp>
#include <schsim/harness/checks.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string_view>

namespace schsim::harness::detail {

/// `{"type":"block","command":"blpop","keys":[...],"timeout":1.0}` for [workload.blocking].
auto block_request(const scenario::workload& w) -> nlohmann::json;

/// True for the driver's per-call answers: popped, block_timeout, block_error.
auto is_block_report(std::string_view type) -> bool;

/// One of those answers; `now_ns` stands in for a missing t_ns. Throws nlohmann::json's
/// exceptions on a malformed message (the session counts it as a protocol error).
auto parse_block_report(const nlohmann::json& msg, std::int64_t now_ns) -> block_report;

}  // namespace schsim::harness::detail
