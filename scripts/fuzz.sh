#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz and runs each over the
# committed corpus: the hand-written seeds (core/fuzz/corpus/resp3, .../scenario) and what long
# runs found (core/fuzz/corpus/generated/<target>/, minimized).
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 60 s, every target; CI)
#   scripts/fuzz.sh --runs N [TARGET...]                  (long mode: N executions per target)
#   FUZZ_LONG_SECONDS=S caps each long run at S seconds (what it reached is then reported).
# New inputs go to build-fuzz/corpus/<target>/ (the committed corpus is only read); a crash
# leaves its input in build-fuzz/artifacts/ and makes this script exit non-zero. Replay one with
#   build-fuzz/core/fuzz/<target> build-fuzz/artifacts/<file>
# Long mode runs one target after the other at nice 19, then minimizes (libFuzzer -merge=1) the
# seeds, the committed generated corpus and everything the run found into
# core/fuzz/corpus/generated/<target>/ (seeds themselves left out), ready to commit; the figures
# (executions, cov, ft, corpus size, time) go to build-fuzz/<target>.long.txt.
# FUZZ_BUILD_ONLY=1 builds the targets and stops (test.sh builds ahead that way).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=
if [[ ${1:-} == --runs ]]; then
  runs=${2:?--runs needs a count}
  shift 2
  seconds=
else
  seconds=${1:-60}
  shift || true
fi
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
generated=core/fuzz/corpus/generated

# long_run TARGET SEEDS: N executions, then the minimized corpus into $generated/TARGET.
long_run() {
  local t=$1 seeds=$2 log=$build_dir/$1.long.log start=$SECONDS
  mkdir -p "$build_dir/corpus/$t" "$generated/$t"
  echo "== $t: $runs executions over $seeds $generated/$t (log: $log)"
  # -timeout is wall time: at nice 19 on a busy machine a unit can wait seconds for a core
  # (a 10 s limit fired on an input that replays in milliseconds); a real hang still trips it.
  if ! nice -n 19 "$build_dir/core/fuzz/$t" -runs="$runs" -max_total_time="${FUZZ_LONG_SECONDS:-0}" \
      -timeout=300 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$t-" \
      "$build_dir/corpus/$t" "$generated/$t" "$seeds" >"$log" 2>&1; then
    echo "FAIL: $t (log: $log)"
    tail -40 "$log"
    return 1
  fi
  local merged=$build_dir/merged/$t
  rm -rf "$merged" && mkdir -p "$merged"
  cp "$seeds"/* "$merged"/
  nice -n 19 "$build_dir/core/fuzz/$t" -merge=1 "$merged" "$generated/$t" "$build_dir/corpus/$t" \
    >"$build_dir/$t.merge.log" 2>&1
  # The committed generated corpus: what the merge kept, minus the seeds themselves.
  rm -rf "${generated:?}/$t" && mkdir -p "$generated/$t"
  for f in "$merged"/*; do
    [[ -e $seeds/$(basename "$f") ]] || cp "$f" "$generated/$t/"
  done
  {
    echo "target: $t"
    # grep -a: the log holds raw input bytes (NULs stop awk, and grep calls it binary).
    echo "executions: $(grep -a '^stat::number_of_executed_units' "$log" | tail -1 | tr -dc 0-9)"
    echo "seconds: $((SECONDS - start))"
    echo "last status: $(grep -aE '^#[0-9]+' "$log" | tail -1)"
    echo "peak rss MiB: $(grep -a '^stat::peak_rss_mb' "$log" | tail -1 | tr -dc 0-9)"
    echo "found corpus: $(find "$build_dir/corpus/$t" -type f | wc -l) files"
    echo "merged: $(grep -E 'MERGE-OUTER: [0-9]+ new files' "$build_dir/$t.merge.log" | tail -1)"
    echo "committed generated corpus: $(find "$generated/$t" -type f | wc -l) files, $(du -sk "$generated/$t" | cut -f1) KiB"
  } | tee "$build_dir/$t.long.txt"
}

mkdir -p "$build_dir/artifacts"
status=0
for t in "${targets[@]}"; do
  seeds=""
  for entry in "${all[@]}"; do [[ ${entry%%:*} == "$t" ]] && seeds=${entry#*:}; done
  if [[ -n $runs ]]; then
    long_run "$t" "$seeds" || status=1
    continue
  fi
  mkdir -p "$build_dir/corpus/$t"
  found=()
  [[ -d $generated/$t ]] && found=("$generated/$t")
  echo "== $t: ${seconds}s over $seeds ${found[*]}"
  if ! "$build_dir/core/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$t-" \
      "$build_dir/corpus/$t" "${found[@]}" "$seeds" >"$build_dir/$t.log" 2>&1; then
    echo "FAIL: $t (log: $build_dir/$t.log)"
    tail -40 "$build_dir/$t.log"
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^Done" "$build_dir/$t.log" || true
    echo "ok: $t"
  fi
done
exit $status
