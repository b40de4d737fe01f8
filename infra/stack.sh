#!/usr/bin/env bash
# Brings the local Kafka + Postgres stack up or down and records the addresses.
#   infra/stack.sh up     start what is not provided externally; write .local/stack.env
#   infra/stack.sh down   stop what `up` started
# stack.env's values are single-quoted (a DSN's query string has '&'), for `source`.
# When ONEXGEN_KAFKA_BOOTSTRAP / ONEXGEN_DATABASE_URL are already set, those external
# services are used and nothing local is started for them.
# ONEXGEN_STACK=secure (`make stack-up STACK=secure`): Kafka with SASL_SSL + SCRAM-SHA-512
# and ACLs, Postgres with TLS only; stack.env then also carries the credentials and the CA.
# ONEXGEN_LOCAL_DIR puts a second stack's state elsewhere (the secured tests' own stack).
source "$(dirname "$0")/common.sh"
ENV_FILE="$LOCAL/stack.env"
# A stack under another directory reuses the jars the main one fetched.
export ONEXGEN_KAFKA_LIBS="${ONEXGEN_KAFKA_LIBS:-$ROOT/.local/kafka/libs}"

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
  if [ "${ONEXGEN_STACK:-plain}" = secure ]; then
    [ -f "$LOCAL/started-kafka" ] || die "STACK=secure starts its own Kafka: unset ONEXGEN_KAFKA_BOOTSTRAP"
    [ -f "$LOCAL/started-postgres" ] || die "STACK=secure starts its own Postgres: unset ONEXGEN_DATABASE_URL"
    { cat "$LOCAL/kafka/client.env"
      printf "ONEXGEN_DATABASE_URL='%s'\n" "$db"
      printf "ONEXGEN_STACK_DATABASE_WORKER_URL='%s'\n" "$("$ROOT/infra/postgres.sh" worker-url)"
      printf "ONEXGEN_STACK='secure'\n"
    } >"$ENV_FILE"
  else
    printf "ONEXGEN_KAFKA_BOOTSTRAP='%s'\nONEXGEN_DATABASE_URL='%s'\n" "$kafka" "$db" >"$ENV_FILE"
  fi
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
