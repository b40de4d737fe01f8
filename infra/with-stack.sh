#!/usr/bin/env bash
# Run a command with the stack up, then take the stack down whatever the command's outcome.
#   infra/with-stack.sh CMD ARGS...   (exit code is the command's)
source "$(dirname "$0")/common.sh"
"$ROOT/infra/stack.sh" up
trap '"$ROOT/infra/stack.sh" down' EXIT
set -a; source "$LOCAL/stack.env"; set +a
cd "$ROOT"
set +e
"$@"
status=$?
exit $status
