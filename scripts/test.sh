#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test stage. CI runs exactly this (.ci/run).
#   scripts/test.sh [STAGE...]        (default: every stage, in this order)
# Stages:
#   ctest        unit and integration tests (GoogleTest via ctest), in ./build
#   conformance  the clients x scenarios matrix against the committed baseline (scripts/conformance.sh)
#   peers        go-redis's own SCH e2e tests against schsim's fault-injector API, held to
#                tests/peers/go-redis.json (scripts/peers.sh; beside sanitize when both run)
#   package      the .deb (CPack) installed by apt into a fresh Debian 12 root and run there
#                (scripts/package-test.sh; needs root)
#   sanitize     the test suite under ASan+UBSan and under TSan (scripts/sanitize.sh)
#   fuzz         each libFuzzer target for FUZZ_SECONDS (default 30) over the seed corpus
#                (beside sanitize when both run)
# Every stage runs even when an earlier one failed, so one run shows every failure; the exit
# code is non-zero if any stage failed.
# Two lanes share the 2 cores: ctest and conformance mostly wait on scenarios' timers, so while
# they run (in that order) the sanitizer trees and fuzz targets build beside them at nice 19
# (the waiting stages' processes always win the CPU when they wake); then sanitize runs its
# tests, with the peers' suites (started when conformance ends) and the fuzz targets beside it. The third-party drivers, the peers' suites and package's Debian 12 root, mostly
# downloads, are fetched and built beside the C++ build. Their logs: out/test-logs/{prepare,prebuild}.log.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(ctest package conformance peers sanitize fuzz)
for s in "${stages[@]}"; do
  case $s in
    ctest | package | conformance | peers | sanitize | fuzz) ;;
    *) echo "test.sh: unknown stage '$s' (ctest, package, conformance, peers, sanitize, fuzz)" >&2; exit 2 ;;
  esac
done

# A build compiled once and tested: unity translation units, line tables only (build.sh).
export SCHSIM_CI_BUILD=${SCHSIM_CI_BUILD:-1}

wants() { [[ " ${stages[*]} " == *" $1 "* ]]; }
logs_dir=${TEST_LOGS_DIR:-out/test-logs}
mkdir -p "$logs_dir"

scripts/install-deps.sh
# A stop (a failed build, Ctrl-C) takes the background lanes with it.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
# The drivers and the peers' suites need no schsim build. A failure here is not reported twice:
# the stage that needs them runs the same step again and fails with its message.
prepare_pid=
if wants conformance || wants peers || wants package; then
  {
    if wants conformance; then client-under-test/drivers/install.sh; fi
    if wants peers; then scripts/peers.sh --prepare; fi
    if wants package; then scripts/package-test.sh --prepare; fi
  } >"$logs_dir/prepare.log" 2>&1 &
  prepare_pid=$!
fi
scripts/build.sh
build_dir=${BUILD_DIR:-build}
if [[ -n $prepare_pid ]]; then
  wait "$prepare_pid" || echo "test.sh: preparing the drivers or peers failed (see $logs_dir/prepare.log); their stage will say why"
fi
# The instrumented trees, built at nice 19 while the waiting stages run. As above, a failed build
# is reported by its stage, which runs the same (then incremental) build again.
prebuild_pid=
if wants sanitize || wants fuzz; then
  {
    if wants sanitize; then SANITIZE_BUILD_ONLY=1 nice -n 19 scripts/sanitize.sh all; fi
    if wants fuzz; then FUZZ_BUILD_ONLY=1 nice -n 19 scripts/fuzz.sh; fi
  } >"$logs_dir/prebuild.log" 2>&1 &
  prebuild_pid=$!
fi

# The reference client against every built-in scenario through the harness: a ctest entry for
# whoever runs ctest alone, and the reference column of the conformance matrix. When both stages
# run, the matrix runs those cells (same driver path, same checks, held to the baseline), so
# ctest leaves it out instead of spending 150 s on it twice; the same holds for the correct
# client's half of the broken-mode tests (120 s). (The sanitizer stage leaves them out too: see
# scripts/sanitize.sh.)
reference_column='^suite\.reference_passes_every_builtin_scenario$|^Reference/CorrectClient\.'
ctest_skip=()
[[ " ${stages[*]} " == *" conformance "* ]] && ctest_skip=(-E "$reference_column")

