#!/usr/bin/env bash
# The conformance matrix: builds the four third-party drivers (pinned go-redis, redis-py,
# node-redis, Lettuce) and runs the built-in suite against them and the reference client, held
# to the committed baseline (client-under-test/drivers/baseline.json). Exit 1 when any cell
# differs from the baseline: a regression in schsim, or a client bug fixed upstream.
#   scripts/conformance.sh [schsim matrix options...]      e.g. -f moving, --update-baseline
# Reports go to ${MATRIX_OUT:-out/matrix} (index.html, matrix.json, matrix.xml, a directory per
# client with every case's evidence). Needs a build (scripts/build.sh) in ${BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
schsim="$build_dir/apps/schsim/schsim"
[[ -x $schsim ]] || { echo "conformance.sh: $schsim not built; run scripts/build.sh" >&2; exit 2; }
client-under-test/drivers/install.sh
out=${MATRIX_OUT:-out/matrix}
clients=(reference go-redis redis-py node-redis lettuce)
args=()
for c in "${clients[@]}"; do args+=(--client "$c"); done
start=$SECONDS
status=0
"$schsim" matrix "${args[@]}" -j 2 -o "$out" \
  --baseline client-under-test/drivers/baseline.json "$@" || status=$?
echo "conformance.sh: matrix took $((SECONDS - start)) s, exit $status; reports in $out/index.html"
exit $status
