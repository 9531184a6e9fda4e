#pragma once
/**
 * @file
 * @brief Scenario files (TOML) → schsim::scenario::scenario.
 *
 * The one place that knows toml++. Every mistake is reported with the file, line and column of
 * the offending key or value and a hint saying how to fix it: TOML syntax errors, unknown keys
 * (with the nearest known key), wrong types, durations without units, unknown actions, and
 * everything scenario::validate() finds (missing endpoints, impossible timing, ...). The
 * format is documented in scenarios/README.md.
 */

#include <schsim/core/scenario/model.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace schsim::scenario_io {

/// One error in a scenario file. line and column are 1-based (0 when unknown).
struct diagnostic {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string message;
  /// How to fix it; may be empty.
  std::string hint;
};

/// `file:line:column: error: message` followed by `  hint: ...` on its own line when present.
auto to_string(const diagnostic& d) -> std::string;

struct load_result {
  /// Set when the file is valid (then errors is empty).
  std::optional<scenario::scenario> value;
  std::vector<diagnostic> errors;
  [[nodiscard]] auto ok() const noexcept -> bool { return value.has_value(); }
};

/// Reads and validates a scenario file.
auto load_file(const std::filesystem::path& path) -> load_result;
/// Same, from text; `source_name` is what diagnostics call the file.
auto load_string(std::string_view toml_text, std::string_view source_name) -> load_result;

/// "250ms", "2s", "1.5s", "1m" → milliseconds; nullopt for anything else (no unit, negative,
/// a fraction of a millisecond).
auto parse_duration(std::string_view text) -> std::optional<std::chrono::milliseconds>;

/// One entry of the action table: the `action = "..."` names a step may use.
struct action_info {
  std::string_view name;
  std::string_view summary;
};
/// Every action a [[step]] may name, primitive ones first, then composites.
auto builtin_actions() -> std::span<const action_info>;

}  // namespace schsim::scenario_io
