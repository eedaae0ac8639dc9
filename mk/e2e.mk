# The kind e2e tier: Docker Engine, kind and a kind node image, and every image the chart runs.
# On machines without a registry everything is built here (see docs/deploy.md and
# euglena_devkit.kind); EUGLENA_E2E_IMAGES=upstream pulls the stock images instead.

KIND_PYTHON ?= $(UV) run --frozen --quiet python

.PHONY: kind-tools docker-up base-images kind-node-image e2e-images e2e-prepare test-e2e

kind-tools: k8s-tools ## Build (once, cached outside the repo) kind, the kind node's binaries, runc-dropcaps and buildx
	@bash hack/kind/build.sh

docker-up: kind-tools ## Make sure a Docker Engine answers: install Debian's docker.io and start dockerd when none runs
	@bash hack/docker/up.sh

base-images: sync docker-up ## Build the local stand-ins for the upstream base and dependency images (Debian, PyPI, npm)
	@$(KIND_PYTHON) -m euglena_devkit.kind images --no-services --no-node

kind-node-image: sync docker-up ## Build the kind node image from Debian packages and locally compiled binaries
	@$(KIND_PYTHON) -m euglena_devkit.kind images --no-services

e2e-images: sync docker-up ## Build (or confirm) every image of the kind tier and print their sizes
	@$(KIND_PYTHON) -m euglena_devkit.kind images

# `make test` prepares the kind tier too; where Docker cannot be installed or started, the tier
# is then skipped with the reason (a failure under CI=true).
e2e-prepare: sync kind-tools
	@if bash hack/docker/up.sh; then \
	  $(KIND_PYTHON) -m euglena_devkit.kind images; \
	else \
	  echo "e2e-prepare: no Docker Engine here; the kind tier will be skipped" >&2; \
	fi

test-e2e: e2e-prepare ## Kind tier only: the chart on a real cluster with real pods
	@bash hack/pytest.sh $(PYTEST) -m e2e_kind tests/e2e_kind $(PYTEST_ARGS)

TEST_PREPARE += e2e-prepare