# Each stage's output also goes to a log, and the summary repeats the lines of a failed stage that
# say what failed: CI keeps only the end of a long run's output, where the summary is.
failed=()
timings=()
run_stage() {
  local name=$1
  shift
  local start=$SECONDS status
  echo "=== test.sh: stage $name"
  set +e
  "$@" 2>&1 | tee "$logs_dir/$name.log"
  status=${PIPESTATUS[0]}
  set -e
  if [[ $status -eq 0 ]]; then
    timings+=("$name ok $((SECONDS - start)) s")
  else
    timings+=("$name FAILED $((SECONDS - start)) s")
    failed+=("$name")
  fi
}
# A stage started in the background ("beside" the stages that follow): its output goes to its log
# only, and finish_beside prints that log and records the result when the stage is waited for.
declare -A beside_pid beside_start
start_beside() {
  local name=$1
  shift
  rm -f "$logs_dir/$name.rc"
  beside_start[$name]=$SECONDS
  { "$@" >"$logs_dir/$name.log" 2>&1; echo $? >"$logs_dir/$name.rc"; } &
  beside_pid[$name]=$!
}
finish_beside() {
  local name=$1 with=$2
  wait "${beside_pid[$name]}" || true
  echo "=== test.sh: stage $name (ran beside $with)"
  cat "$logs_dir/$name.log"
  local took=$((SECONDS - ${beside_start[$name]}))
  if [[ $(cat "$logs_dir/$name.rc" 2>/dev/null) == 0 ]]; then
    timings+=("$name ok, done $took s after it started (beside $with)")
  else
    timings+=("$name FAILED, done $took s after it started (beside $with)")
    failed+=("$name")
  fi
}
# What a failed stage's log says went wrong: failed tests and builds, sanitizer reports, cells
# that differ from the baseline (with what was observed), peers' tests whose result changed,
# crashes of a fuzz target.
what_failed() {
  awk 'function show(line) { if (++shown <= 100) print substr(line, 1, 2000) }
       /tests FAILED|cell\(s\) differ|result\(s\) differ/ { show($0); in_list = 1; next }
       in_list && /^[ \t]/ { show($0); next }
       { in_list = 0 }
       /^FAILED: |: error: |ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:|==ERROR: libFuzzer|^(sanitize|fuzz|conformance|peers|package-test)\.sh: / { show($0) }
       END { exit shown ? 0 : 1 }' "$1"
}

# The waiting lane, then (once the instrumented builds are done) the instrumented tests.
for s in "${stages[@]}"; do
  case $s in
    # Two jobs: the machines have two cores, and the timing tests keep wide tolerance bands.
    ctest)
      run_stage ctest ctest --test-dir "$build_dir" --output-on-failure -j 2 --timeout 600 \
        "${ctest_skip[@]}"
      ;;
    package) run_stage package scripts/package-test.sh ;;
    conformance) run_stage conformance scripts/conformance.sh ;;
    # The peers' suites mostly wait on their own timers: beside the sanitizer suites they cost
    # no wall time (~210 s otherwise).
    peers)
      if wants sanitize; then start_beside peers scripts/peers.sh; else run_stage peers scripts/peers.sh; fi
      ;;
  esac
done
if [[ -n $prebuild_pid ]]; then
  start=$SECONDS
  wait "$prebuild_pid" || true
  echo "=== test.sh: waited $((SECONDS - start)) s for the instrumented builds ($logs_dir/prebuild.log)"
fi
# The fuzz targets run for a fixed time, beside the sanitizer suites, which mostly wait on
# scenario timers: at nice 19 they take only the CPU those suites leave (fewer fuzz runs on a
# loaded machine, never a late timer in a sanitizer test; libFuzzer still replays the whole
# committed corpus first), and the stage costs no wall time.
if wants fuzz && wants sanitize; then
  start_beside fuzz nice -n 19 scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
for s in "${stages[@]}"; do
  case $s in
    sanitize) run_stage sanitize scripts/sanitize.sh all ;;
    fuzz) wants sanitize || run_stage fuzz scripts/fuzz.sh "${FUZZ_SECONDS:-30}" ;;
  esac
done
for name in fuzz peers; do
  if [[ -n ${beside_pid[$name]:-} ]]; then finish_beside "$name" sanitize; fi
done

echo "=== test.sh: summary"
printf '  %s\n' "${timings[@]}"
echo "  total $SECONDS s (install, build and every stage)"
for name in "${failed[@]}"; do
  echo "=== test.sh: what failed in $name (whole log: $logs_dir/$name.log)"
  what_failed "$logs_dir/$name.log" || tail -n 30 "$logs_dir/$name.log"
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "test.sh: failed stages: ${failed[*]}" >&2
  exit 1
fi
