"""The cluster tier's own control plane behaves like a real cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from euglena_devkit.cluster.testing import K8sCluster
from euglena_devkit.waiting import eventually

pytestmark = pytest.mark.cluster

VERSIONS = Path(__file__).resolve().parents[2] / "hack" / "k8s" / "versions.env"


def _pinned(key: str) -> str:
    for line in VERSIONS.read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1].strip()
    raise KeyError(key)


def test_kubectl_sees_the_pinned_version_and_ready_fake_nodes(k8s_cluster: K8sCluster) -> None:
    version = json.loads(k8s_cluster.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == _pinned("KUBERNETES_VERSION")

    nodes = k8s_cluster.kubectl("get", "nodes", "--no-headers").stdout.splitlines()
    statuses = {line.split()[0]: line.split()[1] for line in nodes}
    assert statuses == dict.fromkeys(k8s_cluster.node_names, "Ready")


def test_deployment_gets_running_pods_on_fake_nodes(
    k8s_cluster: K8sCluster, k8s_api: Any, k8s_namespace: str
) -> None:
    labels = {"app": "web"}
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=3,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="web", image="example.invalid/web:1")]
                ),
            ),
        ),
    )
    apps = client.AppsV1Api(k8s_api)
    core = client.CoreV1Api(k8s_api)
    apps.create_namespaced_deployment(k8s_namespace, deployment)

    def available() -> int | None:
        status = apps.read_namespaced_deployment_status("web", k8s_namespace).status
        return status.available_replicas if status.available_replicas == 3 else None

    eventually(available, 60, "3 available replicas of deployment web")
    pods = core.list_namespaced_pod(k8s_namespace, label_selector="app=web").items
    assert [pod.status.phase for pod in pods] == ["Running"] * 3
    assert {pod.spec.node_name for pod in pods} <= set(k8s_cluster.node_names)
    assert all(pod.status.pod_ip for pod in pods)


_WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.test.euglena.dev"},
    "spec": {
        "group": "test.euglena.dev",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "self.minReplicas <= self.maxReplicas",
                                        "message": "minReplicas must not exceed maxReplicas",
                                    },
                                    {
                                        "rule": "self.mode == oldSelf.mode",
                                        "message": "mode is immutable",
                                    },
                                ],
                                "properties": {
                                    "minReplicas": {"type": "integer"},
                                    "maxReplicas": {"type": "integer"},
                                    "mode": {"type": "string"},
                                },
                                "required": ["minReplicas", "maxReplicas", "mode"],
                            }
                        },
                    }
                },
            }
        ],
    },
}


def _widget(name: str, min_replicas: int, max_replicas: int, mode: str = "fast") -> dict[str, Any]:
    return {
        "apiVersion": "test.euglena.dev/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"minReplicas": min_replicas, "maxReplicas": max_replicas, "mode": mode},
    }


def test_crd_cel_validation_rejects_bad_objects_with_its_message(
    k8s_api: Any, k8s_namespace: str
) -> None:
    extensions = client.ApiextensionsV1Api(k8s_api)
    extensions.create_custom_resource_definition(_WIDGET_CRD)

    def established() -> bool:
        crd = extensions.read_custom_resource_definition(_WIDGET_CRD["metadata"]["name"])
        conditions = crd.status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    eventually(established, 30, "CRD widgets.test.euglena.dev Established")
    custom = client.CustomObjectsApi(k8s_api)
    target = ("test.euglena.dev", "v1", k8s_namespace, "widgets")

    with pytest.raises(ApiException) as rejected:
        custom.create_namespaced_custom_object(*target, _widget("bad", 5, 2))
    assert rejected.value.status == 422
    assert "minReplicas must not exceed maxReplicas" in json.loads(rejected.value.body)["message"]

    custom.create_namespaced_custom_object(*target, _widget("good", 1, 3))
    with pytest.raises(ApiException) as immutable:
        custom.patch_namespaced_custom_object(*target, "good", {"spec": {"mode": "slow"}})
    assert immutable.value.status == 422
    assert "mode is immutable" in json.loads(immutable.value.body)["message"]
    stored = custom.get_namespaced_custom_object(*target, "good")
    assert stored["spec"]["mode"] == "fast"


def test_token_request_identity_is_limited_by_its_role(
    k8s_cluster: K8sCluster, k8s_api: Any, k8s_namespace: str
) -> None:
    core = client.CoreV1Api(k8s_api)
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    core.create_namespaced_service_account(
        k8s_namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="reader"))
    )
    rbac.create_namespaced_role(
        k8s_namespace,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="configmap-reader"),
            rules=[
                client.V1PolicyRule(
                    api_groups=[""], resources=["configmaps"], verbs=["get", "list"]
                )
            ],
        ),
    )
    rbac.create_namespaced_role_binding(
        k8s_namespace,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="reader"),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="Role", name="configmap-reader"
            ),
            subjects=[
                client.RbacV1Subject(kind="ServiceAccount", name="reader", namespace=k8s_namespace)
            ],
        ),
    )
    issued = core.create_namespaced_service_account_token(
        "reader",
        k8s_namespace,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
        ),
    )
    token = issued.status.token
    username = f"system:serviceaccount:{k8s_namespace}:reader"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == username

    configuration = client.Configuration(host=k8s_cluster.server)
    configuration.ssl_ca_cert = str(k8s_cluster.ca_file)
    configuration.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(configuration) as as_reader:
        review = client.AuthenticationV1Api(as_reader).create_self_subject_review(
            client.V1SelfSubjectReview()
        )
        assert review.status.user_info.username == username

        reader = client.CoreV1Api(as_reader)

        # The controller-manager publishes the cluster CA into every namespace.
        def root_ca_published() -> bool:
            listed = reader.list_namespaced_config_map(k8s_namespace).items
            return "kube-root-ca.crt" in {cm.metadata.name for cm in listed}

        eventually(root_ca_published, 30, "configmap kube-root-ca.crt readable with the token")

        with pytest.raises(ApiException) as forbidden:
            reader.create_namespaced_config_map(
                k8s_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="nope"))
            )
        assert forbidden.value.status == 403
        message = json.loads(forbidden.value.body)["message"]
        assert f'User "{username}" cannot create resource "configmaps"' in message

        with pytest.raises(ApiException) as other_namespace:
            reader.list_namespaced_config_map("default")
        assert other_namespace.value.status == 403
