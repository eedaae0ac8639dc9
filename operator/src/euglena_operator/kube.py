"""Kubernetes adapter for what kopf does not do for us: scale targets, pods, status patches.

The official client is synchronous; every call runs in a worker thread so the event loop (and
kopf's watches) never block. Credentials come from the same place kopf's login finds them:
the in-cluster ServiceAccount, else ``KUBECONFIG``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from euglena_operator.errors import KubernetesUnavailable, ScaleTargetMissing
from euglena_operator.ports import PodInfo, Scale
from euglena_operator.vocabulary import GROUP, VERSION, Kind

T = TypeVar("T")
_CONNECT_TIMEOUT = 10.0


def load_api_client() -> client.ApiClient:
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    configuration.connection_pool_maxsize = 16
    return client.ApiClient(configuration)


class KubeClient:
    def __init__(self, api_client: client.ApiClient, *, timeout: float = 30.0) -> None:
        self._api = api_client
        # (connect, read) for urllib3: an API server that stops answering fails the call
        # instead of holding a worker thread (and the loop awaiting it) forever.
        self._timeout = (min(timeout, _CONNECT_TIMEOUT), timeout)
        self._apps = client.AppsV1Api(api_client)
        self._core = client.CoreV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)

    async def read_scale(self, namespace: str, name: str) -> Scale:
        scale = self._plain(
            await self._call(self._apps.read_namespaced_deployment_scale, name, namespace)
        )
        if not scale:
            raise ScaleTargetMissing(f"deployment {namespace}/{name} not found")
        spec, status = scale.get("spec") or {}, scale.get("status") or {}
        return Scale(
            replicas=int(spec.get("replicas") or 0),
            observed=int(status.get("replicas") or 0),
            selector=str(status.get("selector") or ""),
        )

    async def patch_scale(self, namespace: str, name: str, replicas: int) -> None:
        body = {"spec": {"replicas": replicas}}
        result = await self._call(
            self._apps.patch_namespaced_deployment_scale, name, namespace, body
        )
        if result is None:
            raise ScaleTargetMissing(f"deployment {namespace}/{name} not found")

    async def list_pods(self, namespace: str, selector: str) -> list[PodInfo]:
        pods = self._plain(
            await self._call(self._core.list_namespaced_pod, namespace, label_selector=selector)
        )
        infos = []
        for pod in pods.get("items") or []:
            meta = pod.get("metadata") or {}
            infos.append(
                PodInfo(
                    name=str(meta.get("name")),
                    annotations=dict(meta.get("annotations") or {}),
                    terminating=meta.get("deletionTimestamp") is not None,
                )
            )
        return infos

    async def annotate_pod(self, namespace: str, name: str, annotations: Mapping[str, str]) -> None:
        body = {"metadata": {"annotations": dict(annotations)}}
        await self._call(self._core.patch_namespaced_pod, name, namespace, body)

    async def patch_status(
        self, kind: Kind, namespace: str, name: str, status: Mapping[str, Any]
    ) -> bool:
        """Merge-patch ``status``; False when the object is gone."""
        result = await self._call(
            self._custom.patch_namespaced_custom_object_status,
            GROUP,
            VERSION,
            namespace,
            kind.plural,
            name,
            {"status": dict(status)},
        )
        return result is not None

    async def delete_custom(self, kind: Kind, namespace: str, name: str, uid: str) -> None:
        body = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid))
        await self._call(
            self._custom.delete_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            kind.plural,
            name,
            body=body,
        )

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run ``fn`` in a thread; None on 404 (and on a 409 precondition miss)."""
        try:
            return await asyncio.to_thread(fn, *args, _request_timeout=self._timeout, **kwargs)
        except ApiException as exc:
            if exc.status in (404, 409):
                return None
            raise KubernetesUnavailable(f"{fn.__name__}: {exc.status} {exc.reason}") from exc
        except HTTPError as exc:
            raise KubernetesUnavailable(f"{fn.__name__}: {exc}") from exc

    def _plain(self, obj: object) -> dict[str, Any]:
        if obj is None:
            return {}
        data = self._api.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
        return data if isinstance(data, dict) else {}

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]
