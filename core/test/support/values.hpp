#pragma once
// Short constructors for the RESP3 values the parser and serializer tests expect.

#include <schsim/core/resp3/value.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace schsim::test {

inline auto num(std::int64_t n) -> resp3::value { return resp3::value::number_of(n); }

inline auto with_attributes(resp3::value v, std::vector<resp3::value> attributes) -> resp3::value {
  v.attributes = std::move(attributes);
  return v;
}

}  // namespace schsim::test
