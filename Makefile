# Image API: the commands people expect. `make help` lists them.
SHELL := bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The venv's awslocal/aws come first, so deploy.sh works without a global install.
export PATH := $(abspath $(BIN)):$(PATH)
export DISABLE_DEPRECATION_NOTICE := 1
LOCALSTACK_ENDPOINT ?= http://localhost:4566
E2E_TESTS ?= tests/e2e
N ?= 50
# Docker usable (engine running), or only a client / nothing at all?
HAVE_DOCKER := $(shell docker info >/dev/null 2>&1 && echo yes)

.PHONY: help venv test unit integration e2e e2e-local run dev localstack deploy down logs deploy-stack delete-stack e2e-stack deploy-aws delete-aws template token ls-api inspect reconcile migrate pending seed bench soak lint format openapi docs lock audit clean

help: ## List the commands
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# From the lock alone: every package pinned and its hash checked (pip too: the lock has it). Then the
# imgapi command, built offline with the lock's setuptools (editable: it runs this checkout's imgapi/).
$(VENV)/.installed: requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --no-index -e .
	touch $@

venv: $(VENV)/.installed ## Create .venv with everything tests and tools need

# Unit and integration tests on every core (pytest-xdist), but the bomb catalogue alone after them:
# it measures each case's peak memory, which another worker beside it disturbs.
BOMBS := tests/integration/test_bombs.py
test: $(VENV)/.installed ## Run every test that needs nothing running: unit, integration, e2e on the local server
	$(BIN)/python -m pytest -n auto tests/unit tests/integration --ignore=$(BOMBS)
	$(BIN)/python -m pytest $(BOMBS)
	E2E_TARGET=local E2E_REQUIRED=1 $(BIN)/python -m pytest tests/e2e

unit: $(VENV)/.installed ## Unit tests only
	$(BIN)/python -m pytest tests/unit

integration: $(VENV)/.installed ## Integration tests only (lambda_handler on moto)
	$(BIN)/python -m pytest -n auto tests/integration --ignore=$(BOMBS)
	$(BIN)/python -m pytest $(BOMBS)

e2e: $(VENV)/.installed ## End-to-end tests against the API deployed on LocalStack (or BASE_URL; E2E_TESTS= a subset)
	$(BIN)/python -m pytest $(E2E_TESTS) $(PYTEST_ARGS)

e2e-local: $(VENV)/.installed ## End-to-end tests against a local server started for the run
	E2E_TARGET=local $(BIN)/python -m pytest tests/e2e

run: $(VENV)/.installed ## Start the API: LocalStack + deploy with Docker, else the local server
ifeq ($(HAVE_DOCKER),yes)
	$(MAKE) --no-print-directory localstack deploy
else
	@echo "Docker is not available: starting the local server instead (make dev)."
	$(BIN)/python -m localserver
endif

dev: $(VENV)/.installed ## Start the local server on http://127.0.0.1:3000 (no Docker; keeps data in .local-data/, FRESH=1: memory only)
	$(BIN)/python -m localserver

localstack: ## Start LocalStack with Docker and wait until it is healthy
	docker compose up -d
	@echo -n "Waiting for LocalStack"; for i in $$(seq 1 90); do \
	  curl -sf $(LOCALSTACK_ENDPOINT)/_localstack/health >/dev/null && { echo " ready."; exit 0; }; \
	  echo -n "."; sleep 2; done; echo " not healthy: see make logs"; exit 1

deploy: $(VENV)/.installed ## Deploy (or update) the stack on LocalStack with deploy.sh
	bash deploy.sh

down: ## Stop LocalStack (its data goes with it)
	docker compose down

logs: ## Follow LocalStack's logs
	docker compose logs -f localstack

deploy-stack: $(VENV)/.installed ## Deploy template.yaml on LocalStack as a CloudFormation stack (STACK=<name>, PARAMETERS="Name=Value ...")
	bash deploy/stack.sh deploy $(PARAMETERS)

delete-stack: $(VENV)/.installed ## Delete that stack and check nothing is left behind
	bash deploy/stack.sh delete

e2e-stack: $(VENV)/.installed ## End-to-end tests against the stack deploy-stack made
	set -a && . build/stack.env && set +a && E2E_API_KEY=$$(cat build/stack_api_key 2>/dev/null) \
	  $(BIN)/python -m pytest $(E2E_TESTS) $(PYTEST_ARGS)

