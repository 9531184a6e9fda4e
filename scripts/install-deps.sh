#!/usr/bin/env bash
# Installs everything schsim needs on Debian 12: the C++ toolchain and libraries, the Redis tools
# used as test peers, Chromium for the report screenshot test, and the pinned npm packages of the
# node-redis test client. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake ninja-build pkg-config git ca-certificates
  # Boost 1.81, not Debian's default 1.74: Asio as_tuple, awaitable operators and channels.
  libboost1.81-dev
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # TLS endpoints, per-run certificates and the reference client's TLS (OpenSSL 3).
  libssl-dev
  clang-format clang-tidy
  # libFuzzer targets (scripts/fuzz.sh) need clang and its runtime; GCC builds everything else.
  clang-14 libclang-rt-14-dev
  # Test peers: redis-cli, redis-benchmark, and open-source redis-server (a server without SCH).
  redis-tools redis-server
  # The control API's doc test runs docs/control-api.md's curl examples (jq reads the answers).
  curl jq
  # The HTML report is checked in headless Chromium.
  chromium
)
# Node.js may come from elsewhere than Debian (its npm is then bundled): only ask apt for it when
# there is no node at all.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "schsim: installing ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts redis-server as a service where it can; schsim's tests start their own instances.

# node-redis, pinned in tests/node/package-lock.json.
if [ -f tests/node/package-lock.json ]; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi
