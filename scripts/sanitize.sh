#!/usr/bin/env bash
# The test suite under sanitizers: ASan+UBSan in build-asan, TSan in build-tsan.
#   scripts/sanitize.sh [asan|tsan|all] [ctest args...]        (default: all)
# e.g. scripts/sanitize.sh tsan -R 'SimulatorServer|Abuse'
# `all` builds the ASan tree, starts its tests, builds the TSan tree while they run, then runs
# the TSan tests beside them: most of a suite's time is scenarios running in real time, so a
# build and two suites share 2 cores well. Each log is printed in full when both are done.
# SANITIZE_DIRS limits the run to some source directories, e.g. SANITIZE_DIRS="core simulator":
# only their targets are built (ninja DIR/all) and only their tests run (ctest in DIR).
# Default: everything. SANITIZE_BUILD_ONLY=1 builds and stops.
# Any report fails the run: halt_on_error everywhere, leaks included. TSan reads
# scripts/tsan.supp, which holds third-party false positives only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build-flags.sh
root=$(pwd)
which=${1:-all}
shift || true
dirs=${SANITIZE_DIRS:-}

# TSan runs the test executables that start threads (the simulator's io thread, flush workers,
# the reference driver, `schsim suite`/`matrix` cells) and only builds what they need: a
# single-threaded executable gives TSan nothing to find. Every executable runs under ASan+UBSan.
tsan_targets=(core_tests simulator_tests integration_tests refclient_integration_tests schsim
  schsim-refclient-driver)
tsan_labels='^(core_tests|simulator_tests|integration_tests|refclient_integration_tests|matrix)$'
# Left out (a ctest -E of your own replaces these):
# - both: the reference client over every built-in scenario through the harness (150 s plain),
#   and over the scenarios of the broken modes (Reference/CorrectClient.*, 130 s under ASan): the
#   same runs as the plain stages' reference column. Every built-in scenario still runs through
#   the engine and simulator (BuiltinScenarioRun), and the harness with the reference driver in
#   HarnessRun, HarnessSuite and matrix.*.
# - ASan: shard.merge_equals_unsharded_run (50 s): its cases are HarnessSuite's runs split
#   three ways; what it tests, which cases a shard holds and the merge, runs in the plain stage.
#   ExploreCli (70 s): generated scenarios through the harness paths HarnessRun runs; the
#   generator and shrinker themselves run under ASan in ExploreGenerator's unit tests.
# - TSan: the broken-client verdict tests (Broken.*, Reference/BrokenMode.*: 140 s of scenarios
#   whose threads are the ones HarnessRun already runs; they check the checks' verdicts, and run
#   under ASan and in the plain stage) and RedisBenchmark (45 s: redis-benchmark's 50
#   connections on the single io thread), and ExploreCli (about 70 s of generated and shrunk
#   scenarios at -O2, several minutes under TSan; its cases run on the harness::run_case threads
#   that HarnessSuite and matrix.* already run under TSan; it runs under ASan and in the plain stage).
whole_suite='^suite\.reference_passes_every_builtin_scenario$'
correct_client='^Reference/CorrectClient\.'
asan_exclude="$whole_suite|$correct_client|^shard\.|^ExploreCli\."
tsan_exclude="$whole_suite|$correct_client|^Broken\.|^Reference/BrokenMode\.|^RedisBenchmark\.|^ExploreCli\."

build_one() {
  local name=$1 flags=$2 dir=build-$1
  shift 2
  local start=$SECONDS
  if [[ ! -f $dir/build.ninja ]]; then
    # -O0: the instrumented code compiles 3-4.5x faster than at -O1 (measured on the heaviest
    # translation units: 8 s against 36 s for the parser tests, 22 s against 77 s for the
    # reference client), which is what lets the whole suite run under both sanitizers in CI.
    # ASan and TSan find the same bugs at -O0; the tests run slower, hence the timing slack below.
    # SCHSIM_CI_BUILD (build.sh): unity and -g1, which keeps file:line in sanitizer reports.
    local unity=OFF
    [[ ${SCHSIM_CI_BUILD:-0} = 1 ]] && unity=ON
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 $schsim_debug_level" -DSCHSIM_SANITIZE="$flags" \
      -DCMAKE_UNITY_BUILD=$unity -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 \
      -DSCHSIM_BUILD_BENCH=OFF >/dev/null || return
  fi
  # `|| return`: build_one runs inside `if`, where set -e does not stop a failed command.
  if [[ -z $dirs ]]; then
    ninja -C "$dir" "$@" || return
  else
    local targets=()
    for d in $dirs; do targets+=("$d/all"); done
    ninja -C "$dir" "${targets[@]}" || return
  fi
  echo "sanitize.sh: $name: built in $((SECONDS - start)) s"
}

test_one() {
  local name=$1 dir=build-$1
  shift
  local start=$SECONDS rc=0
  if [[ -z $dirs ]]; then
    ctest --test-dir "$dir" --output-on-failure -j 2 --timeout 900 "$@" || rc=$?
  else
    for d in $dirs; do
      ctest --test-dir "$dir/$d" --output-on-failure -j 2 --timeout 900 "$@" || rc=$?
    done
  fi
  echo "sanitize.sh: $name: tests $((SECONDS - start)) s, exit $rc"
  return $rc
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/tsan.supp}
# Instrumented -O0 code runs several times slower, and here two suites share the cores: the
# scenario tests' lateness bounds get 200 ms more (the plain ctest stage holds them exact).
export SCHSIM_TIMING_SLACK_MS=${SCHSIM_TIMING_SLACK_MS:-200}

case $which in
  asan) names=(asan) ;;
  tsan) names=(tsan) ;;
  all) names=(asan tsan) ;;
  *) echo "usage: scripts/sanitize.sh [asan|tsan|all] [ctest args...]" >&2; exit 2 ;;
esac
build_named() {
  case $1 in
    asan) build_one asan address,undefined ;;
    tsan) build_one tsan thread "${tsan_targets[@]}" ;;
  esac
}
# test_named NAME [ctest args...]
test_named() {
  local name=$1
  shift
  if [[ -n $dirs ]]; then
    test_one "$name" "$@"
  elif [[ $name = tsan ]]; then
    test_one tsan -L "$tsan_labels" -E "$tsan_exclude" "$@"
  else
    test_one asan -E "$asan_exclude" "$@"
  fi
}
if [[ ${SANITIZE_BUILD_ONLY:-0} = 1 ]]; then
  for n in "${names[@]}"; do build_named "$n"; done
  echo "sanitize.sh: SANITIZE_BUILD_ONLY: built ${names[*]}, no tests"
  exit 0
fi
if [[ ${#names[@]} -eq 1 ]]; then
  build_named "${names[0]}"
  test_named "${names[0]}" "$@"
  exit
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pids=()
failed=()
for n in "${names[@]}"; do
  if build_named "$n"; then
    test_named "$n" "$@" >"$logs/$n.log" 2>&1 &
    pids+=($!)
  else
    failed+=("$n (build)")
    pids+=("")
  fi
done
for i in "${!names[@]}"; do
  if [[ -n ${pids[$i]} ]]; then
    wait "${pids[$i]}" || failed+=("${names[$i]}")
  fi
done
for n in "${names[@]}"; do
  if [[ -f $logs/$n.log ]]; then
    echo "=== sanitize.sh: ${n} log"
    cat "$logs/$n.log"
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "sanitize.sh: failed: ${failed[*]}" >&2
  exit 1
fi
