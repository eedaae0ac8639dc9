# Local Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok),
# built from pinned Go modules into $(EUGLENA_CACHE)/k8s-<version>/bin. See docs/cluster.md.

UV ?= uv
CLUSTER_PYTHON ?= $(UV) run --frozen --quiet python
CLUSTER_NODES ?= 2
export CLUSTER_NODES

.PHONY: k8s-tools cluster-up cluster-down cluster-env

k8s-tools: ## Build (once, cached outside the repo) kube-apiserver, controller-manager, scheduler, etcd, kwok; fetch kubectl, helm
	@bash hack/k8s/build.sh

cluster-up: k8s-tools ## Start a detached local cluster (CLUSTER_NODES fake nodes, default 2); prints the kubeconfig path
	@$(CLUSTER_PYTHON) -m euglena_devkit.cluster up

cluster-down: ## Stop the cluster started by cluster-up
	@$(CLUSTER_PYTHON) -m euglena_devkit.cluster down

cluster-env: ## Print shell exports (KUBECONFIG, PATH with kubectl and helm): eval "$(make -s cluster-env)"
	@$(CLUSTER_PYTHON) -m euglena_devkit.cluster env
