#!/usr/bin/env bash
# Installs everything schsim needs on Debian 12: the C++ toolchain and libraries, the Redis tools
# used as test peers, Chromium for the report screenshot test, the pinned npm packages of the
# node-redis test client, and the toolchains of the third-party drivers (Python venv, Maven and a
# JDK, Go). Safe to run again; it only installs what is missing.
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
  # The redis-py driver's virtualenv; unzip for the Go toolchain below.
  python3-venv unzip
)
# The Lettuce driver (pom.xml: release 17) needs Maven and a JDK: asked of apt only when missing.
if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
  packages+=(maven default-jdk-headless)
fi
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

# Go, for the go-redis driver and go-redis's own e2e suite (scripts/peers.sh). Their go.mod asks
# for a newer Go than Debian 12's 1.19, so when go is missing or older, the toolchain comes from
# the Go module proxy (golang.org/toolchain, where go itself fetches newer toolchains) into
# /usr/local/go-VERSION, linked from /usr/local/bin.
install_go() {
  local want have arch tmp
  want=$(sed -n 's/^go //p' client-under-test/drivers/go-redis/go.mod)
  if command -v go >/dev/null; then
    have=$(go env GOVERSION)
    have=${have#go}
    [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n 1)" = "$want" ] && return 0
  fi
  arch=$(dpkg --print-architecture)
  echo "schsim: installing Go $want from proxy.golang.org"
  tmp=$(mktemp -d)
  curl -fsSL -o "$tmp/go.zip" \
    "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$want.linux-$arch.zip"
  unzip -q "$tmp/go.zip" -d "$tmp"
  as_root rm -rf "/usr/local/go-$want"
  as_root mv "$tmp/golang.org/toolchain@v0.0.1-go$want.linux-$arch" "/usr/local/go-$want"
  as_root ln -sf "/usr/local/go-$want/bin/go" "/usr/local/go-$want/bin/gofmt" /usr/local/bin/
  rm -rf "$tmp"
}
install_go

# node-redis, pinned in tests/node/package-lock.json.
if [ -f tests/node/package-lock.json ]; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi
