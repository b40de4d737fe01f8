#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster on a free loopback port.
#   infra/postgres.sh start   initdb once, start, wait until it accepts connections; prints the URL
#   infra/postgres.sh stop    stop the server (data kept; `clean` removes it)
#   infra/postgres.sh status  print the URL if running
#   infra/postgres.sh clean   stop and delete the cluster
#   infra/postgres.sh worker-url   (secure) the worker role's URL, with its client certificate
#   infra/postgres.sh server-cert NAME   (secure) serve certs/NAME.{crt,key} instead; reload
# As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
# ONEXGEN_STACK=secure: ssl=on, scram-sha-256, hostssl-only pg_hba (no plaintext TCP at
# all); the URL then asks for sslmode=verify-full against the local CA, and a least-privilege
# role for workers (docs/operations.md), onexgen_worker, logs in with its client certificate
# only (pg_hba `cert`: the certificate's CN names the role; no password).
source "$(dirname "$0")/common.sh"
P="$LOCAL/postgres"
SECURE=$([ "${ONEXGEN_STACK:-plain}" = secure ] && echo 1 || true)
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

url() {  # url: the owner's, with its password
  local q=""
  [ -f "$P/secure" ] && q="?sslmode=verify-full&sslrootcert=$LOCAL/certs/ca.crt"
  echo "postgresql://onexgen:$(cat "$P/password")@127.0.0.1:$(cat "$P/port")/onexgen$q"
}

worker_url() {  # the worker role's: TLS with its client certificate, no password
  local c="$LOCAL/certs"
  echo "postgresql://onexgen_worker@127.0.0.1:$(cat "$P/port")/onexgen?sslmode=verify-full&sslrootcert=$c/ca.crt&sslcert=$c/worker.crt&sslkey=$c/worker.key"
}

install_server_cert() {  # install_server_cert NAME: $LOCAL/certs/NAME.{crt,key} as the server's
  install -m 600 "$LOCAL/certs/$1.key" "$P/server.key"
  install -m 644 "$LOCAL/certs/$1.crt" "$P/server.crt"
  if [ "$(id -u)" = 0 ]; then chown postgres "$P/server.key" "$P/server.crt"; fi
}

secure_setup() {  # certificates for the server, and a pg_hba that takes TLS connections only
  "$ROOT/infra/secure/certs.sh" "$LOCAL/certs"
  install_server_cert server
  install -m 644 "$LOCAL/certs/ca.crt" "$P/ca.crt"
  if [ "$(id -u)" = 0 ]; then chown postgres "$P/ca.crt"; fi
  cat >"$DATA/pg_hba.conf" <<HBA
# Secured local stack: the unix socket (the cluster owner's, in the data directory) for
# administration; TCP only with TLS: the worker role with a client certificate (CN=the
# role, signed by ssl_ca_file), the others with SCRAM.
local   all  all                 trust
hostssl all  onexgen_worker  127.0.0.1/32  cert
hostssl all  onexgen_worker  ::1/128       cert
hostssl all  all  127.0.0.1/32   scram-sha-256
hostssl all  all  ::1/128        scram-sha-256
HBA
  if [ "$(id -u)" = 0 ]; then chown postgres "$DATA/pg_hba.conf"; fi
  touch "$P/secure"
}

secure_roles() {  # the worker's role: exactly the grants docs/operations.md lists
  # (worker-password: a cluster made before the role logged in with a certificate)
  { [ -f "$P/worker-role" ] || [ -f "$P/worker-password" ]; } && return
  as_owner "$BIN/psql" -h "$DATA" -p "$port" -U onexgen -d onexgen -qv ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE ROLE onexgen_worker LOGIN;
GRANT CONNECT ON DATABASE onexgen TO onexgen_worker;
GRANT USAGE, CREATE ON SCHEMA public TO onexgen_worker;
SQL
  touch "$P/worker-role"
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
  if [ -n "$SECURE" ] && [ ! -f "$P/secure" ] && [ -f "$P/port" ]; then
    die "the cluster under $P was made without STACK=secure; start it so, or remove it (infra/postgres.sh clean)"
  fi
  if [ -z "$SECURE" ] && [ -f "$P/secure" ]; then
    die "the cluster under $P was made STACK=secure; start it so, or remove it (infra/postgres.sh clean)"
  fi
  if [ -n "$SECURE" ]; then secure_setup; fi
  local tls=""
  [ -f "$P/secure" ] && tls="-c ssl=on -c ssl_cert_file=$P/server.crt -c ssl_key_file=$P/server.key -c ssl_ca_file=$P/ca.crt -c password_encryption=scram-sha-256"
  # A restarted server keeps its port when it is still free, so clients can reconnect.
  local port; port=$(cat "$P/port" 2>/dev/null || true)
  { [ -n "$port" ] && ! port_open "$port"; } || port=$(free_port)
  echo "$port" >"$P/port"
  [ "$(id -u)" = 0 ] && chown postgres "$P"
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$P/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DATA -c fsync=${ONEXGEN_PG_FSYNC:-on} -c max_connections=200 -c shared_buffers=256MB $tls" \
      start >/dev/null \
    || { tail -20 "$P/server.log" >&2; die "postgres did not start (log: $P/server.log)"; }
  as_owner "$BIN/psql" -h "$DATA" -p "$port" -U onexgen -d postgres -qAtc \
      "SELECT 1 FROM pg_database WHERE datname='onexgen'" | grep -q 1 \
    || as_owner "$BIN/psql" -h "$DATA" -p "$port" -U onexgen -d postgres -qc "CREATE DATABASE onexgen" >/dev/null
  [ -f "$P/secure" ] && secure_roles
  say "postgres ready on 127.0.0.1:$port$([ -f "$P/secure" ] && echo ' (TLS only)')"
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
  worker-url) worker_url ;;
  server-cert)  # server-cert NAME: serve another certificate from $LOCAL/certs (tests); reload
    [ -f "$P/secure" ] || die "server-cert needs a STACK=secure cluster"
    BIN=$(find_bindir); install_server_cert "${2:?usage: infra/postgres.sh server-cert NAME}"
    as_owner "$BIN/pg_ctl" -D "$DATA" reload >/dev/null ;;
  clean) stop; rm -rf "$P" ;;
  *) die "usage: infra/postgres.sh start|stop|status|clean|worker-url|server-cert" ;;
esac
