# The two commands of the README: `make run` and `make test`.
CONFIG ?= Release
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: run test bench chaos soak build redis browser prometheus python images up down clean docker-engine

## run: Redis, the services of services/services.tsv and a simulated arena on loopback (Ctrl-C stops all)
run:
	@CONFIG=$(CONFIG) scripts/run-local.sh

## test: every test, against real Redis, DuckDB files, HTTP, processes and a headless browser
test: redis browser prometheus python
	dotnet test Arena.slnx -c $(CONFIG) --logger "console;verbosity=normal"

## bench: measured figures (Markdown + JSON, with the machine) into bench-results/; starts its own redis-server
bench: redis
	dotnet build Arena.slnx -c Release -nologo -v quiet -clp:ErrorsOnly -clp:NoSummary
	ulimit -n 65536 2>/dev/null || true; dotnet tools/Arena.Bench/bin/Release/net10.0/arena-bench.dll bench-results $(BENCH_ARGS)

## chaos: seeded faults (kill -9, SIGTERM, Redis restarts, poison, duplicates, SSE drops) against real processes, then the verdict table into chaos-results/
chaos: redis
	dotnet build Arena.slnx -c Release -nologo -v quiet -clp:ErrorsOnly -clp:NoSummary
	dotnet tools/Arena.Chaos/bin/Release/net10.0/arena-chaos.dll --out chaos-results $(CHAOS_ARGS)

## soak: 30 min of the simulated arena, poison and hostile clients (slow bodies, SSE floods, oversized and forged events) without faults; memory must stay flat, no 5xx, no loss; the verdict table into soak-results/
soak: redis
	dotnet build Arena.slnx -c Release -nologo -v quiet -clp:ErrorsOnly -clp:NoSummary
	dotnet tools/Arena.Chaos/bin/Release/net10.0/arena-chaos.dll --out soak-results --minutes 30 --rate 1000 --throughput-seconds 0 \
	  --consumer-kills 0 --gateway-kills 0 --redis-restarts 0 --sigterms 0 $(SOAK_ARGS)

build:
	dotnet build Arena.slnx -c $(CONFIG)

## redis: install redis-server with apt-get when it is missing
redis:
	@scripts/ensure-apt.sh "redis-server redis-tools" redis-server redis-cli

## browser: Debian's chromium, playwright-core and eventsource for the gateway's client tests (viewer in Chromium, a WHATWG EventSource)
browser:
	@scripts/ensure-browser.sh

## prometheus: Debian's prometheus, which the tests run against the dashboards and alerts
prometheus:
	@scripts/ensure-apt.sh prometheus prometheus promtool

## python: python3 for the Python client's tests (clients/python)
python:
	@scripts/ensure-apt.sh python3 python3

COMPOSE = docker compose -f deploy/compose/compose.yaml --env-file deploy/compose/.env

## images: one image per service of services/services.tsv, tagged arena/<service>:<Version of its .csproj>
images: docker-engine
	@tail -n +2 services/services.tsv | while read -r name assembly port section group user data; do \
	  v=$$(dotnet msbuild services/$$name/$$assembly.csproj -getProperty:Version </dev/null) || exit 1; \
	  target=runtime; if [ "$$data" = yes ]; then target=runtime-with-data; fi; \
	  echo "arena/$$name:$$v"; \
	  docker build -f deploy/Dockerfile --target $$target --build-arg SERVICE=$$name --build-arg ASSEMBLY=$$assembly \
	    --build-arg PORT=$$port --build-arg VERSION=$$v -t arena/$$name:$$v . </dev/null || exit 1; \
	done

## up: the compose stack (Redis with ACLs, the services, Prometheus, Grafana) on a Docker engine
up: docker-engine deploy/compose/.env
	$(COMPOSE) up -d --build --wait
	@echo "Grafana: http://localhost:3000  Prometheus: http://127.0.0.1:9090  viewer: http://localhost:8084/"

## down: stop the compose stack (volumes are kept; add -v to the command to drop them)
down: docker-engine
	$(COMPOSE) down

deploy/compose/.env:
	@echo "deploy/compose/.env is missing: copy deploy/compose/.env.example to it and set every password." >&2; exit 1

docker-engine:
	@docker info >/dev/null 2>&1 || { echo "This needs a running Docker engine (docker info failed). make run and make test need none." >&2; exit 1; }

## clean: remove local run data and build output
clean:
	rm -rf .arena
	dotnet clean Arena.slnx -c $(CONFIG) -v quiet
