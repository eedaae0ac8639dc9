# Agent worker targets (included by the root Makefile).

.PHONY: run-agent test-agent lint-agent bench-agent

run-agent: sync ## Run one agent worker against services from `python -m euglena_devkit.services up` (offline model unless MODEL_API_URL is set)
	@set -a; [ -f .run/services/env ] && source .run/services/env; set +a; \
	EUGLENA_ENV=dev $(UV) run --frozen python -m euglena_agent

test-agent: sync ## Agent unit and integration tests (real Redis, RabbitMQ, PostgreSQL, ChromaDB)
	@bash hack/pytest.sh $(PYTEST) tests/unit/agent tests/integration/agent $(PYTEST_ARGS)

lint-agent: sync ## ruff + mypy --strict on the agent and the devkit fakes
	@$(UV) run --frozen ruff check agent tests/unit/agent tests/integration/agent devkit/src/euglena_devkit/fakes
	@$(UV) run --frozen mypy agent/src devkit/src/euglena_devkit/fakes

bench-agent: sync ## Agent benchmarks: P2 (submit→accepted ÷ publish→consume) and P3 (overhead per tick)
	@$(UV) run --frozen python bench/agent_bench.py
