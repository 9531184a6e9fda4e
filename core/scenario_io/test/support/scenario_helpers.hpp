#pragma once
// What the scenario model, loader and saver tests share: building a scenario step by step and
// reading back its steps and the loader's errors.

#include <schsim/core/scenario/model.hpp>
#include <schsim/scenario_io/load.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace schsim::test {

/// Appends a step in file order (its origin is its position).
inline void add_step(scenario::scenario& s, std::string id, scenario::trigger t,
                     scenario::action a) {
  const auto origin = s.steps.size();
  s.steps.push_back(scenario::step{std::move(id), std::move(t), std::move(a), origin});
}

/// The steps' ids in their current order.
inline auto ids(const scenario::scenario& s) -> std::vector<std::string> {
  std::vector<std::string> out;
  for (const auto& st : s.steps) {
    out.push_back(st.id);
  }
  return out;
}

/// The step with that id; fails the test when there is none.
inline auto find(const scenario::scenario& s, std::string_view id) -> const scenario::step& {
  const auto* st = s.find_step(id);
  EXPECT_NE(st, nullptr) << id;
  return *st;
}

/// The loader's errors, one per line, as `schsim check` prints them.
inline auto errors_of(const scenario_io::load_result& r) -> std::string {
  std::string out;
  for (const auto& e : r.errors) {
    out += scenario_io::to_string(e) + "\n";
  }
  return out;
}

}  // namespace schsim::test
