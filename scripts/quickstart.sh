#!/usr/bin/env bash
# From a fresh Debian 12 machine to a real run: installs the dependencies, builds schsim, and runs
# the MOVING handoff scenario against the reference client, writing every report to ./out.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Built as scripts/test.sh builds it (unity, line tables only: see build.sh), but only the two
# programs a run needs: the tests, benchmarks and fuzz targets wait for scripts/test.sh.
SCHSIM_CI_BUILD=1 SCHSIM_BUILD_TARGETS="schsim schsim-refclient-driver" scripts/build.sh
build/apps/schsim/schsim run scenarios/moving-new-endpoint.toml --client reference --out out
echo
echo "Reports: out/index.html (open it in a browser), out/report.json, out/junit.xml"
