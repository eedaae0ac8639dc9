# Euglena — the single entry point for developers and CI. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export PYTHONDONTWRITEBYTECODE := 1
UV ?= uv
PYTEST ?= $(UV) run --frozen pytest
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-k quota -x"`.
PYTEST_ARGS ?=

.PHONY: help bootstrap deps sync lint fmt test test-unit test-integration test-cluster run bench clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## Install uv (the Python package manager) if it is missing
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv

deps: bootstrap ## Install system packages (apt) and the Python workspace (.venv)
	@bash hack/install-deps.sh
	@$(UV) sync --frozen --quiet

sync: bootstrap ## Install only the Python workspace (.venv)
	@$(UV) sync --frozen --quiet

lint: sync ## ruff (lint + format check), mypy --strict, import-linter contracts
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy core/src gateway/src agent/src operator/src devkit/src
	@$(UV) run --frozen lint-imports

fmt: sync ## Format the Python code
	@$(UV) run --frozen ruff format .
	@$(UV) run --frozen ruff check --fix .

test: deps test-prepare ## Install and start everything needed, then run every test tier
	@bash hack/pytest.sh $(PYTEST) $(PYTEST_ARGS)

test-unit: sync ## Unit tier only (needs nothing)
	@bash hack/pytest.sh $(PYTEST) -m unit tests/unit $(PYTEST_ARGS)

test-integration: deps ## Integration tier (real Redis, RabbitMQ, PostgreSQL, ChromaDB)
	@bash hack/pytest.sh $(PYTEST) -m integration $(PYTEST_ARGS)

test-cluster: deps k8s-tools ## Cluster tier (real kube-apiserver, etcd, controller-manager, kwok)
	@bash hack/pytest.sh $(PYTEST) -m cluster $(PYTEST_ARGS)

run: deps ## Run the whole platform locally in the foreground (Ctrl-C stops it)
	@$(UV) run --frozen python -m euglena_devkit.run

bench: deps ## Benchmarks: print the P1…P6 ratios measured in one run
	@$(UV) run --frozen python -m bench

clean: ## Remove local state (.run/, caches of tools in the repo)
	rm -rf .run test-artifacts .pytest_cache .mypy_cache .ruff_cache

# Everything `make test` builds before running pytest; each area's mk file appends to it.
TEST_PREPARE := k8s-tools

# Per-area targets (cluster, operator, agent, chart, frontend) live beside this file.
include $(sort $(wildcard mk/*.mk))

test-prepare: $(TEST_PREPARE)
.PHONY: test-prepare
