# Web UI (frontend/): React + TypeScript built by Vite into frontend/dist, which the gateway
# serves at `/`. Browser tests live in tests/browser (pytest marker `browser`). See docs/frontend.md.

NPM ?= npm
FRONTEND_DIR := frontend
FRONTEND_STAMP := $(FRONTEND_DIR)/node_modules/.euglena-install-stamp

.PHONY: frontend-install frontend-build frontend-test frontend-dev test-browser

$(FRONTEND_STAMP): $(FRONTEND_DIR)/package.json $(FRONTEND_DIR)/package-lock.json
	@command -v node >/dev/null 2>&1 || { echo "node (>= 20.19) and npm are needed for the frontend" >&2; exit 1; }
	@cd $(FRONTEND_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

frontend-install: $(FRONTEND_STAMP) ## Install the frontend's npm packages from package-lock.json (npm ci)

frontend-build: frontend-install ## Type-check and build the web UI into frontend/dist
	@cd $(FRONTEND_DIR) && $(NPM) run --silent build

frontend-test: frontend-install ## Type-check and run the frontend unit tests (vitest)
	@cd $(FRONTEND_DIR) && $(NPM) run --silent typecheck && $(NPM) run --silent test

frontend-dev: frontend-install ## Vite dev server with hot reload, proxying the API to GATEWAY_URL (default http://127.0.0.1:8000)
	@cd $(FRONTEND_DIR) && EUGLENA_GATEWAY_URL=$${GATEWAY_URL:-http://127.0.0.1:8000} $(NPM) run dev

test-browser: deps frontend-build ## Browser tests: Chromium drives the built UI against real services
	@bash hack/pytest.sh $(PYTEST) -m browser tests/browser $(PYTEST_ARGS)

TEST_PREPARE += frontend-build frontend-test

# `make run` serves the UI when Node.js is there to build it, and runs without it otherwise.
.PHONY: frontend-build-if-node
frontend-build-if-node:
	@if command -v node >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory frontend-build; \
	else \
	  echo "node not found: the web UI is not built (install Node.js >= 20.19 for it)" >&2; \
	fi

run: frontend-build-if-node
