# Web UI (frontend/): React + TypeScript built by Vite into frontend/dist, which the gateway
# serves at `/`. Browser tests live in tests/browser (pytest marker `browser`). See docs/frontend.md.

NPM ?= npm
FRONTEND_DIR := frontend
FRONTEND_STAMP := $(FRONTEND_DIR)/node_modules/.euglena-install-stamp

.PHONY: install-frontend build-frontend test-frontend run-frontend test-browser

$(FRONTEND_STAMP): $(FRONTEND_DIR)/package.json $(FRONTEND_DIR)/package-lock.json
	@command -v node >/dev/null 2>&1 || { echo "node (>= 20.19) and npm are needed for the frontend" >&2; exit 1; }
	@cd $(FRONTEND_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

install-frontend: $(FRONTEND_STAMP) ## Install the frontend's npm packages from package-lock.json (npm ci)

build-frontend: install-frontend ## Type-check and build the web UI into frontend/dist
	@cd $(FRONTEND_DIR) && $(NPM) run --silent build

test-frontend: install-frontend ## Type-check and run the frontend unit tests (vitest)
	@cd $(FRONTEND_DIR) && $(NPM) run --silent typecheck && $(NPM) run --silent test

run-frontend: install-frontend ## Vite dev server with hot reload, proxying the API to GATEWAY_URL (default http://127.0.0.1:8000)
	@cd $(FRONTEND_DIR) && EUGLENA_GATEWAY_URL=$${GATEWAY_URL:-http://127.0.0.1:8000} $(NPM) run dev

test-browser: deps build-frontend ## Browser tests: Chromium drives the built UI against real services
	@bash hack/pytest.sh $(PYTEST) -m browser tests/browser $(PYTEST_ARGS)

PREPARE_browser += build-frontend
PREPARE_frontend += test-frontend

# `make run` serves the UI when Node.js is there to build it, and runs without it otherwise.
.PHONY: build-frontend-if-node
build-frontend-if-node:
	@if command -v node >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory build-frontend; \
	else \
	  echo "node not found: the web UI is not built (install Node.js >= 20.19 for it)" >&2; \
	fi

run: build-frontend-if-node
