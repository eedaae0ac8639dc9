# The kind e2e tier: Docker Engine, kind and a kind node image, and every image the chart runs.
# On machines without a registry everything is built here (see docs/deploy.md and
# euglena_devkit.kind); EUGLENA_E2E_IMAGES=upstream pulls the stock images instead.

KIND_PYTHON ?= $(UV) run --frozen --quiet python

.PHONY: kind-tools start-docker base-images kind-node-image e2e-images prepare-e2e test-e2e

kind-tools: k8s-tools ## Build (once, cached outside the repo) kind, the kind node's binaries, runc-dropcaps and buildx
	@bash hack/kind/build.sh

start-docker: kind-tools ## Make sure a Docker Engine answers: install Debian's docker.io and start dockerd when none runs
	@bash hack/docker/up.sh

base-images: sync start-docker ## Build the local stand-ins for the upstream base and dependency images (Debian, PyPI, npm)
	@$(KIND_PYTHON) -m euglena_devkit.kind images --no-services --no-node

kind-node-image: sync start-docker ## Build the kind node image from Debian packages and locally compiled binaries
	@$(KIND_PYTHON) -m euglena_devkit.kind images --no-services

e2e-images: sync start-docker ## Build (or confirm) every image of the kind tier and print their sizes
	@$(KIND_PYTHON) -m euglena_devkit.kind images

# `make test` prepares the kind tier too; where Docker cannot be installed or started, the tier
# is then skipped with the reason (a failure under CI=true).
prepare-e2e: sync kind-tools
	@if bash hack/docker/up.sh; then \
	  $(KIND_PYTHON) -m euglena_devkit.kind images; \
	else \
	  echo "prepare-e2e: no Docker Engine here; the kind tier will be skipped" >&2; \
	fi

test-e2e: prepare-e2e ## Kind tier only: the chart on a real cluster with real pods
	@bash hack/pytest.sh $(PYTEST) -m e2e_kind tests/e2e_kind $(PYTEST_ARGS)

PREPARE_e2e_kind += prepare-e2e
