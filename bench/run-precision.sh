#!/usr/bin/env bash
# Schedule precision: PUSHES pushes scheduled INTERVAL ms apart under 1,000 connections with
# SET/GET traffic; scheduled vs written time, p50/p99/max. Two loads: 10,000 commands/s in all,
# and every connection back to back (saturating the server's thread).
#   bench/run-precision.sh [PUSHES] [INTERVAL_MS]     (defaults 500, 10)
source "$(dirname "$0")/lib.sh"
pushes=${1:-500}
interval=${2:-10}
bench_build schsim_sim_bench
echo "## Schedule precision"
echo
machine_note
echo
for rate in 10000 0; do
  echo "Command: \`$build_dir/bench/schsim_sim_bench precision --connections 1000 --pushes $pushes --interval-ms $interval --rate $rate\`"
  echo
  echo '```json'
  "$build_dir/bench/schsim_sim_bench" precision --connections 1000 --pushes "$pushes" \
    --interval-ms "$interval" --rate "$rate"
  echo '```'
  echo
done
