#!/usr/bin/env bash
# make run: Redis on loopback (AOF, fsync always) + ingest + persister + ranker + sse-gateway + the simulated arena.
# Ctrl-C stops everything it started; nothing is left running and no pid files are written.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
STATE="$ROOT/.arena"
REDIS_PORT="${REDIS_PORT:-6379}"
INGEST_PORT="${INGEST_PORT:-8081}"
PERSISTER_PORT="${PERSISTER_PORT:-8082}"
RANKER_PORT="${RANKER_PORT:-8083}"
GATEWAY_PORT="${GATEWAY_PORT:-8084}"
CONFIG="${CONFIG:-Release}"

scripts/ensure-apt.sh "redis-server redis-tools" redis-server redis-cli

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$REDIS_PORT" "$INGEST_PORT" "$PERSISTER_PORT" "$RANKER_PORT" "$GATEWAY_PORT"; do
  if port_busy "$port"; then
    echo "Port $port on 127.0.0.1 is already in use. Stop what holds it, or choose another port:" >&2
    echo "  REDIS_PORT=6380 INGEST_PORT=9081 PERSISTER_PORT=9082 RANKER_PORT=9083 GATEWAY_PORT=9084 make run" >&2
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
  --appendonly yes --appendfsync always --save "" --maxmemory 1gb --maxmemory-policy noeviction \
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
ASPNETCORE_URLS="http://127.0.0.1:$INGEST_PORT" setsid dotnet "services/ingest/$BIN/Arena.Ingest.dll" >"$STATE/logs/ingest.log" 2>&1 &
PIDS+=($!)
ASPNETCORE_URLS="http://127.0.0.1:$PERSISTER_PORT" setsid dotnet "services/persister/$BIN/Arena.Persister.dll" >"$STATE/logs/persister.log" 2>&1 &
PIDS+=($!)
ASPNETCORE_URLS="http://127.0.0.1:$RANKER_PORT" setsid dotnet "services/ranker/$BIN/Arena.Ranker.dll" >"$STATE/logs/ranker.log" 2>&1 &
PIDS+=($!)
SseGateway__PersisterUrl="http://127.0.0.1:$PERSISTER_PORT" SseGateway__RankerUrl="http://127.0.0.1:$RANKER_PORT" \
  ASPNETCORE_URLS="http://127.0.0.1:$GATEWAY_PORT" setsid dotnet "services/sse-gateway/$BIN/Arena.SseGateway.dll" >"$STATE/logs/sse-gateway.log" 2>&1 &
PIDS+=($!)
wait_until "ingest" 60 curl -fsS "http://127.0.0.1:$INGEST_PORT/readyz"
wait_until "persister" 60 curl -fsS "http://127.0.0.1:$PERSISTER_PORT/readyz"
wait_until "ranker" 60 curl -fsS "http://127.0.0.1:$RANKER_PORT/readyz"
wait_until "sse-gateway" 60 curl -fsS "http://127.0.0.1:$GATEWAY_PORT/readyz"

cat <<INFO

Arena pipeline is running. Watch it live: http://127.0.0.1:$GATEWAY_PORT/
  ingest      http://127.0.0.1:$INGEST_PORT/v1/events   (POST events here)
  persister   http://127.0.0.1:$PERSISTER_PORT/v1/runs     (runs and their events)
  ranker      http://127.0.0.1:$RANKER_PORT/v1/leaderboard (ratings with 95% intervals)
  live (SSE)  http://127.0.0.1:$GATEWAY_PORT/v1/runs/<run_id>/stream, /v1/stream, /v1/leaderboard/stream
  metrics     http://127.0.0.1:$INGEST_PORT/metrics, :$PERSISTER_PORT/metrics, :$RANKER_PORT/metrics, :$GATEWAY_PORT/metrics
  operator    scripts/arena status
  redis       127.0.0.1:$REDIS_PORT (AOF, appendfsync always)
  logs        $STATE/logs/
A simulated arena is playing; press Ctrl-C to stop everything.

INFO

setsid dotnet "tools/Arena.Simulator/$BIN/arena-sim.dll" --ingest "http://127.0.0.1:$INGEST_PORT" &
PIDS+=($!)

# Returns when any child ends (or on Ctrl-C, through the trap).
wait -n "${PIDS[@]}" || true
echo "A process of the pipeline exited on its own; see $STATE/logs/ for why. Stopping the rest." >&2
