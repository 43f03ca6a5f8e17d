# The two commands of the README: `make run` and `make test`.
CONFIG ?= Release
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: run test bench build redis browser clean

## run: Redis, ingest, persister, ranker and a simulated arena on loopback (Ctrl-C stops all)
run:
	@CONFIG=$(CONFIG) scripts/run-local.sh

## test: every test, against real Redis, DuckDB files, HTTP, processes and a headless browser
test: redis browser
	dotnet test Arena.slnx -c $(CONFIG) --logger "console;verbosity=normal"

## bench: measured figures (Markdown + JSON, with the machine) into bench-results/
bench:
	dotnet build tools/Arena.Bench -c Release -nologo -v quiet -clp:ErrorsOnly -clp:NoSummary
	dotnet tools/Arena.Bench/bin/Release/net10.0/arena-bench.dll bench-results

build:
	dotnet build Arena.slnx -c $(CONFIG)

## redis: install redis-server with apt-get when it is missing
redis:
	@scripts/ensure-redis.sh

## browser: Debian's chromium and playwright-core for the viewer's browser test
browser:
	@scripts/ensure-browser.sh

## clean: remove local run data and build output
clean:
	rm -rf .arena
	dotnet clean Arena.slnx -c $(CONFIG) -v quiet
