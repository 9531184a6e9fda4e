#!/usr/bin/env bash
# `cmake --install` to a fresh prefix, then the installed copy on its own: it reads the scenarios
# and finds the reference driver under that prefix (not in the source tree it was built from),
# and runs a built-in scenario. scripts/package-test.sh does the same from the .deb in a fresh
# Debian 12 root (CI).
#   install_test.sh BUILD_DIR WORK_DIR SOURCE_DIR
set -euo pipefail
build=$1 work=$2 src=$3
unset SCHSIM_DATA_DIR SCHSIM_SCENARIO_DIR SCHSIM_REFCLIENT_DRIVER
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/first" >"$work/install.log"
# Moved after installing: the layout is relative to the binary, nothing names the prefix.
mv "$work/first" "$work/prefix"
prefix=$work/prefix
fail() { echo "install_test: $*" >&2; exit 1; }

version=$("$prefix/bin/schsim" --version)
[[ $version == *"scenarios: $prefix/share/schsim/scenarios"* ]] ||
  fail "the installed schsim does not read its own share/schsim: $version"
[[ -x $prefix/libexec/schsim/schsim-refclient-driver ]] || fail "no reference driver in libexec"
[[ -x $prefix/share/schsim/client-under-test/drivers/run-go-redis.sh ]] ||
  fail "no third-party driver launchers in share/schsim"
[[ ! -e $prefix/share/schsim/client-under-test/drivers/node-redis/node_modules ]] ||
  fail "install.sh's build outputs were installed"

listed=$("$prefix/bin/schsim" list | wc -l)
shipped=$(find "$src/scenarios" -maxdepth 1 -name '*.toml' | wc -l)
[[ $listed -eq $shipped ]] || fail "schsim list shows $listed scenarios, the tree has $shipped"

"$prefix/bin/schsim" run moving-new-endpoint --client reference -o "$work/run" >"$work/run.log" 2>&1 ||
  { cat "$work/run.log" >&2; fail "moving-new-endpoint failed from the installed copy"; }
grep -q "$prefix/libexec/schsim/schsim-refclient-driver" "$work/run/report.json" ||
  fail "report.json does not name the installed reference driver"

# A data directory that is not there: a clear error and a usage exit code, never a crash.
status=0
SCHSIM_DATA_DIR=$work/missing "$prefix/bin/schsim" list >"$work/missing.log" 2>&1 || status=$?
[[ $status -eq 2 ]] && grep -q "cannot read \"$work/missing/scenarios\"" "$work/missing.log" ||
  { cat "$work/missing.log" >&2; fail "a missing data dir gave exit $status"; }
echo "install_test: ok ($listed scenarios, reference driver from $prefix/libexec/schsim)"
