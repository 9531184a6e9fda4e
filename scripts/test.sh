#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite with ctest.
# CI runs exactly this (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build_dir=${BUILD_DIR:-build}
# Two jobs: the machines have two cores, and the timing tests keep wide tolerance bands for that.
ctest --test-dir "$build_dir" --output-on-failure -j 2 --timeout 600
