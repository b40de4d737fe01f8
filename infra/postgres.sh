#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster on a free loopback port.
#   infra/postgres.sh start   initdb once, start, wait until it accepts connections; prints the URL
#   infra/postgres.sh stop    stop the server (data kept; `clean` removes it)
#   infra/postgres.sh status  print the URL if running
#   infra/postgres.sh clean   stop and delete the cluster
# As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
source "$(dirname "$0")/common.sh"
P="$LOCAL/postgres"
DATA="$P/data"

find_bindir() {
  if [ -n "${ONEXGEN_PG_BINDIR:-}" ]; then echo "$ONEXGEN_PG_BINDIR"; return; fi
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/1[6-9]/bin /usr/local/pgsql/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
  die "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql-15, or set ONEXGEN_PG_BINDIR"
}

as_owner() {  # run a command as the cluster owner
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user (apt-get install postgresql-15 creates it)"
    "$(command -v runuser || echo /usr/sbin/runuser)" -u postgres -- "$@"
  else
    "$@"
  fi
}

url() {
  echo "postgresql://onexgen:$(cat "$P/password")@127.0.0.1:$(cat "$P/port")/onexgen"
}

running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
  BIN=$(find_bindir)
  mkdir -p "$P"
  if running; then say "postgres already running on port $(cat "$P/port")"; url; return; fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"; mkdir -p "$DATA"
    python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$P/password"
    chmod 600 "$P/password"
    [ "$(id -u)" = 0 ] && chown postgres "$DATA" "$P/password"
    as_owner "$BIN/initdb" -D "$DATA" -U onexgen --pwfile="$P/password" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$P/initdb.log" 2>&1 \
      || { tail -20 "$P/initdb.log" >&2; die "initdb failed (log: $P/initdb.log)"; }
  fi
  # A restarted server keeps its port when it is still free, so clients can reconnect.
  local port; port=$(cat "$P/port" 2>/dev/null || true)
  { [ -n "$port" ] && ! port_open "$port"; } || port=$(free_port)
  echo "$port" >"$P/port"
  [ "$(id -u)" = 0 ] && chown postgres "$P"
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$P/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DATA -c fsync=${ONEXGEN_PG_FSYNC:-on} -c max_connections=200 -c shared_buffers=256MB" \
      start >/dev/null \
    || { tail -20 "$P/server.log" >&2; die "postgres did not start (log: $P/server.log)"; }
  as_owner "$BIN/psql" -h "$DATA" -p "$port" -U onexgen -d postgres -qAtc \
      "SELECT 1 FROM pg_database WHERE datname='onexgen'" | grep -q 1 \
    || as_owner "$BIN/psql" -h "$DATA" -p "$port" -U onexgen -d postgres -qc "CREATE DATABASE onexgen" >/dev/null
  say "postgres ready on 127.0.0.1:$port"
  url
}

stop() {
  BIN=$(find_bindir)
  if running; then as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null && say "postgres stopped"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) BIN=$(find_bindir); running && url || { echo "stopped"; exit 1; } ;;
  clean) stop; rm -rf "$P" ;;
  *) die "usage: infra/postgres.sh start|stop|status|clean" ;;
esac
