#!/usr/bin/env bash
# make run: Redis on loopback (AOF, fsync always) + the services of services/services.tsv + the simulated arena.
# Ctrl-C stops everything it started; nothing is left running and no pid files are written.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
STATE="$ROOT/.arena"
REDIS_PORT="${REDIS_PORT:-6379}"
CONFIG="${CONFIG:-Release}"

# The services, in the manifest's order: name, assembly and port are its first three columns.
# <NAME>_PORT moves a service (INGEST_PORT, PERSISTER_PORT, RANKER_PORT, SSE_GATEWAY_PORT).
port_variable() { printf '%s_PORT' "$(printf %s "$1" | tr 'a-z-' 'A-Z_')"; }
SERVICES=()
declare -A ASSEMBLY PORT
while read -r name assembly port _; do
  variable=$(port_variable "$name")
  SERVICES+=("$name")
  ASSEMBLY[$name]=$assembly
  PORT[$name]=${!variable:-$port}
done < <(tail -n +2 services/services.tsv)

scripts/ensure-apt.sh "redis-server redis-tools" redis-server redis-cli

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$REDIS_PORT" "${PORT[@]}"; do
  if port_busy "$port"; then
    moved="REDIS_PORT=6380"
    for name in "${SERVICES[@]}"; do moved+=" $(port_variable "$name")=$((${PORT[$name]} + 1000))"; done
    echo "Port $port on 127.0.0.1 is already in use. Stop what holds it, or choose other ports:" >&2
    echo "  $moved make run" >&2
    exit 1
  fi
done

echo "Building ($CONFIG)..."
dotnet build Arena.slnx -c "$CONFIG" -nologo -v quiet -clp:ErrorsOnly -clp:NoSummary

mkdir -p "$STATE/redis" "$STATE/data" "$STATE/logs"
PIDS=()
# Children run in their own sessions (setsid), so Ctrl-C reaches only this script, which
# stops them in reverse order of start, each fully before the next: the simulator, then
# the services (finishing their batches), Redis last.
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "Stopping..."
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null || true
    wait "${PIDS[$i]}" 2>/dev/null || true
  done
  echo "Stopped. Data is kept in $STATE (make clean removes it)."
  exit 0
}
trap cleanup INT TERM EXIT

setsid redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$STATE/redis" \
  --appendonly yes --appendfsync always --save "" --maxmemory 1gb --maxmemory-policy noeviction --lazyfree-lazy-expire yes \
  --logfile "$STATE/logs/redis.log" &
PIDS+=($!)

wait_until() { # wait_until <what> <seconds> <command...>
  local what=$1 seconds=$2; shift 2
  for (( i=0; i<seconds*10; i++ )); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "$what did not become ready within ${seconds}s; see $STATE/logs/" >&2
  exit 1
}
wait_until "Redis" 10 redis-cli -p "$REDIS_PORT" ping

export Arena__Redis="127.0.0.1:$REDIS_PORT"
export Arena__DataDir="$STATE/data"
BIN="bin/$CONFIG/net10.0"
url() { echo "http://127.0.0.1:${PORT[$1]}"; }
for name in "${SERVICES[@]}"; do
  settings=("ASPNETCORE_URLS=$(url "$name")")
  # The gateway serves history and the leaderboard from the persister and the ranker.
  if [ "$name" = sse-gateway ]; then
    settings+=("SseGateway__PersisterUrl=$(url persister)" "SseGateway__RankerUrl=$(url ranker)")
  fi
  env "${settings[@]}" setsid dotnet "services/$name/$BIN/${ASSEMBLY[$name]}.dll" >"$STATE/logs/$name.log" 2>&1 &
  PIDS+=($!)
done
for name in "${SERVICES[@]}"; do
  wait_until "$name" 60 curl -fsS "$(url "$name")/readyz"
done

cat <<INFO

Arena pipeline is running. Watch it live: $(url sse-gateway)/
  ingest      $(url ingest)/v1/events   (POST events here)
  persister   $(url persister)/v1/runs     (runs and their events)
  ranker      $(url ranker)/v1/leaderboard (ratings with 95% intervals)
  live (SSE)  $(url sse-gateway)/v1/runs/<run_id>/stream, /v1/stream, /v1/leaderboard/stream
  metrics     $(for name in "${SERVICES[@]}"; do printf '%s/metrics ' "$(url "$name")"; done)
  operator    scripts/arena status
  redis       127.0.0.1:$REDIS_PORT (AOF, appendfsync always)
  logs        $STATE/logs/
A simulated arena is playing; press Ctrl-C to stop everything.

INFO

setsid dotnet "tools/Arena.Simulator/$BIN/arena-sim.dll" --ingest "$(url ingest)" &
PIDS+=($!)

# Returns when any child ends (or on Ctrl-C, through the trap).
wait -n "${PIDS[@]}" || true
echo "A process of the pipeline exited on its own; see $STATE/logs/ for why. Stopping the rest." >&2