deploy-aws: $(VENV)/.installed ## Deploy template.yaml to your AWS account (README: Deploy to AWS)
	AWS_CLI=aws bash deploy/stack.sh deploy $(PARAMETERS)

delete-aws: $(VENV)/.installed ## Delete the AWS stack and every image in it (asks first)
	AWS_CLI=aws bash deploy/stack.sh delete

template: $(VENV)/.installed ## Regenerate template.yaml from the code (a test fails when it is stale)
	$(BIN)/python -m deploy.template > template.yaml

token: $(VENV)/.installed ## Print a dev issuer's bearer token for AUTH=jwt: make -s token USER=alice [ADMIN=1]
	@$(BIN)/python -m deploy.dev_issuer token "$(USER)" $(if $(filter 1,$(ADMIN)),--admin)

ls-api: $(VENV)/.installed ## Print the running API's id, base URLs and key as shell variables: eval "$(make -s ls-api)"
	@$(BIN)/python -m deploy.endpoints

inspect: $(VENV)/.installed ## Show the bucket and the table of whatever runs: the local server, else LocalStack
	@$(BIN)/python -m ops.inspect

# Maintenance runs against LocalStack unless AWS_ENDPOINT_URL (or real AWS credentials) say otherwise.
# The store make inspect finds: AWS_ENDPOINT_URL, else the running local server, else LocalStack.
MAINTENANCE := LOCALSTACK_ENDPOINT=$(LOCALSTACK_ENDPOINT) $(BIN)/python -m ops.maintenance --find-store

reconcile: $(VENV)/.installed ## Compare bucket and table of whatever runs, as make inspect finds it (FIX=1 repairs)
	$(MAINTENANCE) reconcile $(if $(FIX),--fix)

migrate: $(VENV)/.installed ## Index every image and tag item: after an upgrade, or a change of LISTING_SHARDS (docs/capacity.md)
	$(MAINTENANCE) migrate

pending: $(VENV)/.installed ## Direct uploads pending for over a day, of whatever runs (PURGE=1 deletes them)
	$(MAINTENANCE) pending $(if $(PURGE),--purge)

seed: $(VENV)/.installed ## Upload N generated images (default 50) to whatever runs, through imgapi: make seed [N=50]
	$(BIN)/imgapi seed --count $(N)

bench: $(VENV)/.installed ## Benchmark: latency per route, listing at scale, cold start, memory (BENCH_SHORT=1: quick)
	$(BIN)/python -m bench

# SOAK_SECONDS and SOAK_CLIENTS reach it from make's command line or the environment alike.
soak: $(VENV)/.installed ## Soak on LocalStack: mixed load, then Lambda memory and reconcile verdicts [SOAK_SECONDS=120 SOAK_CLIENTS=16]
	$(BIN)/python -m bench.soak

lint: $(VENV)/.installed ## ruff, ruff format --check, mypy, cfn-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml

format: $(VENV)/.installed ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

openapi: $(VENV)/.installed ## Regenerate openapi.json from the code (a test fails when it is stale)
	$(BIN)/python -m app.web.resolver > openapi.json

# The site's pages are docs/*.md; docs/hooks.py fills in the settings table and the benchmark's figures.
docs: $(VENV)/.installed ## Build the documentation site with --strict into build/site (broken links fail)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

# The Lambda's lock is resolved for its runtime (python3.12, manylinux), not for this host; each lock
# has the hashes of every file of a version, so arm64 installs from it too. uv keeps the versions
# a lock already has: LOCK_ARGS="--upgrade-package NAME" (or --upgrade) moves them.
UV_COMPILE := $(BIN)/uv pip compile --quiet --generate-hashes --custom-compile-command "make lock" $(LOCK_ARGS)

lock: $(VENV)/.installed ## Regenerate requirements.lock and requirements-dev.lock after editing requirements*.txt
	$(UV_COMPILE) --python-version 3.12 --python-platform x86_64-manylinux_2_28 -o requirements.lock requirements.txt
	$(UV_COMPILE) --universal --python-version 3.11 -o requirements-dev.lock requirements-dev.txt

audit: $(VENV)/.installed ## Known vulnerabilities in both locks (exit 1: one has a fix; 2: no database answered)
	$(BIN)/python -m ops.audit requirements.lock requirements-dev.lock

clean: ## Remove build output and caches (keeps .venv)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
