#!/usr/bin/env bash
# Where `schsim serve` spends its time under redis-benchmark, by timeline mode (see
# run-redis-benchmark.sh): perf record with frame-pointer call graphs of the serve process while
# redis-benchmark -P PIPELINE -t TEST runs, then the top functions, self and inclusive
# (bench/perf_top.py names them from the binary's symbol table: perf 6.1 cannot).
#   bench/run-profile.sh MODE [PIPELINE] [TEST] [SCHSIM]
#   MODE: retained | streamed | unconsumed | off    PIPELINE: 16   TEST: set
# SCHSIM defaults to build-perf's, which bench/lib.sh configures; for call graphs configure it
# with -DSCHSIM_FRAME_POINTERS=ON (without, perf shows self time only). Needs linux-perf and
# perf_event_paranoid <= 1 or root.
source "$(dirname "$0")/lib.sh"
mode=${1:?mode: retained, streamed, unconsumed or off}
pipeline=${2:-16}
test=${3:-set}
schsim=${4:-}
if [[ -z $schsim ]]; then
  bench_build schsim
  schsim=$build_dir/apps/schsim/schsim
fi
command -v perf >/dev/null || { echo "perf is needed (apt-get install linux-perf)" >&2; exit 1; }
tmp=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
case $mode in
  retained) flags=(--keep-timeline) ;;
  streamed) flags=(--timeline-jsonl "$tmp/timeline.jsonl") ;;
  unconsumed) flags=() ;;
  off) flags=(--no-record-commands) ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
port=$(free_port)
"$schsim" serve --port "$port" "${flags[@]}" >"$tmp/serve.log" 2>&1 &
pid=$!
wait_port "$port"
bench() { redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -n "$1" -P "$pipeline" -t "$test" -r 100000 -q >/dev/null; }
bench 200000  # warm-up: the keyspace holds its keys before the profile starts
bench 2000000 &
load=$!
sleep 0.5
perf record -q -g --call-graph fp -F 999 -p "$pid" -o "$tmp/perf.data" -- sleep 5 2>/dev/null
wait "$load"
echo "perf: schsim serve, mode $mode, redis-benchmark -P $pipeline -t $test (load $(cut -d' ' -f1-3 /proc/loadavg))"
perf script -i "$tmp/perf.data" -F ip,sym,dso 2>/dev/null | "$(dirname "$0")/perf_top.py" "${PROFILE_TOP:-20}"
