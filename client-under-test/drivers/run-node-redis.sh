#!/usr/bin/env bash
# Launches the node-redis driver (npm ci by install.sh). Exit 127 = not installed.
# Node's default unhandled-rejection behaviour is kept on purpose (see node-redis/driver.js).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -d "$here/node-redis/node_modules/redis" ] || ! command -v node >/dev/null; then
  echo "run-node-redis.sh: node or node-redis/node_modules missing; run client-under-test/drivers/install.sh" >&2
  exit 127
fi
exec node "$here/node-redis/driver.js" "$@"
