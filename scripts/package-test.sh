#!/usr/bin/env bash
# The .deb, end to end: CPack makes it from the build (cmake/install.cmake), apt installs it into a
# fresh Debian 12 (debootstrap's minbase: no compiler, no -dev package, nothing of ours), and the
# installed copy runs there: `schsim --version` names /usr/share/schsim/scenarios, `schsim list`
# reads the installed suite, and a built-in scenario runs against the reference client found in
# /usr/libexec/schsim. Needs root (debootstrap, chroot, mounting /proc in the chroot).
#   scripts/package-test.sh [--prepare] [SCENARIO]      (default scenario: moving-new-endpoint)
#     --prepare  only make the fresh Debian 12 root (network-bound: test.sh runs it beside the
#                build) and stop
# Output in ${PACKAGE_OUT:-out/package}: the .deb, the root (debian12/), and the run's reports.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
out=$PWD/${PACKAGE_OUT:-out/package}
root=$out/debian12
prepare=false
scenario=moving-new-endpoint
for arg in "$@"; do
  case $arg in
    --prepare) prepare=true ;;
    -*) echo "package-test.sh: unknown option '$arg' (--prepare)" >&2; exit 2 ;;
    *) scenario=$arg ;;
  esac
done
# As install-deps.sh does: through sudo when not root (without a password prompt).
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null && sudo -n true 2>/dev/null ||
    { echo "package-test.sh: needs root or password-less sudo (debootstrap, chroot)" >&2; exit 2; }
  exec sudo -n env PATH="$PATH" BUILD_DIR="${BUILD_DIR:-}" PACKAGE_OUT="${PACKAGE_OUT:-}" \
    bash "$0" "$@"
fi
mkdir -p "$out"

# The mirror apt already uses here, so the root comes from the same registry.
mirror() {
  local uri
  uri=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
    head -n 1)
  [[ -n $uri ]] || uri=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
  echo "${uri:-http://deb.debian.org/debian}"
}

make_root() {
  local start=$SECONDS
  [[ -x $root/usr/bin/apt-get && -f $root/.schsim-root-complete ]] && return 0
  command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
  rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" "$(mirror)" >"$out/debootstrap.log" 2>&1 ||
    { tail -n 20 "$out/debootstrap.log" >&2; echo "package-test.sh: debootstrap failed" >&2; return 1; }
  touch "$root/.schsim-root-complete"
  echo "package-test.sh: a fresh Debian 12 root in $((SECONDS - start)) s" >&2
}

if $prepare; then
  make_root
  exit
fi

[[ -f $build_dir/CPackConfig.cmake ]] ||
  { echo "package-test.sh: no $build_dir/CPackConfig.cmake; run scripts/build.sh" >&2; exit 2; }
start=$SECONDS
rm -f "$out"/schsim_*.deb
config=$(cd "$build_dir" && pwd)/CPackConfig.cmake
(cd "$out" && cpack --config "$config" -B "$out" >"$out/cpack.log" 2>&1) ||
  { tail -n 20 "$out/cpack.log" >&2; echo "package-test.sh: cpack failed" >&2; exit 1; }
deb=$(ls "$out"/schsim_*.deb)
echo "package-test.sh: $(basename "$deb") ($(du -h "$deb" | cut -f1)), depends on:" \
  "$(dpkg-deb -f "$deb" Depends)"
make_root

# resolv.conf: apt reaches the mirror. No /proc is needed to install.
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/schsim.deb"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
in_root apt-get update -q >"$out/apt.log" 2>&1
in_root apt-get install -y -q --no-install-recommends /tmp/schsim.deb >>"$out/apt.log" 2>&1 ||
  { tail -n 30 "$out/apt.log" >&2; echo "package-test.sh: apt could not install the .deb" >&2; exit 1; }

# schsim finds its data through /proc/self/exe, so it runs in the root with /proc mounted. Where
# mounting is not allowed (an unprivileged container), the installed files run from outside the
# root instead: the same tree apt unpacked, on this machine's libraries.
run_dir=/tmp/run
installed=(in_root)
data=/usr/share/schsim
if mount -t proc proc "$root/proc" 2>"$out/mount.log"; then
  trap 'umount "$root/proc" 2>/dev/null || true' EXIT
else
  echo "package-test.sh: cannot mount /proc in the root ($(cat "$out/mount.log")): running the" \
    "installed files from outside it" >&2
  installed=(env)
  data=$root/usr/share/schsim
  run_dir=$root/tmp/run
  PATH=$root/usr/bin:$PATH
fi

status=0
version=$("${installed[@]}" schsim --version)
echo "$version"
[[ $version == *"scenarios: $data/scenarios"* ]] ||
  { echo "package-test.sh: the installed schsim does not read $data" >&2; status=1; }
listed=$("${installed[@]}" schsim list | wc -l)
shipped=$(find scenarios -maxdepth 1 -name '*.toml' | wc -l)
echo "package-test.sh: the installed schsim lists $listed scenarios (the tree has $shipped)"
[[ $listed -eq $shipped ]] || status=1
rm -rf "$root/tmp/run"
if "${installed[@]}" schsim run "$scenario" --client reference -o "$run_dir"; then
  echo "package-test.sh: $scenario passed against the installed reference client"
else
  echo "package-test.sh: $scenario failed from the installed copy (reports in $root/tmp/run)" >&2
  status=1
fi
echo "package-test.sh: took $((SECONDS - start)) s, exit $status"
exit $status
