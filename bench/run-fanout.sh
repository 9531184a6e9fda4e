#!/usr/bin/env bash
# Push fan-out: one MOVING to 1,000 and to 10,000 opted-in connections; time from the scheduled
# instant to the last push_written (frame fully written), over REPEAT pushes each.
#   bench/run-fanout.sh [REPEAT]      (default 5)
# The simulator runs in-process (schsim_sim_bench fanout); the clients in a child process.
source "$(dirname "$0")/lib.sh"
repeat=${1:-5}
bench_build schsim_sim_bench
echo "## Push fan-out"
echo
machine_note
echo
for n in 1000 10000; do
  echo "Command: \`$build_dir/bench/schsim_sim_bench fanout --connections $n --repeat $repeat\`"
  echo
  echo '```json'
  "$build_dir/bench/schsim_sim_bench" fanout --connections "$n" --repeat "$repeat"
  echo '```'
  echo
done
