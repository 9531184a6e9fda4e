#!/usr/bin/env bash
# Push fan-out: one MOVING to 1,000 and to 10,000 opted-in connections, against its peers in the
# same run: redis-server 7.0 (as many RESP3 subscribers of one channel, one PUBLISH of a message
# the MOVING's size) and the floor (a plain non-blocking send() loop over as many loopback
# sockets, on 1 and on 2 threads). The servers take turns within each of REPEAT rounds; every
# figure is scheduled instant -> last push received by a client (the same client code and
# CLOCK_MONOTONIC for all), plus -> last written for the simulator and the floor.
#   bench/run-fanout.sh [REPEAT]      (default 5)
# FANOUT_ARGS adds options to every schsim_sim_bench call, e.g. FANOUT_ARGS="--parallel-flush-min 0"
# writes every session on the io thread (the flush before the parallel one).
# Runs each size on the shared machine and under `chrt -f 10` (SCHED_FIFO, redis-server too).
# The simulator runs in-process (schsim_sim_bench fanout); the clients in child processes.
source "$(dirname "$0")/lib.sh"
repeat=${1:-5}
read -r -a extra <<<"${FANOUT_ARGS:-}"
bench_build schsim_sim_bench
echo "## Push fan-out"
echo
machine_note
echo
redis_pid=
stop_redis() { if [[ -n $redis_pid ]]; then kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null || true; redis_pid=; fi; }
trap stop_redis EXIT
for sched in shared fifo; do
  prefix=()
  [[ $sched == fifo ]] && prefix=(chrt -f 10)
  for n in 1000 10000; do
    port=$(free_port)
    # maxclients: 10,000 subscribers and the publisher; redis raises its own descriptor limit.
    "${prefix[@]}" redis-server --port "$port" --save '' --appendonly no --maxclients 10100 \
      --loglevel warning >/dev/null 2>&1 &
    redis_pid=$!
    wait_port "$port"
    echo "Command: \`${prefix[*]:+${prefix[*]} }$build_dir/bench/schsim_sim_bench fanout --connections $n --repeat $repeat --redis-port $port${extra[*]:+ ${extra[*]}}\` (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    echo '```json'
    "${prefix[@]}" "$build_dir/bench/schsim_sim_bench" fanout --connections "$n" --repeat "$repeat" \
      --redis-port "$port" "${extra[@]}"
    echo '```'
    echo
    stop_redis
  done
done
