#!/bin/sh
# Builds onexgen's two wheels (the service and the runtime its generated code imports) from a
# checkout and installs them, with their dependencies from PyPI. The container image runs this,
# and so does CI (tests/integration/test_wheel_install.py), so the image's install is tested.
#   deploy/install.sh [CHECKOUT] [PIP]     (defaults: the checkout holding this script; pip)
# The wheels are built from a copy of the sources, so the checkout gets no build/ folder.
set -eu
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
pip=${2:-pip}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
cp -R "$src/pyproject.toml" "$src/README.md" "$src/onexgen" "$src/runtime" "$work/src/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
$pip wheel --quiet --no-deps --wheel-dir "$work/wheels" "$work/src/runtime" "$work/src"
$pip install --quiet "$work/wheels"/onexgen_runtime-*.whl "$work/wheels"/onexgen-*.whl
