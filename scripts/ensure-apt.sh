#!/usr/bin/env bash
# ensure-apt.sh "<debian packages>" <command>...: makes sure every command is on PATH,
# installing the packages with apt-get when one is missing and we are root; otherwise says
# what to install. A system service the first package starts (Debian starts Redis and
# Prometheus on install) is stopped: the project runs its own.
set -euo pipefail
packages=$1
shift

missing=""
for command in "$@"; do
  command -v "$command" >/dev/null 2>&1 || missing="$missing $command"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing:$missing. Install Debian's package(s) '$packages' (e.g. 'sudo apt-get install $packages'), or run this as root on Debian/Ubuntu." >&2
  exit 1
fi

echo "Installing $packages with apt-get..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # the package list is meant to split
apt-get install -y -qq --no-install-recommends $packages >/dev/null
if command -v service >/dev/null 2>&1; then service "${packages%% *}" stop >/dev/null 2>&1 || true; fi
"$1" --version 2>&1 | head -n 1
