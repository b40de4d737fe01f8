#!/usr/bin/env bash
# `make run`: stack up, migrations, topics, then a worker in the foreground.
# Ctrl-C stops the worker (it drains its in-flight batch) and then the stack it started.
source "$(dirname "$0")/common.sh"
"$ROOT/infra/stack.sh" up
trap '"$ROOT/infra/stack.sh" down' EXIT
set -a; source "$LOCAL/stack.env"; set +a
cd "$ROOT"
.venv/bin/onexgen migrate
.venv/bin/onexgen topics
say "worker starting; metrics on http://127.0.0.1:${ONEXGEN_WEB_PORT:-6066}/metrics ; Ctrl-C to stop"
.venv/bin/onexgen worker &
worker=$!
trap 'kill -INT $worker 2>/dev/null' INT TERM
wait $worker || true
wait $worker 2>/dev/null || true
