# Helm chart, images and dashboards. See docs/deploy.md.

CHART_DIR := charts/euglena
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' $(CHART_DIR)/Chart.yaml)
DOCKER ?= docker
# helm comes with the local control plane's tools (make k8s-tools); HELM=... overrides it.
HELM ?= $(shell bash hack/k8s/build.sh --bin-dir 2>/dev/null)/helm

# Helm 3, built from its Go module into the cache, so the chart is checked with both majors.
HELM3_VERSION ?= v3.19.0
# The Kubernetes minor its client libraries carry; helm template/lint assume it (Helm's Makefile
# sets the same ldflags, a plain `go install` would leave 1.20).
HELM3_KUBE_MINOR ?= 34
HELM3_DIR := $(or $(EUGLENA_CACHE),$(HOME)/.cache/euglena)/helm3-$(HELM3_VERSION)

.PHONY: lint-chart sync-chart-crds dashboards check-dashboards images helm3

sync-chart-crds: ## Copy crds/*.yaml into the chart's crds/ (Helm installs them from there)
	@rm -f $(CHART_DIR)/crds/*.yaml
	@cp crds/*.yaml $(CHART_DIR)/crds/
	@echo "copied $$(ls crds/*.yaml | wc -l) CRDs into $(CHART_DIR)/crds/"

dashboards: sync ## Regenerate the Grafana dashboards and alert rules in the chart from hack/dashboards
	@$(UV) run --frozen python hack/dashboards/generate.py

check-dashboards: sync ## Fail when the generated dashboards or rules differ from hack/dashboards
	@$(UV) run --frozen python hack/dashboards/generate.py --check

lint-chart: ## helm lint the chart with its defaults and every ci/*-values.yaml scenario
	@test -x "$(HELM)" || { echo "helm not found at $(HELM): run make k8s-tools or set HELM=..."; exit 1; }
	@$(HELM) lint $(CHART_DIR) -f $(CHART_DIR)/ci/default-values.yaml
	@for f in $(CHART_DIR)/ci/*-values.yaml; do $(HELM) lint $(CHART_DIR) -f $$f --quiet || exit 1; done
	@promtool check rules $(CHART_DIR)/files/prometheus/euglena.rules.yaml

images: ## Build the gateway, agent and operator images (euglena-<service>:<appVersion>) from the root Dockerfile's targets
	@for svc in gateway agent operator; do \
	  echo "building euglena-$$svc:$(IMAGE_TAG)"; \
	  $(DOCKER) build --target $$svc -t euglena-$$svc:$(IMAGE_TAG) . || exit 1; \
	done

helm3: ## Build Helm 3 (HELM3_VERSION) from its Go module into the cache; the chart tests then lint and render with it too
	@go=$$(command -v go || { test -x /usr/local/go/bin/go && echo /usr/local/go/bin/go; } || true); \
	if [ -x "$(HELM3_DIR)/helm" ]; then :; \
	elif [ -z "$$go" ]; then echo "helm3: no Go toolchain; the Helm 3 chart checks will be skipped"; \
	else \
	  echo "building helm $(HELM3_VERSION) into $(HELM3_DIR) (a few minutes, once)"; \
	  mkdir -p "$(HELM3_DIR)" && GOBIN="$(HELM3_DIR)" CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local \
	  "$$go" install -trimpath \
	    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$(HELM3_VERSION) \
	      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
	      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM3_KUBE_MINOR) \
	      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
	      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM3_KUBE_MINOR)" \
	    helm.sh/helm/v3/cmd/helm@$(HELM3_VERSION); \
	fi

# `make test` checks the chart with Helm 3 as well (the chart tests are unit-tier).
PREPARE_unit += helm3
