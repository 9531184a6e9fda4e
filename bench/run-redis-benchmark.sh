#!/usr/bin/env bash
# redis-benchmark (SET, GET, INCR; 50 clients; pipeline 1 and 16) against the simulator and
# against redis-server in the same run, alternating, so the ratio sees the same machine load.
#   bench/run-redis-benchmark.sh [REQUESTS] [ROUNDS]   (defaults 100000 per test, 3 rounds)
# Each cell is the median of ROUNDS runs; the servers take turns within each round.
# Three servers: redis-server (Debian 7.0, no persistence), `schsim serve` (the product, every
# command recorded as a timeline event, streamed to the observers and not kept) and `schsim serve --no-record-commands` (recording off).
# BENCH_BASELINE=/path/to/an/older/schsim adds two columns: that build's simulator, recording on
# and off, for before/after figures taken in the same run (build the older tree's `schsim`
# target and copy apps/schsim/schsim aside before changing the tree).
source "$(dirname "$0")/lib.sh"
requests=${1:-100000}
rounds=${2:-3}
bench_build schsim
command -v redis-benchmark >/dev/null && command -v redis-server >/dev/null ||
  { echo "redis-benchmark and redis-server are needed (apt-get install redis-server)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --save '' --appendonly no --bind 127.0.0.1 --daemonize no \
  --logfile "$tmp/redis.log" &
pids+=($!)
sim_port=$(free_port)
"$build_dir/apps/schsim/schsim" serve --port "$sim_port" >"$tmp/sim.log" 2>&1 &
pids+=($!)
norec_port=$(free_port)
"$build_dir/apps/schsim/schsim" serve --port "$norec_port" --no-record-commands \
  >"$tmp/norec.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"; wait_port "$sim_port"; wait_port "$norec_port"
base_port=
if [[ -n ${BENCH_BASELINE:-} ]]; then
  base_port=$(free_port)
  "$BENCH_BASELINE" serve --port "$base_port" >"$tmp/base.log" 2>&1 &
  pids+=($!)
  base_norec_port=$(free_port)
  "$BENCH_BASELINE" serve --port "$base_norec_port" --no-record-commands >"$tmp/base-norec.log" 2>&1 &
  pids+=($!)
  wait_port "$base_port"; wait_port "$base_norec_port"
fi

# rps PORT PIPELINE TEST
rps() {
  redis-benchmark -h 127.0.0.1 -p "$1" -c 50 -n "$requests" -P "$2" -t "$3" -r 100000 --csv -q |
    awk -F'"' 'NR>1 && $2!="" {print $4; exit}'
}

echo "## redis-benchmark: simulator vs redis-server"
echo
machine_note
echo
echo "Command: \`bench/run-redis-benchmark.sh $requests\` (redis-benchmark -c 50 -n $requests -r 100000 -P 1|16 -t TEST --csv; median of $rounds rounds)"
echo
if [[ -n $base_port ]]; then
  echo "| test | pipeline | redis-server rps | schsim serve rps | ratio | --no-record-commands rps | ratio | baseline build rps | ratio | baseline --no-record-commands rps | ratio | after/before, recording on | after/before, recording off |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
else
  echo "| test | pipeline | redis-server rps | schsim serve rps | ratio | --no-record-commands rps | ratio |"
  echo "|---|---|---|---|---|---|---|"
fi
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for pipeline in 1 16; do
  for t in set get incr; do
    : >"$tmp/r"; : >"$tmp/s"; : >"$tmp/n"; : >"$tmp/b"; : >"$tmp/bn"
    for _ in $(seq "$rounds"); do
      rps "$redis_port" "$pipeline" "$t" >>"$tmp/r"
      rps "$sim_port" "$pipeline" "$t" >>"$tmp/s"
      rps "$norec_port" "$pipeline" "$t" >>"$tmp/n"
      if [[ -n $base_port ]]; then
        rps "$base_port" "$pipeline" "$t" >>"$tmp/b"
        rps "$base_norec_port" "$pipeline" "$t" >>"$tmp/bn"
      fi
    done
    r=$(median <"$tmp/r"); s=$(median <"$tmp/s"); n=$(median <"$tmp/n")
    printf '| %s | %s | %.0f | %.0f | %.2f | %.0f | %.2f |' "${t^^}" "$pipeline" "$r" "$s" \
      "$(echo "$s / $r" | bc -l)" "$n" "$(echo "$n / $r" | bc -l)"
    if [[ -n $base_port ]]; then
      b=$(median <"$tmp/b"); bn=$(median <"$tmp/bn")
      printf ' %.0f | %.2f | %.0f | %.2f | %.2f | %.2f |' "$b" "$(echo "$b / $r" | bc -l)" "$bn" \
        "$(echo "$bn / $r" | bc -l)" "$(echo "$s / $b" | bc -l)" "$(echo "$n / $bn" | bc -l)"
    fi
    echo
  done
done
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)."
echo "Resident size after the run: redis-server $(rss_kib "${pids[0]}") KiB, schsim serve $(rss_kib "${pids[1]}") KiB (every command streamed to the observers, none kept), recording off $(rss_kib "${pids[2]}") KiB."
