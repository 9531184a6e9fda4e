#!/usr/bin/env bash
# Client drivers on the same simulator, in the same run: throughput and latency (p50/p99/max)
# of a closed loop of INCRs, without and with a MOVING handoff in the middle. Uses
# schsim-refclient-bench (client-under-test/reference/bench/driver_bench.cpp), which drives each
# client through its driver program, the path the harness uses.
#   bench/run-clients.sh [DURATION_MS] [WINDOW]        (defaults 3000, 32)
# Clients: the reference client, node-redis, and each other driver whose build is present
# (client-under-test/drivers/install.sh builds them).
source "$(dirname "$0")/lib.sh"
duration=${1:-3000}
window=${2:-32}
bench_build schsim-refclient-bench schsim-refclient-driver
drivers=$root/client-under-test/drivers
clients=("--client=refclient=$(find "$build_dir" -name schsim-refclient-driver -type f -perm -u+x | head -1)"
         "--client=node-redis=/bin/bash $drivers/run-node-redis.sh")
[[ -x $drivers/go-redis/bin/schsim-go-redis-driver ]] &&
  clients+=("--client=go-redis=/bin/bash $drivers/run-go-redis.sh")
[[ -d $drivers/redis-py/.venv ]] && clients+=("--client=redis-py=/bin/bash $drivers/run-redis-py.sh")
ls "$drivers"/lettuce/target/*.jar >/dev/null 2>&1 &&
  clients+=("--client=lettuce=/bin/bash $drivers/run-lettuce.sh")

echo "## Client drivers on the same simulator"
echo
machine_note
echo
echo "Command: \`bench/run-clients.sh $duration $window\` (schsim-refclient-bench --duration-ms=$duration --window=$window, one run per client and phase; ratio = ops/s over the reference client's in the same phase)"
echo
# Drivers log to stderr; keep that out of the table.
"$build_dir/client-under-test/schsim-refclient-bench" --duration-ms="$duration" --window="$window" \
  "${clients[@]}" 2>"$build_dir/bench-clients.log" | awk '
  # Fixed-width columns (client 12, phase 14): the phase name has spaces.
  NR == 1 { print "| client | phase | ok | failed | ops/s | ratio | p50 ms | p99 ms | max ms | note |";
            print "|---|---|---|---|---|---|---|---|---|---|"; next }
  /^  per/ { next }
  { client = substr($0, 1, 12); phase = substr($0, 14, 14); gsub(/ +$/, "", client)
    gsub(/ +$/, "", phase); n = split(substr($0, 29), f, " ")
    note = ""; for (i = 7; i <= n; ++i) note = note (i > 7 ? " " : "") f[i]
    if (client == "refclient") base[phase] = f[3]
    ratio = (base[phase] > 0) ? sprintf("%.2f", f[3] / base[phase]) : "-"
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", client, phase, f[1], f[2], f[3], ratio, f[4], f[5], f[6], note }'
