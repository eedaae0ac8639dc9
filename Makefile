# Euglena — the single entry point for developers and CI. `make help` lists the targets.
#
# Target names: work on an area is `<verb>-<area>` (test-agent, bench-operator, lint-chart,
# run-agent); a target that builds an artifact is named after it (images, dashboards,
# k8s-tools); `cluster-up|down|env` front the subcommands of `python -m euglena_devkit.cluster`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export PYTHONDONTWRITEBYTECODE := 1
UV ?= uv
PYTEST ?= $(UV) run --frozen pytest
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-k quota -x"`.
PYTEST_ARGS ?=
# Tiers `make test` leaves out, comma-separated, e.g. `make test SKIP=cluster,browser`.
# The pytest tiers are markers; `frontend` is the web UI's own type-check and vitest run.
SKIP ?=
TIERS := unit integration cluster browser e2e_kind frontend
PYTEST_TIERS := $(filter-out frontend,$(TIERS))

empty :=
space := $(empty) $(empty)
comma := ,
SKIPPED := $(subst $(comma),$(space),$(SKIP))
$(if $(filter-out $(TIERS),$(SKIPPED)),$(error SKIP: unknown tier(s) $(filter-out $(TIERS),$(SKIPPED)); the tiers are $(TIERS)))
SKIPPED_MARKERS := $(filter $(PYTEST_TIERS),$(SKIPPED))
# `-m "not cluster and not browser"` for SKIP=cluster,browser; nothing when nothing is skipped.
SKIP_MARKER := $(if $(SKIPPED_MARKERS),-m "$(subst not__,not ,$(subst $(space), and ,$(strip $(foreach t,$(SKIPPED_MARKERS),not__$(t)))))")

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

test: deps test-prepare ## Install and start everything needed, then run every test tier (SKIP=cluster,browser leaves tiers out)
	@bash hack/pytest.sh $(PYTEST) $(SKIP_MARKER) $(PYTEST_ARGS)

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

# What `make test` builds before running pytest, by the tier that needs it; each area's mk file
# adds to these. A skipped tier's preparation is skipped too.
PREPARE_unit := k8s-tools
PREPARE_cluster := k8s-tools
PREPARE_e2e_kind := k8s-tools

# Per-area targets (cluster, operator, agent, chart, frontend) live beside this file.
include $(sort $(wildcard mk/*.mk))

test-prepare: $(sort $(foreach tier,$(filter-out $(SKIPPED),$(TIERS)),$(PREPARE_$(tier))))
.PHONY: test-prepare
