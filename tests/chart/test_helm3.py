"""The chart with Helm 3 as well as Helm 4: lint, every ci scenario rendering the same objects,
and the schema refusing bad values. Helm 3 comes from `make helm3` (built from its Go module
into the cache); without it these tests skip with that instruction."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from charting import CHART, CI_VALUES, HelmError, run_helm, template_args

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def helm3() -> Path:
    cache = Path(os.environ.get("EUGLENA_CACHE", Path.home() / ".cache" / "euglena"))
    found = sorted(cache.glob("helm3-v3.*/helm"))
    if not found:
        pytest.skip("Helm 3 is not built: run `make helm3` to check the chart with Helm 3 too")
    path = found[-1]
    assert run_helm(path, "version", "--short").startswith("v3.")
    return path


def _identities(helm: Path, values: Path) -> set[tuple[str, str]]:
    out = run_helm(helm, *template_args([values]))
    return {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(out) if d}


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_helm3_lints_and_renders_what_helm4_renders(helm3: Path, helm: Path, values: Path) -> None:
    out = run_helm(helm3, "lint", str(CHART), "--strict", "-f", str(values))
    assert "0 chart(s) failed" in out
    assert _identities(helm3, values) == _identities(helm, values)


def test_helm3_refuses_bad_values_with_the_path(helm3: Path) -> None:
    with pytest.raises(HelmError) as refused:
        run_helm(helm3, *template_args([], {"agent.concurrency": "0"}))
    assert "agent" in str(refused.value) and "concurrency" in str(refused.value)
