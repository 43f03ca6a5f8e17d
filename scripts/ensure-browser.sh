#!/usr/bin/env bash
# The gateway's client tests need Debian's Chromium, and playwright-core and eventsource from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-apt.sh chromium chromium
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is not installed; install Node.js and npm (the gateway's client tests need playwright-core and eventsource)." >&2
  exit 1
fi
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/eventsource ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
