#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test stage. CI runs exactly this (.ci/run).
#   scripts/test.sh [STAGE...]        (default: every stage, in this order)
# Stages:
#   ctest        unit and integration tests (GoogleTest via ctest), in ./build
#   conformance  the clients x scenarios matrix against the committed baseline (scripts/conformance.sh)
#   sanitize     core, simulator and engine tests under ASan+UBSan, the simulator's under TSan
#   fuzz         each libFuzzer target for FUZZ_SECONDS (default 30) over the seed corpus
# Every stage runs even when an earlier one failed, so one run shows every failure; the exit
# code is non-zero if any stage failed.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(ctest conformance sanitize fuzz)
for s in "${stages[@]}"; do
  case $s in
    ctest | conformance | sanitize | fuzz) ;;
    *) echo "test.sh: unknown stage '$s' (ctest, conformance, sanitize, fuzz)" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh
scripts/build.sh
build_dir=${BUILD_DIR:-build}

failed=()
timings=()
run_stage() {
  local name=$1
  shift
  local start=$SECONDS
  echo "=== test.sh: stage $name"
  if "$@"; then
    timings+=("$name ok $((SECONDS - start)) s")
  else
    timings+=("$name FAILED $((SECONDS - start)) s")
    failed+=("$name")
  fi
}

for s in "${stages[@]}"; do
  case $s in
    # Two jobs: the machines have two cores, and the timing tests keep wide tolerance bands.
    ctest) run_stage ctest ctest --test-dir "$build_dir" --output-on-failure -j 2 --timeout 600 ;;
    conformance) run_stage conformance scripts/conformance.sh ;;
    # The sanitizer stage covers the code that parses untrusted bytes and runs the sockets: a
    # full sanitized build of everything would not fit CI's time budget.
    sanitize)
      run_stage asan-ubsan env SANITIZE_DIRS="core engine simulator" scripts/sanitize.sh asan
      run_stage tsan env SANITIZE_DIRS="simulator" scripts/sanitize.sh tsan
      ;;
    fuzz) run_stage fuzz scripts/fuzz.sh "${FUZZ_SECONDS:-30}" ;;
  esac
done

echo "=== test.sh: summary"
printf '  %s\n' "${timings[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "test.sh: failed stages: ${failed[*]}" >&2
  exit 1
fi
