# Developer entry points. `make` (or `make help`) lists them.
# Needs GNU make and bash; the embedded default needs nothing but Node.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

.PHONY: help install run-dev start run-prod stop-prod test test-file tests-html-coverage-report lint format \
	typecheck gen-types migrate bench bench-smoke bench-search clean

help: ## List the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_-]+:.*## / { printf "  %-28s %s\n", $$1, $$2 }' \
		$(MAKEFILE_LIST)

install: ## Install dependencies (npm ci) when node_modules is missing or older than package-lock.json
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		npm ci; \
	else \
		echo "node_modules is up to date"; \
	fi

# Without DATABASE_URL / REDIS_URL / AMQP_URL (or the harness's POSTGRES_*), the app runs on the embedded
# default: PGlite in ./.data/db, an in-memory store and an in-process queue.
# A .env file at the top of the repository (see deploy/.env.*.example) is read by run-dev and start;
# variables already set in the environment win over it (Node's --env-file).
ENV_FILE_FLAG := $(if $(wildcard .env),--env-file=.env)

run-dev: install ## Run the API with reload on change (embedded default unless *_URL are set; reads .env)
	npx tsx $(ENV_FILE_FLAG) shared/src/check-config.ts
	@node scripts/build-web.mjs --if-stale
	npx tsx watch $(ENV_FILE_FLAG) --clear-screen=false api/src/main.ts

start: install ## Run the API (and a consumer with an amqp:// AMQP_URL) in the foreground, supervised; reads .env
	@node scripts/build.mjs --if-stale
	exec node $(ENV_FILE_FLAG) scripts/start.mjs

# Needs a Docker engine with the compose plugin (none runs on the CI machines).
run-prod: ## Build and start the production stack (docker compose) in the background
	docker compose up -d --build

stop-prod: ## Stop the production stack
	docker compose down

test: install ## Run all tests with coverage (gate: 85% of lines)
	npm test

# mocha adds files named on its command line to .mocharc.cjs's spec list (so `npx mocha FILE` runs
# everything): this runs only the files named.
test-file: install ## Run only the test files named: make test-file F="api/test/auth.test.ts shared/test/config.test.ts"
	npm run --silent test:file -- $(F)

tests-html-coverage-report: install ## Run the tests, write an HTML coverage report to coverage/ and open it
	@status=0; npx c8 --reporter=html --reporter=text-summary mocha || status=$$?; \
	report="$(CURDIR)/coverage/index.html"; \
	echo "Coverage report: $$report"; \
	if command -v xdg-open >/dev/null 2>&1; then xdg-open "$$report" >/dev/null 2>&1 || true; \
	elif command -v open >/dev/null 2>&1; then open "$$report" || true; fi; \
	exit $$status

lint: install ## Lint the spec, typecheck, ESLint, prettier, generated types: every step runs, fails if any failed
	npm run lint

format: install ## Format the code with prettier
	npm run format

typecheck: install ## Typecheck with tsc (strict)
	npm run typecheck

gen-types: install ## Regenerate api/src/generated/openapi.ts from openapi.yaml
	npm run gen:types

migrate: install ## Apply database migrations to DATABASE_URL
	npm run migrate

# Needs PostgreSQL and Redis on 127.0.0.1 (BENCH_POSTGRES_URL / BENCH_REDIS_URL to point elsewhere); makes and
# drops its own database. Options: `npx tsx bench/run.ts --help`. The events scenario holds one socket per
# stream (BENCH_STREAMS=5000) in the bench process: the open-files limit is raised to the hard limit first,
# and the bench says so and stops if that is still too low.
bench: install ## Load-test the API against the baselines, then event streams (BENCH_DURATION=10 BENCH_CONNECTIONS=50 BENCH_STREAMS=5000); JSON in bench/results/
	@ulimit -n "$$(ulimit -Hn)" 2>/dev/null; npm run --silent bench

bench-search: install ## Time searches end to end (POST → RabbitMQ → consumer → SUCCESS): a chat of 100k messages, then 1M in 2,000 chats
	@npm run --silent bench:search

bench-smoke: install ## The bench in its tiny CI mode (about a second per run; figures mean nothing)
	@npm run --silent bench:smoke

clean: ## Remove coverage output and the embedded database (.data)
	rm -rf coverage .data
