#!/usr/bin/env bash
# Set up (scripts/setup.sh) and start the live demo; arguments go to `homi-hub demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/homi-hub demo "$@"
