#pragma once

namespace schsim {

/// Builds one visitor for std::visit from several lambdas, one per alternative.
template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
// GCC deduces this from the aggregate; clang before 17 needs the guide spelled out.
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

}  // namespace schsim
