// libFuzzer target for scenario_io::load_string, the path every scenario file takes (a user's
// file is untrusted input: the loader must answer with diagnostics, never crash or hang).
// Build and run with scripts/fuzz.sh; seeds are core/fuzz/corpus/scenario/ (the built-in
// scenarios and the bad-file catalogue).
//
// Invariants: exactly one of value and errors is set; every diagnostic has a message and a
// position inside the text (line 0 meaning unknown); diagnostics render.
#include <schsim/scenario_io/load.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" auto LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) -> int {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = schsim::scenario_io::load_string(text, "fuzz.toml");
  check(result.ok() == result.errors.empty());
  const auto lines = static_cast<std::uint32_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const auto& d : result.errors) {
    check(!d.message.empty());
    check(d.file == "fuzz.toml");
    check(d.line <= lines + 1);
    check(!schsim::scenario_io::to_string(d).empty());
  }
  return 0;
}
