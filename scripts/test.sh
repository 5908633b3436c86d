#!/usr/bin/env bash
# Set up (scripts/setup.sh --dev) and run the whole test suite.
# The suite starts its own Redis servers on free ports; it never touches 6379.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
echo "== running the Python tests"
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ $status = 5 ]; then
  echo "!! no Python tests ran" >&2
  status=1
fi
echo "== running the JS client's tests"
npm --prefix clients/js test || status=1
exit $status
