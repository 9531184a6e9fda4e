#!/usr/bin/env bash
# The SCH end-to-end suites client teams ship with their libraries, run unchanged against schsim:
# schsim serve plays both Redis Enterprise's database and its fault injector (--control), and
# each test's result is held to a committed expectations file (like the matrix baseline).
#   scripts/peers.sh [--full] [--keep]
#     (default)  the CI selection (tests/peers/go-redis.json: groups with "ci": true)
#     --full     every group the file lists, including the multi-minute ones
#     --keep     keep each group's schsim timeline (JSONL, with every command) for evidence
#     --only=go-redis|--only=redis-py   one suite
#     --prepare  only fetch and build what the suites need (the go-redis module and its e2e test
#                binary, the redis-py sdist and pytest venv) and stop: needs no schsim build, so
#                scripts/test.sh does it beside the C++ build
# redis-py: the pinned version's PyPI sdist ships tests/maint_notifications; its cluster file runs
# against schsim's cae-resp-proxy API (fixed ports 4000, 15379-15382, as the tests hard-code),
# held to tests/peers/redis-py.json, in parallel with the go-redis groups.
# go-redis: the pinned module (client-under-test/drivers/go-redis/go.mod) comes from the Go
# module proxy; its maintnotifications/e2e tests run in their real fault-injector mode
# (REDIS_ENDPOINTS_CONFIG_PATH + FAULT_INJECTION_API_URL). Groups run in parallel, one schsim
# serve each. Output in ${PEERS_OUT:-out/peers}. Exit 1 when a result differs from the file.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=${BUILD_DIR:-build}
schsim=${SCHSIM:-"$root/$build_dir/apps/schsim/schsim"}
out="$root/${PEERS_OUT:-out/peers}"
selection=ci
keep=false
prepare=false
suites=(go-redis redis-py)
for arg in "$@"; do
  case $arg in
    --full) selection=full ;;
    --keep) keep=true ;;
    --prepare) prepare=true ;;
    --only=go-redis | --only=redis-py) suites=("${arg#--only=}") ;;
    *) echo "peers.sh: unknown option '$arg' (--full, --keep, --prepare, --only=go-redis|redis-py)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
$prepare || [[ -x $schsim ]] || { echo "peers.sh: $schsim not built; run scripts/build.sh" >&2; exit 2; }
command -v go >/dev/null || { echo "peers.sh: go not found (scripts/install-deps.sh)" >&2; exit 2; }
expectations=tests/peers/go-redis.json
helper=(python3 tests/peers/peers.py)

