#!/usr/bin/env bash
# Resident size with 10,000 idle connections: `schsim serve` and redis-server side by side.
#   bench/run-memory.sh [CONNECTIONS]     (default 10000)
# The connections come from `schsim_sim_bench hold` (another process), each answered once
# (PING, or HELLO 3 + CLIENT MAINT_NOTIFICATIONS ON for the opted-in figure) and then idle.
source "$(dirname "$0")/lib.sh"
n=${1:-10000}
bench_build schsim schsim_sim_bench
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# measure PID PORT HANDSHAKE: RSS in KiB while N connections are open and idle.
measure() {
  rm -f "$tmp/ready"
  "$build_dir/bench/schsim_sim_bench" hold --port "$2" --connections "$n" --handshake "$3" \
    --ready-file "$tmp/ready" --hold-s 60 >"$tmp/hold.json" &
  local holder=$!
  for _ in $(seq 600); do [[ -f $tmp/ready ]] && break; sleep 0.1; done
  [[ -f $tmp/ready ]] || { echo "connections did not open: $(cat "$tmp/hold.json")" >&2; exit 1; }
  sleep 1
  rss_kib "$1"
  kill "$holder"; wait "$holder" 2>/dev/null || true
  sleep 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --save '' --appendonly no --bind 127.0.0.1 --daemonize no \
  --maxclients $((n + 100)) --logfile "$tmp/redis.log" &
pids+=($!)
sim_port=$(free_port)
"$build_dir/apps/schsim/schsim" serve --port "$sim_port" >"$tmp/sim.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"; wait_port "$sim_port"
sleep 0.5
redis_base=$(rss_kib "${pids[0]}"); sim_base=$(rss_kib "${pids[1]}")
redis_idle=$(measure "${pids[0]}" "$redis_port" ping)
sim_idle=$(measure "${pids[1]}" "$sim_port" ping)
# A fresh simulator for the opted-in figure, so the first round's timeline is not counted.
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
sim2_port=$(free_port)
"$build_dir/apps/schsim/schsim" serve --port "$sim2_port" >"$tmp/sim2.log" 2>&1 &
pids[1]=$!
wait_port "$sim2_port"; sleep 0.5
sim2_base=$(rss_kib "${pids[1]}")
sim_maint=$(measure "${pids[1]}" "$sim2_port" maint)

mib() { echo "scale=1; $1 / 1024" | bc; }
echo "## Memory: resident size with $n idle connections"
echo
machine_note
echo
echo "Command: \`bench/run-memory.sh $n\`"
echo
echo "| server | handshake | RSS before | RSS with $n connections | per connection | ratio to redis-server |"
echo "|---|---|---|---|---|---|"
printf '| redis-server 7.0 | PING | %s MiB | %s MiB | %d B | 1.00 |\n' "$(mib "$redis_base")" \
  "$(mib "$redis_idle")" $(( (redis_idle - redis_base) * 1024 / n ))
printf '| schsim serve | PING | %s MiB | %s MiB | %d B | %.2f |\n' "$(mib "$sim_base")" \
  "$(mib "$sim_idle")" $(( (sim_idle - sim_base) * 1024 / n )) "$(echo "$sim_idle / $redis_idle" | bc -l)"
printf '| schsim serve | HELLO 3 + MAINT_NOTIFICATIONS ON | %s MiB | %s MiB | %d B | %.2f |\n' \
  "$(mib "$sim2_base")" "$(mib "$sim_maint")" $(( (sim_maint - sim2_base) * 1024 / n )) \
  "$(echo "$sim_maint / $redis_idle" | bc -l)"
