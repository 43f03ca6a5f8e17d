#!/usr/bin/env bash
# The viewer's browser test needs Debian's Chromium and playwright-core from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is not installed; install Debian's 'chromium' package (the viewer's browser test needs it)." >&2
    exit 1
  fi
  echo "Installing chromium with apt-get..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is not installed; install Node.js and npm (the viewer's browser test needs playwright-core)." >&2
  exit 1
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
