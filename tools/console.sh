#!/usr/bin/env bash
# The console and the API reference in a real browser: Debian's Chromium, driven by Selenium (PyPI, pointed at the
# system chromedriver) against a seeded demo shop on 127.0.0.1 (tools/console_check.py says what is checked).
#
#   EMPORIUM_BIN=.build/debug/emporium tools/console.sh [ARTIFACTS_DIR]   # screenshots go there (default .console-artifacts)
#
# Needs `tools/setup.sh --with-browser` (chromium, chromium-driver, fonts-noto-cjk). Every page must be usable within
# CONSOLE_BUDGET_MS of moving to it (default 200) and CONSOLE_LOAD_BUDGET_MS of loading it afresh (default 500): the
# release binary's budgets; a debug build's pages take about twice as long.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${EMPORIUM_BIN:-.build/debug/emporium}
artifacts=${1:-.console-artifacts}
venv=${CONSOLE_VENV:-/var/tmp/emporium-console-venv}
port=${CONSOLE_PORT:-18490}
command -v chromium >/dev/null && command -v chromedriver >/dev/null || { echo "Chromium is missing: tools/setup.sh --with-browser" >&2; exit 1; }
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import selenium' 2>/dev/null || { python3 -m venv "$venv"; "$venv/bin/pip" install -q selenium; }
mkdir -p "$artifacts"
dir=$(mktemp -d /var/tmp/emporium-console.XXXXXX)
pid=""
finish() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap finish EXIT
"$bin" seed --data-dir "$dir/shop" --customers 12 --goods 40 --orders 150 >/dev/null 2>&1
"$bin" serve --data-dir "$dir/shop" --port "$port" --expiry-sweep-seconds 60 >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
"$venv/bin/python" tools/console_check.py "http://127.0.0.1:$port" "$artifacts" "$(realpath "$bin")" "$dir/shop"