# The module source from the Go proxy (GOTOOLCHAIN=local: never download another toolchain).
fetch_go_redis() {
  local version dir
  version=$(awk '$1 == "github.com/redis/go-redis/v9" { print $2 }' client-under-test/drivers/go-redis/go.mod)
  [[ -n $version ]] || { echo "peers.sh: no go-redis version in the driver's go.mod" >&2; return 2; }
  dir=$(cd /tmp && GOTOOLCHAIN=local go mod download -json "github.com/redis/go-redis/v9@$version" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  [[ -d $dir/maintnotifications/e2e ]] ||
    { echo "peers.sh: $dir has no maintnotifications/e2e" >&2; return 2; }
  echo "peers.sh: go-redis $version from $dir" >&2
  echo "$dir"
}

# One test binary for every group (the Go build cache makes a rebuild a link step).
build_e2e() {
  local dir=$1 start=$SECONDS
  (cd "$dir" && GOTOOLCHAIN=local go test -c -o "$out/go-redis/e2e.test" ./maintnotifications/e2e)
  echo "peers.sh: built the e2e test binary in $((SECONDS - start)) s" >&2
}

# Starts `schsim serve ARGS...` with its endpoints file in DIR and waits for that file.
start_serve() {
  local dir=$1
  shift
  local args=("$@" --endpoints-json "$dir/serve.json")
  if $keep; then args+=(--timeline-jsonl "$dir/timeline.jsonl"); else args+=(--no-record-commands); fi
  "$schsim" serve "${args[@]}" >"$dir/serve.log" 2>&1 &
  echo $! >"$dir/serve.pid"
  for _ in $(seq 100); do
    [[ -s $dir/serve.json ]] && return 0
    kill -0 "$(cat "$dir/serve.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "peers.sh: schsim serve $* did not start:" >&2
  tail -n 20 "$dir/serve.log" >&2
  return 1
}

# A go-redis group's database. Standalone: serve's fault-injector default (node-a, and node-b
# for `bind`); cluster: tests/peers/cluster.toml. The scenario goes first: --port and friends
# take several values and would swallow it.
start_group_serve() {
  local dir=$1 topology=$2 scenario=()
  [[ $topology == standalone ]] || scenario=("$root/tests/peers/$topology.toml")
  start_serve "$dir" "${scenario[@]}" --control 127.0.0.1:0
}

stop_serve() {
  local pid
  pid=$(cat "$1/serve.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# One group: its own schsim, its own endpoints file, the test binary under test2json.
run_group() {
  local name=$1 topology=$2 regex=$3 timeout_s=$4
  local dir="$out/go-redis/$name" fi_url status=0 start=$SECONDS
  rm -rf "$dir" && mkdir -p "$dir"
  start_group_serve "$dir" "$topology" || return 1
  fi_url=$("${helper[@]}" endpoints-config "$dir/serve.json" --topology "$topology" \
    --out "$dir/endpoints.json")
  (cd "$dir" && E2E_SCENARIO_TESTS=true REDIS_ENDPOINTS_CONFIG_PATH="$dir/endpoints.json" \
    FAULT_INJECTION_API_URL="$fi_url" timeout --kill-after=10 "$((timeout_s + 30))" \
    go tool test2json -t "$out/go-redis/e2e.test" -test.v=test2json -test.run "$regex" \
    -test.timeout "${timeout_s}s" >"$dir/test.jsonl" 2>"$dir/test.stderr") || status=$?
  stop_serve "$dir"
  echo "peers.sh: group $name ($topology, -run '$regex') exit $status in $((SECONDS - start)) s" >&2
}

run_go_redis() {
  local dir pids=() groups
  mkdir -p "$out/go-redis"
  dir=$(fetch_go_redis)
  build_e2e "$dir"
  groups=$("${helper[@]}" groups "$expectations" --selection "$selection")
  while IFS=$'\t' read -r name topology regex timeout_s; do
    run_group "$name" "$topology" "$regex" "$timeout_s" &
    pids+=($!)
  done <<<"$groups"
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  "${helper[@]}" compare "$expectations" --selection "$selection" \
    --json "$out/go-redis/results.json" "$out"/go-redis/*/test.jsonl
}

# redis-py: its PyPI sdist (the version pinned for the driver) ships tests/maint_notifications;
# the cluster file there talks to cae-resp-proxy's API on localhost:4000 with nodes on
# 127.0.0.1:15379-15381 (15382 a spare), all hard-coded, so this run uses fixed ports.
# pytest runs from a venv of ours (as install.sh builds the driver's), never the system's.
redis_py_python() {
  local venv=$out/redis-py/venv
  if ! "$venv/bin/python" -c 'import pytest, packaging' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input \
      pytest==9.2.0 packaging==24.2
  fi
  echo "$venv/bin/python"
}

fetch_redis_py() {
  local python=$1 version dir=$out/redis-py
  version=$(sed -n 's/^redis==\([0-9.]*\).*/\1/p' client-under-test/drivers/redis-py/requirements.txt)
  [[ -n $version ]] || { echo "peers.sh: no redis version in the driver's requirements" >&2; return 2; }
  if [[ ! -d $dir/redis-$version/tests/maint_notifications ]]; then
    rm -rf "$dir/sdist" && mkdir -p "$dir/sdist"
    "$python" -m pip download -q --disable-pip-version-check --no-input --no-deps \
      --no-binary :all: "redis==$version" -d "$dir/sdist"
    tar -xzf "$dir/sdist/redis-$version.tar.gz" -C "$dir"
  fi
  echo "peers.sh: redis-py $version from its PyPI sdist" >&2
  echo "$dir/redis-$version"
}

run_redis_py() {
  local python src dir=$out/redis-py/cluster status=0 start=$SECONDS
  mkdir -p "$out/redis-py"
  python=$(redis_py_python)
  src=$(fetch_redis_py "$python")
  rm -rf "$dir" && mkdir -p "$dir"
  start_serve "$dir" "$root/tests/peers/redis-py-cluster.toml" --control 127.0.0.1:4000 \
    --port node-a=15379 --port node-b=15380 --port node-c=15381 --port node-d=15382 || return 1
  (cd "$src" && PYTHONDONTWRITEBYTECODE=1 timeout 600 "$python" -m pytest \
    -p no:cacheprovider -q -m fixed_client \
    tests/maint_notifications/test_cluster_maint_notifications_handling.py \
    --redis-url redis://127.0.0.1:15379 --redis-cluster-nodes 3 \
    --junitxml "$dir/junit.xml" >"$dir/pytest.log" 2>&1) || status=$?
  stop_serve "$dir"
  echo "peers.sh: redis-py cluster tests exit $status in $((SECONDS - start)) s" >&2
  "${helper[@]}" compare-junit tests/peers/redis-py.json --json "$dir/results.json" "$dir/junit.xml"
}

prepare_suites() {
  local start=$SECONDS
  if [[ " ${suites[*]} " == *" go-redis "* ]]; then
    mkdir -p "$out/go-redis"
    build_e2e "$(fetch_go_redis)"
  fi
  if [[ " ${suites[*]} " == *" redis-py "* ]]; then
    mkdir -p "$out/redis-py"
    fetch_redis_py "$(redis_py_python)" >/dev/null
  fi
  echo "peers.sh: prepared ${suites[*]} in $((SECONDS - start)) s"
}
if $prepare; then
  prepare_suites
  exit
fi

start=$SECONDS
status=0
if [[ " ${suites[*]} " == *" redis-py "* ]]; then
  run_redis_py >"$out/redis-py.log" 2>&1 &
  redis_py_pid=$!
fi
if [[ " ${suites[*]} " == *" go-redis "* ]]; then
  run_go_redis || status=$?
fi
if [[ -n ${redis_py_pid:-} ]]; then
  wait "$redis_py_pid" || status=$?
  cat "$out/redis-py.log"
fi
echo "peers.sh: took $((SECONDS - start)) s, exit $status; logs in $out"
exit $status
