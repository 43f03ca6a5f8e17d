#!/usr/bin/env bash
# Makes sure Debian's prometheus (and promtool) are on PATH, installing the package when we
# are root: the tests evaluate every dashboard and alert expression with it.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "prometheus is not installed. Install it (e.g. 'sudo apt-get install prometheus'), or run this as root." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "prometheus is not installed and apt-get is not available; install Prometheus 2.42 or newer by hand." >&2
  exit 1
fi

echo "Installing prometheus with apt-get..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package may start a system Prometheus on 9090; the tests run their own.
if command -v service >/dev/null 2>&1; then service prometheus stop >/dev/null 2>&1 || true; fi
prometheus --version 2>&1 | head -n 1
