#pragma once
/**
 * @file
 * @brief Shrinking a failing scenario to a small one that still fails the same way.
 *
 * Sans-I/O: whether a candidate "still fails" is a predicate the caller supplies (schsim
 * explore runs the candidate against the client through the harness; the unit tests use a
 * function of the scenario). The shrinker proposes candidates, simplest first:
 *
 * 1. remove one step (steps that followed it with `after` keep their time, rebased onto its
 *    trigger);
 * 2. simplify one step's payload (canonical dialect, automatic seq, default replay, FIN between
 *    frames, no latency inside a composite, ...), the workload (no probe, one command) and the
 *    topology (drop an endpoint nothing uses);
 * 3. shorten and round times: each delay, window and grace halved or rounded down to whole
 *    seconds, half seconds or 100 ms; notification times lowered; the run's duration cut to
 *    what the timeline needs.
 *
 * Every candidate must pass scenario::validate() and fit its duration, so whatever the
 * shrinker returns is a valid scenario. A candidate the predicate confirms replaces the
 * current scenario and the search goes on from there; it stops when a whole pass over the
 * candidates finds none that still fails (then removing any single step makes the scenario
 * pass: a local minimum) or when the attempt budget is spent.
 */

#include <schsim/core/scenario/model.hpp>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace schsim::explore {

/// One proposed simplification.
struct candidate {
  std::string change;  ///< what was simplified, e.g. "remove step slow-2"
  scenario::scenario scn;
};

/// Every valid simplification of `s`, in the order the shrinker tries them.
auto candidates(const scenario::scenario& s) -> std::vector<candidate>;

/// For each candidate: does it still fail the same way? Candidates come in batches so the
/// caller may judge them in parallel.
using batch_predicate = std::function<std::vector<bool>(std::span<const candidate>)>;

struct shrink_options {
  /// Most candidates judged in all (each costs the caller a run or more).
  std::size_t max_attempts = 120;
  /// Candidates handed to the predicate at once; the first that still fails (in candidate
  /// order) wins, the others of the batch are forgotten.
  std::size_t batch = 1;
  /// Called after each accepted simplification with the new scenario.
  std::function<void(const candidate& accepted, std::size_t attempts)> on_accept;
};

struct shrink_result {
  scenario::scenario minimal;
  std::size_t attempts = 0;
  std::vector<std::string> changes;  ///< the accepted simplifications, in order
  /// True when the budget ran out before a pass found nothing more to simplify.
  bool budget_exhausted = false;
};

auto shrink(const scenario::scenario& failing, const batch_predicate& still_fails,
            const shrink_options& options = {}) -> shrink_result;

/// The same with a one-at-a-time predicate.
auto shrink(const scenario::scenario& failing,
            const std::function<bool(const scenario::scenario&)>& still_fails,
            const shrink_options& options = {}) -> shrink_result;

/// True when `s` validates and its duration covers its estimated timeline (generator.hpp).
auto runnable(const scenario::scenario& s) -> bool;

}  // namespace schsim::explore
