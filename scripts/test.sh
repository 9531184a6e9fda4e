#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test stage. CI runs exactly this (.ci/run).
#   scripts/test.sh [STAGE...]        (default: every stage, in this order)
# Stages:
#   ctest        unit and integration tests (GoogleTest via ctest), in ./build
#   conformance  the clients x scenarios matrix against the committed baseline (scripts/conformance.sh)
#   peers        go-redis's own SCH e2e tests against schsim's fault-injector API, held to
#                tests/peers/go-redis.json (scripts/peers.sh)
#   sanitize     the test suite under ASan+UBSan and under TSan (scripts/sanitize.sh)
#   fuzz         each libFuzzer target for FUZZ_SECONDS (default 30) over the seed corpus
# Every stage runs even when an earlier one failed, so one run shows every failure; the exit
# code is non-zero if any stage failed.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(ctest conformance peers sanitize fuzz)
for s in "${stages[@]}"; do
  case $s in
    ctest | conformance | peers | sanitize | fuzz) ;;
    *) echo "test.sh: unknown stage '$s' (ctest, conformance, peers, sanitize, fuzz)" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh
scripts/build.sh
build_dir=${BUILD_DIR:-build}

# The reference client against every built-in scenario through the harness: a ctest entry for
# whoever runs ctest alone, and the reference column of the conformance matrix. When both stages
# run, the matrix runs those cells (same driver path, same checks, held to the baseline), so
# ctest leaves it out instead of spending 150 s on it twice. (The sanitizer stage leaves it
# out too: see scripts/sanitize.sh.)
whole_suite='^suite\.reference_passes_every_builtin_scenario$'
ctest_skip=()
[[ " ${stages[*]} " == *" conformance "* ]] && ctest_skip=(-E "$whole_suite")

# Each stage's output also goes to a log, and the summary repeats the lines of a failed stage that
# say what failed: CI keeps only the end of a long run's output, where the summary is.
logs_dir=${TEST_LOGS_DIR:-out/test-logs}
mkdir -p "$logs_dir"
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
# What a failed stage's log says went wrong: failed tests and builds, sanitizer reports, cells
# that differ from the baseline (with what was observed), peers' tests whose result changed,
# crashes of a fuzz target.
what_failed() {
  awk 'function show(line) { if (++shown <= 100) print substr(line, 1, 2000) }
       /tests FAILED|cell\(s\) differ|result\(s\) differ/ { show($0); in_list = 1; next }
       in_list && /^[ \t]/ { show($0); next }
       { in_list = 0 }
       /^FAILED: |: error: |ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:|==ERROR: libFuzzer|^(sanitize|fuzz|conformance|peers)\.sh: / { show($0) }
       END { exit shown ? 0 : 1 }' "$1"
}

for s in "${stages[@]}"; do
  case $s in
    # Two jobs: the machines have two cores, and the timing tests keep wide tolerance bands.
    ctest)
      run_stage ctest ctest --test-dir "$build_dir" --output-on-failure -j 2 --timeout 600 \
        "${ctest_skip[@]}"
      ;;
    conformance) run_stage conformance scripts/conformance.sh ;;
    peers) run_stage peers scripts/peers.sh ;;
    sanitize) run_stage sanitize scripts/sanitize.sh all ;;
    fuzz) run_stage fuzz scripts/fuzz.sh "${FUZZ_SECONDS:-30}" ;;
  esac
done

echo "=== test.sh: summary"
printf '  %s\n' "${timings[@]}"
for name in "${failed[@]}"; do
  echo "=== test.sh: what failed in $name (whole log: $logs_dir/$name.log)"
  what_failed "$logs_dir/$name.log" || tail -n 30 "$logs_dir/$name.log"
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "test.sh: failed stages: ${failed[*]}" >&2
  exit 1
fi
