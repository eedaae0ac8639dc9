#!/usr/bin/env bash
# Build kind and the pieces of a kind node image into a cache outside the repo.
#
#   hack/kind/build.sh            build (or confirm) the binaries for the pinned versions
#   hack/kind/build.sh --bin-dir  print the bin directory
#   hack/kind/build.sh --check    exit 0 when everything is built, 1 otherwise
#
# Versions come from hack/kind/versions.env and hack/k8s/versions.env. Output goes to
# ${EUGLENA_CACHE:-$HOME/.cache/euglena}/kind-<KIND_VERSION>-k8s-<KUBERNETES_VERSION>/bin:
#   kind                                          (hack/kind/kind)
#   kubelet kubeadm kubectl kube-proxy            (hack/k8s/kube: the control plane's module)
#   containerd containerd-shim-runc-v2 ctr        (hack/kind/containerd)
#   runc                                          (hack/kind/runc; cgo with Debian's libseccomp-dev)
#   crictl                                        (hack/kind/crictl)
#   cni/host-local cni/loopback cni/ptp cni/portmap (hack/kind/cni)
#   coredns                                       (hack/kind/coredns)
#   kube-router                                   (hack/kind/kube-router: the NetworkPolicy
#                                                  controller of the e2e cluster)
#   local-path-provisioner                        (hack/kind/local-path: the node's StorageClass)
#   skaffold                                      (hack/kind/skaffold: `skaffold run` on kind)
#   pause                                         (pause.c from the Kubernetes module, gcc)
#   runc-dropcaps                                 (hack/runc-dropcaps)
#   docker-buildx                                 (hack/kind/buildx: `docker build` with BuildKit
#                                                  for Docker clients that lack the plugin)
# A stamp records the inputs; a rebuild happens only when they change. Go's module and build
# caches are shared with hack/k8s/build.sh, so the node binaries reuse the control plane's
# compiled packages.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
hack="$(dirname "$here")"
set -a
# shellcheck source=../k8s/versions.env
. "$hack/k8s/versions.env"
# shellcheck source=versions.env
. "$here/versions.env"
set +a

cache_root="${EUGLENA_CACHE:-$HOME/.cache/euglena}"
dest="$cache_root/kind-$KIND_VERSION-k8s-$KUBERNETES_VERSION"
bin="$dest/bin"
stamp="$dest/stamp"
tools=(kind kubelet kubeadm kubectl kube-proxy containerd containerd-shim-runc-v2 ctr runc crictl
  cni/host-local cni/loopback cni/ptp cni/portmap coredns kube-router local-path-provisioner pause runc-dropcaps docker-buildx skaffold)

want_stamp() {
  {
    grep -hv '^#' "$hack/k8s/versions.env" "$here/versions.env"
    (cd "$hack" && sha256sum k8s/kube/go.mod k8s/kube/go.sum kind/*/go.mod kind/*/go.sum \
      kind/coredns/main.go runc-dropcaps/go.mod runc-dropcaps/main.go kind/build.sh lib/gobuild.sh)
  } | sha256sum | cut -d' ' -f1
}

is_built() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$(want_stamp)" ]] || return 1
  local t
  for t in "${tools[@]}"; do [[ -x "$bin/$t" ]] || return 1; done
}

case "${1:-}" in
  --bin-dir) echo "$bin"; exit 0 ;;
  --check) is_built; exit $? ;;
  "") ;;
  *) echo "usage: $0 [--bin-dir|--check]" >&2; exit 2 ;;
esac

LOG_PREFIX=kind-tools
# shellcheck source=../lib/gobuild.sh
. "$hack/lib/gobuild.sh"

up_to_date() {
  is_built || return 1
  log "up to date: kind $KIND_VERSION, node binaries for Kubernetes $KUBERNETES_VERSION in $bin"
}
up_to_date && exit 0

mkdir -p "$dest"
exec 9>"$dest/build.lock"
if ! flock -n 9; then
  log "another build of $dest is running; waiting for it"
  flock 9
  up_to_date && exit 0
fi

find_go
started=$SECONDS
staging="$dest/bin.partial"
BUILD_LOG="$dest/build.log"
rm -rf "$staging"
mkdir -p "$staging/cni"
: >"$BUILD_LOG"
log "building kind $KIND_VERSION and the node pieces for Kubernetes $KUBERNETES_VERSION into $bin" \
  "(cold: about 10 min on 2 idle cores after the control plane is built)"

