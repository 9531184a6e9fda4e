#!/usr/bin/env bash
# The test suite under sanitizers: ASan+UBSan in build-asan, TSan in build-tsan.
#   scripts/sanitize.sh [asan|tsan|all] [ctest args...]        (default: all)
# e.g. scripts/sanitize.sh tsan -R 'SimulatorServer|Abuse'
# SANITIZE_DIRS limits the run to some source directories, e.g. SANITIZE_DIRS="core simulator":
# only their targets are built (ninja DIR/all) and only their tests run (ctest in DIR).
# Default: everything. SANITIZE_BUILD_ONLY=1 builds and stops (test.sh builds ahead that way).
# Any report fails the run: halt_on_error everywhere, leaks included. TSan reads
# scripts/tsan.supp, which holds third-party false positives only.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
which=${1:-all}
shift || true
dirs=${SANITIZE_DIRS:-}

run_one() {
  local name=$1 flags=$2 dir=build-$1
  local start=$SECONDS
  if [[ ! -f $dir/build.ninja ]]; then
    # -O1: sanitized code at -O2 builds slower and finds no more; -g for the reports.
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DSCHSIM_SANITIZE="$flags" \
      -DSCHSIM_BUILD_BENCH=OFF >/dev/null
  fi
  if [[ -z $dirs ]]; then
    ninja -C "$dir"
  else
    local targets=()
    for d in $dirs; do targets+=("$d/all"); done
    ninja -C "$dir" "${targets[@]}"
  fi
  local built=$SECONDS
  if [[ ${SANITIZE_BUILD_ONLY:-0} = 1 ]]; then
    echo "sanitize.sh: $name: built in $((built - start)) s (SANITIZE_BUILD_ONLY: no tests)"
    return 0
  fi
  if [[ -z $dirs ]]; then
    ctest --test-dir "$dir" --output-on-failure -j 2 --timeout 900 "$@"
  else
    for d in $dirs; do
      ctest --test-dir "$dir/$d" --output-on-failure -j 2 --timeout 900 "$@"
    done
  fi
  echo "sanitize.sh: $name: build $((built - start)) s, tests $((SECONDS - built)) s"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/tsan.supp}
case $which in
  asan) run_one asan address,undefined "$@" ;;
  tsan) run_one tsan thread "$@" ;;
  all)
    run_one asan address,undefined "$@"
    run_one tsan thread "$@"
    ;;
  *) echo "usage: scripts/sanitize.sh [asan|tsan|all] [ctest args...]" >&2; exit 2 ;;
esac
