"""skaffold.yaml, checked as far as a machine without Docker or skaffold allows: it parses, its
artifacts name the root Dockerfile's service targets, the chart exists, every templated value
lands on a real chart value, and the chart renders with the values skaffold would pass
(placeholder tags for the built images). Building the images and `skaffold dev` itself need
Docker; tests/e2e_kind covers those."""

from __future__ import annotations

import re
from typing import Any

import pytest
from charting import REPO, Render, load_yaml, one, pod_spec

pytestmark = pytest.mark.unit

SKAFFOLD = REPO / "skaffold.yaml"


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(SKAFFOLD)
    return data


def _release(config: dict[str, Any]) -> dict[str, Any]:
    releases = config["deploy"]["helm"]["releases"]
    assert len(releases) == 1
    release: dict[str, Any] = releases[0]
    return release


def test_builds_the_three_images_from_their_targets(config: dict[str, Any]) -> None:
    assert config["apiVersion"].startswith("skaffold/v4")
    assert config["kind"] == "Config"
    artifacts = {a["image"]: a for a in config["build"]["artifacts"]}
    assert sorted(artifacts) == ["euglena-agent", "euglena-gateway", "euglena-operator"]
    stages = re.findall(r"^FROM \S+ AS (\S+)$", (REPO / "Dockerfile").read_text(), re.M | re.I)
    services = {"gateway", "agent", "operator"}
    for image, artifact in artifacts.items():
        assert (REPO / artifact["context"]).resolve() == REPO, image
        command = artifact["custom"]["buildCommand"].split()
        assert command[:2] == ["bash", "hack/skaffold/build.sh"], image
        target = command[2]
        assert target == image.removeprefix("euglena-") and target in stages, image
        # Each image's tag follows its own inputs only: its service, the core, the manifests.
        paths = set(artifact["custom"]["dependencies"]["paths"])
        assert {"Dockerfile", "uv.lock", "core", target} <= paths, image
        assert not (services - {target}) & paths, f"{image} depends on another service"
        assert all((REPO / p).exists() for p in paths), image
    assert "frontend" in artifacts["euglena-gateway"]["custom"]["dependencies"]["paths"]


def test_deploys_the_chart_with_the_built_images(config: dict[str, Any]) -> None:
    release = _release(config)
    assert (REPO / release["chartPath"] / "Chart.yaml").is_file()
    artifacts = {a["image"] for a in config["build"]["artifacts"]}
    used = set()
    for key, template in release["setValueTemplates"].items():
        for name in re.findall(r"\{\{\.IMAGE_(?:REPO|TAG)_(\w+)\}\}", template):
            used.add(name.replace("_", "-"))
        assert re.fullmatch(r"(gateway|agent|operator)\.image\.(repository|tag)", key), key
    assert used == artifacts


def test_the_chart_renders_with_skaffolds_values(config: dict[str, Any], render: Render) -> None:
    release = _release(config)
    profiles = {p["name"]: p for p in config["profiles"]}
    kind = profiles["kind"]
    assert kind["activation"] == [{"kubeContext": "kind-.*"}]
    assert kind["build"]["local"]["push"] is False
    patches = {p["path"].rsplit("/", 1)[-1]: p["value"] for p in kind["patches"]}
    assert patches["secrets.databaseUrl"] == "{{.EUGLENA_DATABASE_URL}}"
    local = profiles["local-images"]
    assert local["activation"] == [{"env": "EUGLENA_E2E_IMAGES=local", "kubeContext": "kind-.*"}]
    (added,) = local["patches"]
    assert added["path"] == "/deploy/helm/releases/0/valuesFiles/-"
    values_files = [REPO / f for f in [*patches["valuesFiles"], added["value"]]]
    assert all(f.is_file() for f in values_files)
    values = {
        key: re.sub(r"\{\{\.IMAGE_REPO_(\w+)\}\}", lambda m: m[1].replace("_", "-"), template)
        for key, template in release["setValueTemplates"].items()
    }
    values = {
        key: value.replace("{{.IMAGE_TAG_", "t").replace("}}", "") for key, value in values.items()
    }
    values.update(patches["setValues"])
    values["secrets.databaseUrl"] = "postgresql://postgres@db:5432/postgres"
    objects = render(*values_files, set_values=values)
    for component in ("gateway", "agent", "operator"):
        image = pod_spec(one(objects, "Deployment", component))["containers"][0]["image"]
        assert image.startswith(f"euglena-{component}:t"), image
    service = one(objects, "Service", "gateway")["metadata"]["name"]
    assert config["portForward"][0]["resourceName"] == service
    assert config["portForward"][0]["namespace"] == release["namespace"]
