#!/usr/bin/env bash
# redis-benchmark (SET, GET, INCR; 50 clients; pipeline 1 and 16) against redis-server and
# against `schsim serve` in each way it can account for the commands it serves, all in the same
# run, so every ratio sees the same machine load.
#   bench/run-redis-benchmark.sh [REQUESTS] [ROUNDS]   (defaults 100000 per test, 5 rounds)
# Servers (each started once, all listening for the whole run):
#   redis-server   Debian's 7.0, no persistence
#   (a) retained   `schsim serve --keep-timeline`: every command and reply kept in memory, as
#                  `schsim run` keeps the timeline its checks read (memory grows with traffic)
#   (b) streamed   `schsim serve --timeline-jsonl FILE`: every event written to a JSONL file
#   (c) unconsumed `schsim serve`: every command and reply recorded, but nothing subscribes to
#                  them (the figures bench/RESULTS.md used to call "recording on")
#   (d) off        `schsim serve --no-record-commands`: no command or reply recorded
# BENCH_BASELINE=/path/to/an/older/schsim adds that build in modes (b) and (c), for before/after
# figures taken in the same run.
# BENCH_FIFO=1 runs the servers and redis-benchmark under `chrt -f 10` (SCHED_FIFO; needs root or
# CAP_SYS_NICE), so other work on a shared machine cannot preempt them mid-run and the ratios
# measure the servers rather than the scheduler.
# In every round the servers take turns in a rotated order (round r starts with server r), so
# none always runs first or last. A cell is the median over the rounds of the per-round ratio to
# redis-server (same round, same test), with the lowest and highest per-round ratio beside it.
source "$(dirname "$0")/lib.sh"
requests=${1:-100000}
rounds=${2:-5}
bench_build schsim
command -v redis-benchmark >/dev/null && command -v redis-server >/dev/null ||
  { echo "redis-benchmark and redis-server are needed (apt-get install redis-server)" >&2; exit 1; }

rt=()
[[ ${BENCH_FIFO:-0} = 1 ]] && rt=(chrt -f 10)
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

schsim=$build_dir/apps/schsim/schsim
names=()  # server names, in the order of the table's columns
declare -A port
# start NAME COMMAND...: starts a server on a free port (passed as --port for schsim).
start() {
  local name=$1
  shift
  port[$name]=$(free_port)
  if [[ $1 == redis-server ]]; then
    "${rt[@]}" redis-server --port "${port[$name]}" --save '' --appendonly no --bind 127.0.0.1 \
      --daemonize no --logfile "$tmp/$name.log" &
  else
    "${rt[@]}" "$@" --port "${port[$name]}" >"$tmp/$name.log" 2>&1 &
  fi
  pids+=($!)
  names+=("$name")
}
start redis redis-server
start retained "$schsim" serve --keep-timeline
start streamed "$schsim" serve --timeline-jsonl "$tmp/streamed.jsonl"
start unconsumed "$schsim" serve
start off "$schsim" serve --no-record-commands
if [[ -n ${BENCH_BASELINE:-} ]]; then
  start base_streamed "$BENCH_BASELINE" serve --timeline-jsonl "$tmp/base_streamed.jsonl"
  start base_unconsumed "$BENCH_BASELINE" serve
fi
for n in "${names[@]}"; do wait_port "${port[$n]}"; done

# rps PORT PIPELINE TEST
rps() {
  "${rt[@]}" redis-benchmark -h 127.0.0.1 -p "$1" -c 50 -n "$requests" -P "$2" -t "$3" -r 100000 --csv -q |
    awk -F'"' 'NR>1 && $2!="" {print $4; exit}'
}

echo "## redis-benchmark: simulator vs redis-server, by timeline mode"
echo
machine_note
echo
echo "Command: \`bench/run-redis-benchmark.sh $requests $rounds\` (redis-benchmark -c 50 -n $requests -r 100000 -P 1|16 -t TEST --csv; $rounds rounds, servers rotated within each)."
[[ ${#rt[@]} -gt 0 ]] && echo "Servers and redis-benchmark under \`${rt[*]}\` (SCHED_FIFO)."
echo "Cells: median ratio to redis-server over the rounds [lowest–highest round]."
echo
header="| test | pipeline | redis-server rps (median) | (a) retained | (b) streamed to JSONL | (c) built, unconsumed | (d) off |"
rule="|---|---|---|---|---|---|---|"
if [[ -n ${BENCH_BASELINE:-} ]]; then
  header+=" baseline (b) | baseline (c) | (b) after/before | (c) after/before |"
  rule+="---|---|---|---|"
fi
echo "$header"
echo "$rule"
loads=()
for pipeline in 1 16; do
  for t in set get incr; do
    for n in "${names[@]}"; do : >"$tmp/$n.rps"; done
    for r in $(seq 0 $((rounds - 1))); do
      for k in $(seq 0 $((${#names[@]} - 1))); do
        n=${names[$(((r + k) % ${#names[@]}))]}
        rps "${port[$n]}" "$pipeline" "$t" >>"$tmp/$n.rps"
      done
    done
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    # ratio_cell NAME [OVER]: median [min–max] of per-round NAME/OVER (OVER: redis).
    ratio_cell() {
      paste "$tmp/$1.rps" "$tmp/${2:-redis}.rps" | awk '{print $1 / $2}' | sort -g |
        awk '{v[NR]=$1} END {printf "%.2f [%.2f–%.2f]", v[int((NR+1)/2)], v[1], v[NR]}'
    }
    redis_median=$(sort -g "$tmp/redis.rps" | awk '{v[NR]=$1} END {printf "%.0f", v[int((NR+1)/2)]}')
    row="| ${t^^} | $pipeline | $redis_median | $(ratio_cell retained) | $(ratio_cell streamed) | $(ratio_cell unconsumed) | $(ratio_cell off) |"
    if [[ -n ${BENCH_BASELINE:-} ]]; then
      row+=" $(ratio_cell base_streamed) | $(ratio_cell base_unconsumed) | $(ratio_cell streamed base_streamed) | $(ratio_cell unconsumed base_unconsumed) |"
    fi
    echo "$row"
  done
done
echo
echo "Load average (1 min) after each test: ${loads[*]}; at the end: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)."
rss_line="Resident size after the run (KiB):"
for i in "${!names[@]}"; do rss_line+=" ${names[$i]} $(rss_kib "${pids[$i]}"),"; done
echo "${rss_line%,}."
echo "JSONL written by (b): $(wc -l <"$tmp/streamed.jsonl") lines, $(du -m "$tmp/streamed.jsonl" | cut -f1) MiB."
