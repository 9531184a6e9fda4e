#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz and runs each for a
# bounded time over the committed seed corpus (core/fuzz/corpus/).
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 60 s, every target)
# New inputs go to build-fuzz/corpus/<target>/ (the committed corpus is only read); a crash
# leaves its input in build-fuzz/artifacts/ and makes this script exit non-zero. Replay one with
#   build-fuzz/core/fuzz/<target> build-fuzz/artifacts/<file>
# FUZZ_BUILD_ONLY=1 builds the targets and stops (test.sh builds ahead that way).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
cxx=${CXX:-$(command -v clang++-14 || command -v clang++ || true)}
[[ -n $cxx ]] || { echo "fuzz.sh: clang++ is needed (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }

if [[ ! -f $build_dir/build.ninja ]]; then
  CXX=$cxx cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSCHSIM_ENABLE_FUZZ=ON -DSCHSIM_BUILD_TESTS=OFF -DSCHSIM_BUILD_BENCH=OFF \
    -DSCHSIM_SANITIZE=fuzzer-no-link,address,undefined >/dev/null
fi

# target:seed-corpus pairs
all=(resp3_parser_fuzz:core/fuzz/corpus/resp3 notification_decode_fuzz:core/fuzz/corpus/resp3
     scenario_load_fuzz:core/fuzz/corpus/scenario)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for entry in "${all[@]}"; do
    t=${entry%%:*}
    # scenario_load_fuzz exists only when the scenario loader does.
    if ninja -C "$build_dir" -t targets all 2>/dev/null | grep -q "^$t:"; then targets+=("$t"); fi
  done
fi
ninja -C "$build_dir" "${targets[@]}"
if [[ ${FUZZ_BUILD_ONLY:-0} = 1 ]]; then
  echo "fuzz.sh: built ${targets[*]} (FUZZ_BUILD_ONLY: not run)"
  exit 0
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$build_dir/artifacts"
status=0
for t in "${targets[@]}"; do
  seeds=""
  for entry in "${all[@]}"; do [[ ${entry%%:*} == "$t" ]] && seeds=${entry#*:}; done
  mkdir -p "$build_dir/corpus/$t"
  echo "== $t: ${seconds}s over $seeds"
  if ! "$build_dir/core/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$t-" \
      "$build_dir/corpus/$t" "$seeds" >"$build_dir/$t.log" 2>&1; then
    echo "FAIL: $t (log: $build_dir/$t.log)"
    tail -40 "$build_dir/$t.log"
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^Done" "$build_dir/$t.log" || true
    echo "ok: $t"
  fi
done
exit $status
