# Operator and CRDs (AgentTask, AgentPool). See docs/operator.md.

OPERATOR_KUBECTL ?= $(shell bash hack/k8s/build.sh --bin-dir 2>/dev/null)/kubectl

.PHONY: run-operator install-crds apply-sample lint-operator test-operator bench-operator

install-crds: ## Install or update the AgentTask and AgentPool CRDs in the current KUBECONFIG's cluster
	@$(OPERATOR_KUBECTL) apply -f crds/agenttasks.euglena.dev.yaml -f crds/agentpools.euglena.dev.yaml
	@$(OPERATOR_KUBECTL) wait --for=condition=Established --timeout=60s crd/agenttasks.euglena.dev crd/agentpools.euglena.dev

run-operator: sync install-crds ## Run the operator in the foreground against the current KUBECONFIG (env: GATEWAY_URL, SUPABASE_SERVICE_ROLE_KEY…)
	@$(UV) run --frozen python -m euglena_operator

apply-sample: ## Apply the sample AgentTask and wait until it is Complete
	@$(OPERATOR_KUBECTL) apply -f crds/samples/agenttask.yaml
	@$(OPERATOR_KUBECTL) wait --for=condition=Complete --timeout=180s agenttask/hello-euglena
	@$(OPERATOR_KUBECTL) get agenttasks

lint-operator: sync ## ruff and mypy --strict for the operator and its tests
	@$(UV) run --frozen ruff check operator tests/unit/operator tests/cluster/operator bench/operator_bench.py
	@$(UV) run --frozen mypy operator/src

test-operator: deps k8s-tools ## Operator tests: unit (scaling, status rules) and cluster (CRDs, AgentPool, AgentTask)
	@bash hack/pytest.sh $(PYTEST) tests/unit/operator tests/cluster/operator $(PYTEST_ARGS)

bench-operator: deps k8s-tools ## P4 (queue spike → new replica count) and P5 (RSS, throughput with 2,000 AgentTasks)
	@$(UV) run --frozen python bench/operator_bench.py