go_build "kind $KIND_VERSION" "$here/kind" "-s -w" sigs.k8s.io/kind

build_date="$(cd "$hack/k8s/kube" && "$GO" list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
minor="${KUBERNETES_VERSION#v1.}"
minor="${minor%%.*}"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
go_build "kubelet, kubeadm, kubectl, kube-proxy $KUBERNETES_VERSION" "$hack/k8s/kube" "$kube_ldflags" \
  k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubeadm \
  k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kube-proxy

containerd_ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
containerd_ldflags+=" -X github.com/containerd/containerd/v2/version.Package=github.com/containerd/containerd/v2"
go_build "containerd $CONTAINERD_VERSION" "$here/containerd" "$containerd_ldflags" \
  github.com/containerd/containerd/v2/cmd/containerd \
  github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
  github.com/containerd/containerd/v2/cmd/ctr

if [[ ! -f /usr/include/seccomp.h ]]; then
  log "runc needs libseccomp's headers: install the Debian package libseccomp-dev"
  exit 3
fi
CGO_ENABLED=1 go_build "runc $RUNC_VERSION" "$here/runc" "-s -w -X main.version=${RUNC_VERSION#v}" \
  -tags "seccomp urfave_cli_no_docs" github.com/opencontainers/runc

go_build "crictl $CRICTL_VERSION" "$here/crictl" "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
  sigs.k8s.io/cri-tools/cmd/crictl

staging="$staging/cni" go_build "CNI plugins $CNI_PLUGINS_VERSION" "$here/cni" \
  "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
  github.com/containernetworking/plugins/plugins/ipam/host-local \
  github.com/containernetworking/plugins/plugins/main/loopback \
  github.com/containernetworking/plugins/plugins/main/ptp \
  github.com/containernetworking/plugins/plugins/meta/portmap

go_build "CoreDNS $COREDNS_VERSION" "$here/coredns" "-s -w" .

go_build "kube-router $KUBE_ROUTER_VERSION" "$here/kube-router" \
  "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION" \
  github.com/cloudnativelabs/kube-router/v2/cmd/kube-router

go_build "local-path-provisioner $LOCAL_PATH_VERSION" "$here/local-path" \
  "-s -w -X main.VERSION=$LOCAL_PATH_VERSION" github.com/rancher/local-path-provisioner

go_build "runc-dropcaps" "$hack/runc-dropcaps" "-s -w" .

go_build "buildx $BUILDX_VERSION" "$here/buildx" \
  "-s -w -X github.com/docker/buildx/version.Version=$BUILDX_VERSION -X github.com/docker/buildx/version.Package=github.com/docker/buildx" \
  github.com/docker/buildx/cmd/buildx
mv "$staging/buildx" "$staging/docker-buildx"

# skaffold's own go.sum entry is not in the Go checksum database the proxy serves; the
# committed go.sum pins it, so the build checks the download against that.
GONOSUMDB=github.com/GoogleContainerTools/skaffold go_build "skaffold $SKAFFOLD_VERSION" \
  "$here/skaffold" \
  "-s -w -X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$SKAFFOLD_VERSION" \
  github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold

log "compiling pause from Kubernetes $KUBERNETES_VERSION's build/pause/linux/pause.c"
kube_dir="$(cd "$hack/k8s/kube" && "$GO" list -m -f '{{.Dir}}' k8s.io/kubernetes)"
CC="${CC:-cc}"
"$CC" -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-euglena" -o "$staging/pause" \
  "$kube_dir/build/pause/linux/pause.c" 2>>"$BUILD_LOG" || {
  tail -n 20 "$BUILD_LOG" >&2
  log "compiling pause failed (a C compiler and static libc, e.g. Debian's gcc and libc6-dev, are needed)"
  exit 1
}

for t in "${tools[@]}"; do
  [[ -x "$staging/$t" ]] || { log "missing $t after build"; exit 5; }
done
rm -rf "$bin"
mv "$staging" "$bin"
want_stamp >"$stamp"
log "done in $((SECONDS - started))s: $bin ($(du -sh "$bin" | cut -f1))"
