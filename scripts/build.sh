#!/usr/bin/env bash
# Configures and builds schsim into ./build (override with BUILD_DIR). Extra arguments go to cmake
# (configure).
# SCHSIM_CI_BUILD=1 (scripts/test.sh sets it) makes a build that is compiled once and tested:
# unity translation units (about a third less compile CPU, measured on the ASan tree) and
# line-table debug info only (-g1: file:line in backtraces, no variable info; about a fifth less
# at -O2). Leave it unset while you iterate: a unity build recompiles more per edited file.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build-flags.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  "${schsim_build_flags[@]}" "$@"
# SCHSIM_BUILD_TARGETS: only these targets (the quick start builds just schsim and the reference
# driver; a later full build reuses what they compiled).
targets=()
for t in ${SCHSIM_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
