#!/usr/bin/env bash
# skaffold's build command for the three service images (custom builder, see skaffold.yaml):
# `docker build --target <service>` of the root Dockerfile. skaffold sets IMAGE (the tag it chose
# from the artifact's own dependencies), BUILD_CONTEXT and PUSH_IMAGE.
#
# EUGLENA_DOCKER_BUILD_FLAGS adds flags, e.g. the locally built base images on machines that
# cannot pull the Dockerfile's defaults:
#   export EUGLENA_DOCKER_BUILD_FLAGS="$(uv run python -m euglena_devkit.kind build-flags)"
set -euo pipefail

target="${1:?usage: hack/skaffold/build.sh gateway|agent|operator}"
read -r -a extra <<<"${EUGLENA_DOCKER_BUILD_FLAGS:-}"
DOCKER_BUILDKIT=1 docker build --target "$target" --tag "${IMAGE:?skaffold sets IMAGE}" \
  "${extra[@]}" "${BUILD_CONTEXT:-.}"
if [[ "${PUSH_IMAGE:-false}" == true ]]; then
  docker push "$IMAGE"
fi
