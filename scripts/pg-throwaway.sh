#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: initdb into a fresh temp folder, start it on a free
# loopback port (and a unix socket in that folder), and remove everything when done.
#
#   bash scripts/pg-throwaway.sh CMD ARGS...   runs CMD with the server up, then stops it;
#                                              CMD's exit status is the script's.
#   bash scripts/pg-throwaway.sh               prints the URL and serves until Ctrl-C/SIGTERM.
#
# CMD sees:
#   ORCHESTRION_TEST_DATABASE_URL  postgres://orchestrion@127.0.0.1:PORT/postgres (a superuser, so
#                                  each test can CREATE DATABASE its own)
#   ORCHESTRION_TEST_PG_RESTART    a script that restarts the server (fast shutdown, same port)
#   ORCHESTRION_TEST_PG_CTL        a script taking stop | start | restart (an outage, then back)
#
# initdb refuses to run as root, so as root the server runs as the `postgres` user (created by
# Debian's package); otherwise as the current user. Needs Debian's `postgresql` package
# (binaries under /usr/lib/postgresql/<version>/bin), or PG_BIN pointing at them.
set -euo pipefail

pg_bin="${PG_BIN:-}"
if [ -z "$pg_bin" ]; then
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "pg-throwaway: no PostgreSQL binaries found (apt-get install postgresql, or set PG_BIN)" >&2
  exit 2
fi

as_owner=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  as_owner=(runuser -u postgres --)
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/orchestrion-pg.XXXXXX")"
chmod 755 "$dir"
if [ ${#as_owner[@]} -gt 0 ]; then chown postgres: "$dir"; fi
data="$dir/data"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

cleanup() {
  "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${as_owner[@]}" "$pg_bin/initdb" -D "$data" -U orchestrion --auth=trust -E UTF8 --no-locale \
  >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }

# fsync off: a test cluster is thrown away, durability buys nothing here. max_connections covers
# the studio tests running in parallel (a pool of up to 8 per test server).
opts="-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
opts="$opts -c full_page_writes=off -c max_connections=400 -c shared_buffers=64MB"
cat >"$dir/pg-ctl.sh" <<EOF
#!/usr/bin/env bash
# Stops, starts or restarts the throwaway server (what a database outage looks like to the
# studio): pg-ctl.sh stop|start|restart
exec ${as_owner[*]} "$pg_bin/pg_ctl" -D "$data" -l "$dir/server.log" -m fast -w -t 30 -o "$opts" "\$1"
EOF
cat >"$dir/restart.sh" <<EOF
#!/usr/bin/env bash
# Restarts the throwaway server (what a database restart looks like to the studio).
exec "$dir/pg-ctl.sh" restart
EOF
chmod 755 "$dir/pg-ctl.sh" "$dir/restart.sh"

"${as_owner[@]}" "$pg_bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 30 -o "$opts" start \
  >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export ORCHESTRION_TEST_DATABASE_URL="postgres://orchestrion@127.0.0.1:$port/postgres"
export ORCHESTRION_TEST_PG_RESTART="$dir/restart.sh"
export ORCHESTRION_TEST_PG_CTL="$dir/pg-ctl.sh"

if [ $# -eq 0 ]; then
  echo "$ORCHESTRION_TEST_DATABASE_URL"
  echo "pg-throwaway: serving until Ctrl-C (restart with $ORCHESTRION_TEST_PG_RESTART)" >&2
  while true; do sleep 3600; done
fi

echo "pg-throwaway: PostgreSQL on $ORCHESTRION_TEST_DATABASE_URL" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
