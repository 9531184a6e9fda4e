#!/usr/bin/env bash
# The conformance matrix: builds the five third-party drivers (pinned go-redis, redis-py,
# node-redis, Lettuce, Jedis) and runs the built-in suite against them and the reference client,
# then the legacy profile (SCH disabled in the client, docs/reports.md "Profiles") against Jedis,
# which has no SCH, all held to the committed baseline (client-under-test/drivers/baseline.json).
# Exit 1 when any cell differs from the baseline: a regression in schsim, or a client bug fixed
# upstream.
#   scripts/conformance.sh [schsim matrix options...]      e.g. -f moving, --update-baseline
# Reports go to ${MATRIX_OUT:-out/matrix} (index.html, matrix.json, matrix.xml, a directory per
# client with every case's evidence), the legacy profile's to ${MATRIX_OUT}/legacy.
# SCHSIM_CONFORMANCE_LEGACY=0 leaves the legacy run out. Needs a build (scripts/build.sh) in
# ${BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
schsim="$build_dir/apps/schsim/schsim"
[[ -x $schsim ]] || { echo "conformance.sh: $schsim not built; run scripts/build.sh" >&2; exit 2; }
client-under-test/drivers/install.sh
out=${MATRIX_OUT:-out/matrix}
clients=(reference go-redis redis-py node-redis lettuce jedis)
# The legacy profile's rows in CI: Jedis alone (~60 s on a 2-core machine). The SCH
# clients' legacy rows are comparison rows recorded in the baseline from a local run.
legacy_clients=(jedis)
args=()
for c in "${clients[@]}"; do args+=(--client "$c"); done
start=$SECONDS
status=0
"$schsim" matrix "${args[@]}" -j 2 -o "$out" \
  --baseline client-under-test/drivers/baseline.json "$@" || status=$?
echo "conformance.sh: matrix took $((SECONDS - start)) s, exit $status; reports in $out/index.html"
if [[ ${SCHSIM_CONFORMANCE_LEGACY:-1} != 0 ]]; then
  start=$SECONDS
  legacy_status=0
  args=()
  for c in "${legacy_clients[@]}"; do args+=(--client "$c"); done
  mkdir -p "$out/legacy"
  "$schsim" matrix "${args[@]}" --profile legacy -j 2 -o "$out/legacy" \
    --baseline client-under-test/drivers/baseline.json "$@" 2>&1 |
    tee "$out/legacy/console.log" || legacy_status=${PIPESTATUS[0]}
  # A filter that selects only scenarios the legacy profile skips leaves it nothing to run.
  if [[ $legacy_status -eq 2 ]] && grep -q 'legacy profile skips every' "$out/legacy/console.log"; then
    legacy_status=0
  fi
  echo "conformance.sh: legacy-profile matrix took $((SECONDS - start)) s, exit $legacy_status;" \
    "reports in $out/legacy/index.html"
  [[ $status -ne 0 ]] || status=$legacy_status
fi
exit $status
