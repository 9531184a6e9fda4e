#!/usr/bin/env bash
# redis-benchmark over TLS (SET, GET, INCR; 50 clients; pipeline 1 and 16) against redis-server
# (--tls-port) and against `schsim serve` on a `tls_only` endpoint, with both servers also on
# plaintext, all in the same run: the ratio schsim/redis-server over TLS, and what TLS costs each.
#   bench/run-tls-benchmark.sh [REQUESTS] [ROUNDS]   (defaults 100000 per test, 5 rounds)
# Both TLS servers present the same certificate: the one `schsim serve --tls-dir` made for its
# endpoint (a leaf for 127.0.0.1 signed by a CA made for this run), so the handshake and cipher
# are the same for both. redis-benchmark verifies it against that CA (--cacert).
# Servers take turns in a rotated order each round, as in run-redis-benchmark.sh; a cell is the
# median over the rounds of the per-round ratio, with the lowest and highest round beside it.
# BENCH_FIFO=1 runs everything under `chrt -f 10` (see run-redis-benchmark.sh).
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

# One endpoint each; the TLS one refuses plaintext. No workload, no steps: only serving.
scenario() {
  cat <<EOF
[scenario]
id = "bench-$1"
title = "one endpoint for redis-benchmark"
duration = "60m"
[topology]
start = "node-a"
[[topology.endpoint]]
name = "node-a"
$([[ $1 == tls ]] && printf 'tls = true\ntls_only = true')
[workload]
rate = 0
EOF
}
scenario plain >"$tmp/plain.toml"
scenario tls >"$tmp/tls.toml"

declare -A port
names=(redis redis_tls schsim schsim_tls)
for n in "${names[@]}"; do port[$n]=$(free_port); done
"${rt[@]}" "$schsim" serve "$tmp/tls.toml" --port "node-a=${port[schsim_tls]}" \
  --tls-dir "$tmp/certs" >"$tmp/schsim_tls.log" 2>&1 &
pids+=($!)
"${rt[@]}" "$schsim" serve "$tmp/plain.toml" --port "node-a=${port[schsim]}" >"$tmp/schsim.log" 2>&1 &
pids+=($!)
wait_port "${port[schsim_tls]}"
"${rt[@]}" redis-server --port "${port[redis]}" --save '' --appendonly no --bind 127.0.0.1 \
  --daemonize no --logfile "$tmp/redis.log" &
pids+=($!)
"${rt[@]}" redis-server --port 0 --tls-port "${port[redis_tls]}" --tls-cert-file "$tmp/certs/node-a.crt" \
  --tls-key-file "$tmp/certs/node-a.key" --tls-ca-cert-file "$tmp/certs/ca.pem" \
  --tls-auth-clients no --save '' --appendonly no --bind 127.0.0.1 --daemonize no \
  --logfile "$tmp/redis_tls.log" &
pids+=($!)
for n in "${names[@]}"; do wait_port "${port[$n]}"; done

# rps NAME PIPELINE TEST
rps() {
  local tls=()
  [[ $1 == *_tls ]] && tls=(--tls --cacert "$tmp/certs/ca.pem")
  "${rt[@]}" redis-benchmark -h 127.0.0.1 -p "${port[$1]}" "${tls[@]}" -c 50 -n "$requests" \
    -P "$2" -t "$3" -r 100000 --csv -q | awk -F'"' 'NR>1 && $2!="" {print $4; exit}'
}
# cell A B: median [min–max] of the per-round ratio A/B.
cell() {
  paste "$tmp/$1.rps" "$tmp/$2.rps" | awk '{print $1 / $2}' | sort -g |
    awk '{v[NR]=$1} END {printf "%.2f [%.2f–%.2f]", v[int((NR+1)/2)], v[1], v[NR]}'
}
median() { sort -g "$tmp/$1.rps" | awk '{v[NR]=$1} END {printf "%.0f", v[int((NR+1)/2)]}'; }

echo "## redis-benchmark over TLS: simulator vs redis-server"
echo
machine_note
echo
echo "Command: \`bench/run-tls-benchmark.sh $requests $rounds\` (redis-benchmark [--tls --cacert] -c 50 -n $requests -r 100000 -P 1|16 -t TEST --csv; $rounds rounds, servers rotated within each)."
[[ ${#rt[@]} -gt 0 ]] && echo "Servers and redis-benchmark under \`${rt[*]}\` (SCHED_FIFO)."
echo "Cells: median ratio over the rounds [lowest–highest round]."
echo
echo "| test | pipeline | redis-server TLS rps (median) | **schsim / redis-server, TLS** | schsim / redis-server, plaintext | redis-server TLS / plaintext | schsim TLS / plaintext |"
echo "|---|---|---|---|---|---|---|"
for pipeline in 1 16; do
  for t in set get incr; do
    for n in "${names[@]}"; do : >"$tmp/$n.rps"; done
    for r in $(seq 0 $((rounds - 1))); do
      for k in $(seq 0 $((${#names[@]} - 1))); do
        n=${names[$(((r + k) % ${#names[@]}))]}
        rps "$n" "$pipeline" "$t" >>"$tmp/$n.rps"
      done
    done
    echo "| ${t^^} | $pipeline | $(median redis_tls) | $(cell schsim_tls redis_tls) | $(cell schsim redis) | $(cell redis_tls redis) | $(cell schsim_tls schsim) |"
  done
done
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)."
