#!/usr/bin/env bash
# A throwaway PostgreSQL server for the distributed-sweep tests (Optuna's RDB storage).
#   eval "$(.ci/postgres.sh start)"   # prints: export MLSD_TEST_POSTGRES_URL=postgresql://...
#   .ci/postgres.sh stop
# Installs the Debian package `postgresql` when its binaries are missing (as root). initdb refuses to
# run as root, so as root the server runs as the unprivileged `postgres` user. Data lives in
# $MLSD_PG_ROOT (default /tmp/mlsd-pg) on port $MLSD_PG_PORT (default 55432), trust auth, local only.
set -euo pipefail
PGROOT=${MLSD_PG_ROOT:-/tmp/mlsd-pg}
PGPORT=${MLSD_PG_PORT:-55432}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

as_owner() {  # run a server command as the unprivileged owner of the data directory
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  local bin; bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$PGROOT/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$PGROOT/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$PGROOT"
}

start() {
  if [ -z "$(pg_bin)" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "postgres.sh: PostgreSQL is not installed and installing it needs root (apt-get install postgresql)" >&2
      exit 1
    fi
    echo "postgres.sh: installing PostgreSQL (apt-get install postgresql)" >&2
    (apt-get install -y -q postgresql >&2 || { apt-get update -q >&2 && apt-get install -y -q postgresql >&2; })
  fi
  local bin; bin=$(pg_bin)
  stop  # a server left over by an interrupted run
  mkdir -p "$PGROOT"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGROOT"
  as_owner "$bin/initdb" -D "$PGROOT/data" -U postgres -A trust -E UTF8 --no-sync >"$PGROOT.initdb.log" 2>&1 \
    || { cat "$PGROOT.initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 30 \
    -o "-p $PGPORT -k $PGROOT -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2
  "$bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres optuna
  rm -f "$PGROOT.initdb.log"
  echo "export MLSD_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PGPORT/optuna"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
