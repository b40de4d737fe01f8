#!/bin/sh
# Builds onexgen's two wheels (the service and the runtime its generated code imports) from a
# checkout and installs them, with their dependencies from PyPI. The container image runs this,
# and so does CI (tests/integration/test_wheel_install.py), so the image's install is tested.
#   deploy/install.sh [CHECKOUT] [PIP]     (defaults: the checkout holding this script; pip)
set -eu
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
pip=${2:-pip}
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
$pip wheel --quiet --no-deps --wheel-dir "$wheels" "$src/runtime" "$src"
$pip install --quiet "$wheels"/onexgen_runtime-*.whl "$wheels"/onexgen-*.whl
