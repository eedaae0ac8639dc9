#!/usr/bin/env bash
# Make sure a Docker Engine answers, for the kind e2e tier and the image builds.
#
# - A daemon that already answers `docker info` is used as it is (yours, with its own config);
#   nothing here reconfigures it.
# - Otherwise Debian's docker.io (and debootstrap, for the local base images) is installed with
#   apt when dockerd is missing, and dockerd is started in the background, detached, logging to
#   ${EUGLENA_CACHE:-~/.cache/euglena}/docker/dockerd.log. It keeps running after the tests.
# - Where this process's capability bounding set lacks capabilities the kernel has (some
#   sandboxes drop CAP_SYS_RESOURCE), runc cannot start a --privileged container, and kind's
#   nodes are privileged. dockerd then gets runc-dropcaps (hack/runc-dropcaps, built by
#   hack/kind/build.sh) as its default runtime; with a complete bounding set it is not used.
# - The docker CLI needs the buildx plugin for BuildKit builds; when `docker buildx` is missing,
#   the one hack/kind/build.sh builds is linked into ~/.docker/cli-plugins.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${EUGLENA_CACHE:-$HOME/.cache/euglena}/docker"
kind_bin="$(bash "$here/../kind/build.sh" --bin-dir)"
log() { printf '[docker] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

sudo=()
((EUID == 0)) || sudo=(sudo)

install_packages() { # <command> <package>...: installs the packages whose command is missing
  local missing=() cmd pkg
  while (($#)); do
    cmd="$1" pkg="$2"
    shift 2
    have "$cmd" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  if ! have apt-get; then
    log "missing ${missing[*]} and no apt-get here: install Docker Engine and debootstrap yourself"
    exit 1
  fi
  log "installing ${missing[*]} (Debian packages)"
  local policy=/usr/sbin/policy-rc.d created=0
  if [[ ! -e $policy ]]; then
    # Keep the packages' own services from starting: this script starts dockerd itself.
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 0755 "$policy"
    created=1
  fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
  ((created)) && "${sudo[@]}" rm -f "$policy"
  return 0
}

# Capabilities the kernel knows but this process may not hold: runc would refuse to grant them.
bounding_set_incomplete() {
  local last bnd full
  last="$(cat /proc/sys/kernel/cap_last_cap)"
  bnd=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
  full=$(((1 << (last + 1)) - 1))
  ((bnd != full))
}

start_dockerd() {
  local args=()
  if bounding_set_incomplete; then
    [[ -x "$kind_bin/runc-dropcaps" ]] || { log "runc-dropcaps is not built: run hack/kind/build.sh"; exit 1; }
    log "the capability bounding set is incomplete: dockerd runs containers through runc-dropcaps"
    args+=(--add-runtime "dropcaps=$kind_bin/runc-dropcaps" --default-runtime dropcaps)
  fi
  mkdir -p "$cache"
  log "starting dockerd (log: $cache/dockerd.log)"
  "${sudo[@]}" setsid nohup dockerd "${args[@]}" >>"$cache/dockerd.log" 2>&1 </dev/null &
  local i
  for i in $(seq 120); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  tail -n 20 "$cache/dockerd.log" >&2
  log "dockerd did not answer within 60 s"
  exit 1
}

ensure_buildx() {
  docker buildx version >/dev/null 2>&1 && return 0
  [[ -x "$kind_bin/docker-buildx" ]] || { log "docker-buildx is not built: run hack/kind/build.sh"; exit 1; }
  mkdir -p "$HOME/.docker/cli-plugins"
  ln -sf "$kind_bin/docker-buildx" "$HOME/.docker/cli-plugins/docker-buildx"
  log "linked the buildx plugin into ~/.docker/cli-plugins ($(docker buildx version | head -1))"
}

if ! docker info >/dev/null 2>&1; then
  install_packages dockerd docker.io debootstrap debootstrap
  start_dockerd
else
  install_packages debootstrap debootstrap
fi
ensure_buildx
log "Docker Engine $(docker version --format '{{.Server.Version}}') is running"
