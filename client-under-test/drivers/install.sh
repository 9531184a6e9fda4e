#!/usr/bin/env bash
# Builds/installs the schsim client-under-test drivers from the package registries:
#   go-redis    go build                       -> go-redis/bin/schsim-go-redis-driver
#   redis-py    python3 venv + pip (hashes)    -> redis-py/.venv
#   node-redis  npm ci (package-lock.json)     -> node-redis/node_modules
#   lettuce     mvn package (maven-shade)      -> lettuce/target/schsim-lettuce-driver.jar
#   jedis       mvn package (maven-shade)      -> jedis/target/schsim-jedis-driver.jar
#
# Usage: client-under-test/drivers/install.sh [--force] [go-redis|redis-py|node-redis|lettuce|jedis ...]
# With no names it does all five. Every version is pinned in the client's own manifest and lock
# (go.mod/go.sum, requirements.txt, package-lock.json, pom.xml). A driver whose outputs are newer
# than its manifest and sources is skipped (--force rebuilds). After the first run the
# registries' caches (Go module cache, pip cache, npm cache, ~/.m2) make it work offline.
# A missing toolchain skips that driver with a warning, or fails when SCHSIM_REQUIRE_TOOLS=1.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

force=0
clients=()
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    go-redis|redis-py|node-redis|lettuce|jedis) clients+=("$a") ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument '$a'" >&2; exit 2 ;;
  esac
done
[ ${#clients[@]} -gt 0 ] || clients=(go-redis redis-py node-redis lettuce jedis)

failed=()
skipped=()

need() { # need TOOL CLIENT
  if command -v "$1" >/dev/null 2>&1; then return 0; fi
  if [ "${SCHSIM_REQUIRE_TOOLS:-0}" = 1 ]; then
    echo "install.sh: $2 needs '$1', which is not installed" >&2
    failed+=("$2")
  else
    echo "install.sh: skipping $2: '$1' is not installed" >&2
    skipped+=("$2")
  fi
  return 1
}

# up_to_date OUTPUT INPUT...: OUTPUT exists and is newer than every INPUT (files or dirs).
up_to_date() {
  local out="$1"; shift
  [ "$force" = 0 ] && [ -e "$out" ] || return 1
  [ -z "$(find "$@" -newer "$out" -print -quit 2>/dev/null)" ]
}

step() { # step CLIENT COMMAND...
  local client="$1"; shift
  local t0=$SECONDS
  echo "install.sh: $client ..."
  if "$@"; then
    echo "install.sh: $client ready ($((SECONDS - t0)) s)"
  else
    echo "install.sh: $client FAILED" >&2
    failed+=("$client")
  fi
}

build_go_redis() (
  cd go-redis
  up_to_date bin/schsim-go-redis-driver go.mod go.sum ./*.go && { echo "  up to date"; return 0; }
  # GOTOOLCHAIN=local: never download another Go toolchain; -mod=readonly: go.sum is the lock.
  GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -trimpath -o bin/schsim-go-redis-driver .
)

build_redis_py() (
  cd redis-py
  up_to_date .venv/.schsim-installed requirements.txt && { echo "  up to date"; return 0; }
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-input \
    --require-hashes -r requirements.txt
  touch .venv/.schsim-installed
)

build_node_redis() (
  cd node-redis
  up_to_date node_modules/.schsim-installed package.json package-lock.json && { echo "  up to date"; return 0; }
  npm ci --no-audit --no-fund --omit=dev --loglevel=error
  touch node_modules/.schsim-installed
)

# build_java_driver DIR (lettuce, jedis): a pinned Maven project -> DIR/target/schsim-DIR-driver.jar,
# with the sources both share from java-common/ (the pom's compileSourceRoots)
build_java_driver() (
  cd "$1"
  up_to_date "target/schsim-$1-driver.jar" pom.xml src ../java-common && { echo "  up to date"; return 0; }
  mvn -q -B -Dstyle.color=never package
  test -f "target/schsim-$1-driver.jar"
)

for c in "${clients[@]}"; do
  case "$c" in
    go-redis)   need go "$c" && step "$c" build_go_redis ;;
    redis-py)   need python3 "$c" && step "$c" build_redis_py ;;
    node-redis) need npm "$c" && need node "$c" && step "$c" build_node_redis ;;
    lettuce | jedis) need mvn "$c" && need java "$c" && step "$c" build_java_driver "$c" ;;
  esac
done

[ ${#skipped[@]} -eq 0 ] || echo "install.sh: skipped (toolchain missing): ${skipped[*]}" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "install.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "install.sh: done"
