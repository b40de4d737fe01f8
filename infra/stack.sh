#!/usr/bin/env bash
# Brings the local Kafka + Postgres stack up or down and records the addresses.
#   infra/stack.sh up     start what is not provided externally; write .local/stack.env
#   infra/stack.sh down   stop what `up` started
# When ONEXGEN_KAFKA_BOOTSTRAP / ONEXGEN_DATABASE_URL are already set, those external
# services are used and nothing local is started for them.
source "$(dirname "$0")/common.sh"
ENV_FILE="$LOCAL/stack.env"

up() {
  local kafka db
  if [ -n "${ONEXGEN_KAFKA_BOOTSTRAP:-}" ]; then
    say "using external Kafka at $ONEXGEN_KAFKA_BOOTSTRAP"; kafka="$ONEXGEN_KAFKA_BOOTSTRAP"
    rm -f "$LOCAL/started-kafka"
  else
    kafka=$("$ROOT/infra/kafka.sh" start | tail -1); touch "$LOCAL/started-kafka"
  fi
  if [ -n "${ONEXGEN_DATABASE_URL:-}" ]; then
    say "using external Postgres"; db="$ONEXGEN_DATABASE_URL"
    rm -f "$LOCAL/started-postgres"
  else
    db=$("$ROOT/infra/postgres.sh" start | tail -1); touch "$LOCAL/started-postgres"
  fi
  umask 077
  printf 'ONEXGEN_KAFKA_BOOTSTRAP=%s\nONEXGEN_DATABASE_URL=%s\n' "$kafka" "$db" >"$ENV_FILE"
  say "stack up; addresses in ${ENV_FILE#"$ROOT"/}"
}

down() {
  [ -f "$LOCAL/started-kafka" ] && "$ROOT/infra/kafka.sh" stop && rm -f "$LOCAL/started-kafka"
  [ -f "$LOCAL/started-postgres" ] && "$ROOT/infra/postgres.sh" stop && rm -f "$LOCAL/started-postgres"
  rm -f "$ENV_FILE"
  return 0
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) die "usage: infra/stack.sh up|down" ;;
esac
