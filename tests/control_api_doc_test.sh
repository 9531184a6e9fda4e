#!/usr/bin/env bash
# Runs every ```sh block of docs/control-api.md, in order and in one shell, against
# `schsim serve --control 127.0.0.1:0` (OS-chosen ports, found in the --endpoints-json file):
# the doc's examples must work as written. Usage: control_api_doc_test.sh SCHSIM DOC WORKDIR
set -euo pipefail
schsim=$1 doc=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
cd "$work"
"$schsim" serve --control 127.0.0.1:0 --endpoints-json endpoints.json >serve.log 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -f endpoints.json ] && break
  sleep 0.1
done
[ -f endpoints.json ] || { echo "schsim serve wrote no endpoints.json:"; cat serve.log; exit 1; }
# Each block announces itself (with its line in the doc) before it runs, so a failure names it.
awk '/^```sh$/ { inside = 1; n++; printf "echo \"--- %s block %d (line %d)\" >&2\n", FILENAME, n, NR; next }
     /^```/    { inside = 0; next }
     inside    { print }' "$doc" >blocks.sh
[ -s blocks.sh ] || { echo "no sh blocks in $doc"; exit 1; }
if ! bash -x -euo pipefail blocks.sh; then
  echo "--- schsim serve log:"
  cat serve.log
  exit 1
fi
echo "every sh block of $doc ran"
