#!/usr/bin/env bash
# Installs the local services the tests and `make run` start: Redis, RabbitMQ, PostgreSQL and
# Prometheus (promtool ships with it), plus Chromium (browser tests), wrk (benchmarks), the
# compilers the local model server is built with (cmake, g++) and libseccomp's headers (runc for
# the kind node, hack/kind/build.sh), from the Debian/Ubuntu archive. Docker Engine is installed
# by hack/docker/up.sh, only for the kind tier.
#
# Idempotent and silent when everything is present (a few stat calls, no apt). When something
# is missing it runs `apt-get update` once and installs only the missing packages, with a
# temporary policy-rc.d so the packages' system services are not started: the devkit
# (euglena_devkit.services) runs its own instances on free loopback ports.
set -euo pipefail

missing=()

have_cmd() { command -v "$1" >/dev/null 2>&1; }

have_postgres_server() {
  local bin
  for bin in /usr/lib/postgresql/*/bin/postgres; do
    [[ -x "$bin" ]] && return 0
  done
  have_cmd postgres && have_cmd initdb
}

have_cmd redis-server || missing+=(redis-server)
{ [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || have_cmd rabbitmq-server; } ||
  missing+=(rabbitmq-server)
have_postgres_server || missing+=(postgresql)
{ have_cmd prometheus && have_cmd promtool; } || missing+=(prometheus)
# Browser tests drive Debian's Chromium; benchmarks load the gateway with wrk.
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
have_cmd wrk || missing+=(wrk)
# The local model server (hack/model/build.sh) compiles llama.cpp.
have_cmd cmake || missing+=(cmake)
have_cmd g++ || missing+=(g++)
# runc for the kind node (hack/kind/build.sh) links libseccomp.
[[ -f /usr/include/seccomp.h ]] || missing+=(libseccomp-dev)

((${#missing[@]} == 0)) && exit 0

if ! have_cmd apt-get; then
  echo "install-deps: missing ${missing[*]}; this script installs them with apt-get, which is" \
    "not available here. Install these (Debian package names) with your package manager:" \
    "${missing[*]}" >&2
  exit 1
fi

sudo=()
if ((EUID != 0)); then
  if have_cmd sudo; then
    sudo=(sudo)
  else
    echo "install-deps: missing ${missing[*]}; run as root (or install sudo): " \
      "apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
  if ((created_policy)); then
    "${sudo[@]}" rm -f "$policy"
  fi
}
trap cleanup EXIT
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\n# Written by hack/install-deps.sh while it installs packages.\nexit 101\n' |
    "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 0755 "$policy"
  created_policy=1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
