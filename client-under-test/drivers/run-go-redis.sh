#!/usr/bin/env bash
# Launches the go-redis driver (built by install.sh). Exit 127 = not installed (harness: unsupported).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/go-redis/bin/schsim-go-redis-driver"
if [ ! -x "$bin" ]; then
  echo "run-go-redis.sh: $bin not built; run client-under-test/drivers/install.sh" >&2
  exit 127
fi
exec "$bin" "$@"
