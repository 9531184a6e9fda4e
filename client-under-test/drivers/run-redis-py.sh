#!/usr/bin/env bash
# Launches the redis-py driver in its venv (made by install.sh). Exit 127 = not installed.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$here/redis-py/.venv/bin/python"
if [ ! -x "$py" ]; then
  echo "run-redis-py.sh: $py missing; run client-under-test/drivers/install.sh" >&2
  exit 127
fi
exec "$py" -u "$here/redis-py/driver.py" "$@"
