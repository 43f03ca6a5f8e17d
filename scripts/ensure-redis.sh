#!/usr/bin/env bash
# Makes sure redis-server and redis-cli are on PATH, installing Debian's package when we are root.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "redis-server is not installed. Install it (e.g. 'sudo apt-get install redis-server'), or run this as root." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "redis-server is not installed and apt-get is not available; install Redis 7 or newer by hand." >&2
  exit 1
fi

echo "Installing redis-server with apt-get..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null
# Debian's package starts a system Redis on 6379; the project runs its own.
if command -v service >/dev/null 2>&1; then service redis-server stop >/dev/null 2>&1 || true; fi
redis-server --version
