#!/usr/bin/env bash
# The viewer's browser test needs Debian's Chromium and playwright-core from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-apt.sh chromium chromium
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is not installed; install Node.js and npm (the viewer's browser test needs playwright-core)." >&2
  exit 1
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
