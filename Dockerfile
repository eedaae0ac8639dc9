# The three service images, one target each. Build from the repository root:
#   docker build --target gateway  -t euglena-gateway .    # HTTP API plus the built web UI
#   docker build --target agent    -t euglena-agent .      # worker: mandates and the LLM loop
#   docker build --target operator -t euglena-operator .   # AgentTask and AgentPool controllers
# Always pass --target: BuildKit then builds only the stages that target needs (Node for the
# gateway alone), and each image holds only its service's packages.
# The base images are build arguments. Where no registry is reachable, `make base-images` builds
# equivalents from Debian packages, npm and PyPI (see docs/deploy.md), passed as
#   --build-arg PYTHON_IMAGE=localhost/euglena/python:3.11-bookworm (and NODE_IMAGE, UV_IMAGE).
# The file needs only the Dockerfile features BuildKit has built in (no `# syntax=` line, which
# would pull a frontend image).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.9

FROM ${UV_IMAGE} AS uv

# --- web UI: built when frontend/package.json exists, an empty directory otherwise ---------
FROM ${NODE_IMAGE} AS frontend
WORKDIR /src
RUN --mount=type=bind,target=/ctx \
    --mount=type=cache,target=/root/.npm \
    mkdir -p /out \
    && if [ -f /ctx/frontend/package.json ]; then \
         cp -r /ctx/frontend /src/frontend && cd /src/frontend \
         && npm ci --no-audit --no-fund && npm run build && cp -r dist/. /out/; \
       fi

# --- Python build base: uv and the workspace's manifests -----------------------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Every workspace member's pyproject.toml is needed for uv to check the lock; each service
# stage below installs only its own tree. Dependencies go in before the sources, so that layer
# stays cached until uv.lock or a pyproject changes.
COPY uv.lock pyproject.toml ./
COPY core/pyproject.toml core/
COPY gateway/pyproject.toml gateway/
COPY agent/pyproject.toml agent/
COPY operator/pyproject.toml operator/
COPY devkit/pyproject.toml devkit/

# --- one virtualenv per service, resolved from the workspace's one uv.lock ------------------
FROM build AS gateway-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-default-groups --no-install-workspace --package euglena-gateway
COPY core/ core/
COPY gateway/ gateway/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-default-groups --no-editable --package euglena-gateway

FROM build AS agent-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-default-groups --no-install-workspace --package euglena-agent
COPY core/ core/
COPY agent/ agent/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-default-groups --no-editable --package euglena-agent

FROM build AS operator-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-default-groups --no-install-workspace --package euglena-operator
COPY core/ core/
COPY operator/ operator/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-default-groups --no-editable --package euglena-operator

# --- runtime base: no uv, no compiler, a non-root user ---------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 euglena \
    && useradd --system --uid 10001 --gid euglena --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin euglena
# Bytecode is compiled at build time; nothing is written at run time outside the volumes the
# chart mounts (an emptyDir at /tmp, the agent's /data), so the root filesystem can be read-only.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER 10001:10001

# --- targets ---------------------------------------------------------------------------------
FROM runtime AS gateway
COPY --from=gateway-venv /app/.venv /app/.venv
COPY --from=frontend /out /app/frontend
ENV GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    FRONTEND_DIR=/app/frontend
EXPOSE 8000
ENTRYPOINT ["euglena-gateway"]

FROM runtime AS agent
COPY --from=agent-venv /app/.venv /app/.venv
ENV HEALTH_PORT=8081 \
    CHROMA_PATH=/data/chroma \
    HOME=/tmp
EXPOSE 8081
ENTRYPOINT ["euglena-agent"]

FROM runtime AS operator
COPY --from=operator-venv /app/.venv /app/.venv
ENV LIVENESS_PORT=8080 \
    METRICS_PORT=8081 \
    HOME=/tmp
EXPOSE 8080 8081
ENTRYPOINT ["euglena-operator"]
