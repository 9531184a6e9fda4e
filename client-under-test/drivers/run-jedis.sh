#!/usr/bin/env bash
# Launches the Jedis driver (jar built by install.sh). Exit 127 = not installed.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/jedis/target/schsim-jedis-driver.jar"
if [ ! -f "$jar" ] || ! command -v java >/dev/null; then
  echo "run-jedis.sh: java or $jar missing; run client-under-test/drivers/install.sh" >&2
  exit 127
fi
# A small heap and the serial collector keep the JVM light on the 2-core machines.
exec java -Xms64m -Xmx512m -XX:+UseSerialGC -Xshare:auto ${SCHSIM_JEDIS_JAVA_OPTS:-} -jar "$jar" "$@"
