"""Chart tests: render charts/euglena with the helm binary of the local control plane's tools.

Fixtures:
    helm     session  path of the helm binary (``make k8s-tools`` puts it beside kubectl);
                      tests that need it skip with the reason when it is absent
    render   session  ``render(*values_files, set_values={...}, api_versions=[...])`` → objects;
                      raises ``HelmError`` with helm's message when helm refuses the values
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
import yaml
from charting import Obj, Render, helm_path, run_helm, template_args


@pytest.fixture(scope="session")
def helm() -> Path:
    path = helm_path()
    if path is None:
        pytest.skip(
            "helm is not installed: it comes with the local control plane's tools "
            "(`make k8s-tools`, which `make test` runs)"
        )
    return path


@pytest.fixture(scope="session")
def render(helm: Path) -> Render:
    cache: dict[tuple[str, ...], str] = {}

    def _render(
        *values_files: Path | str,
        set_values: Mapping[str, str] | None = None,
        api_versions: Iterable[str] = (),
    ) -> list[Obj]:
        args = tuple(template_args(values_files, set_values, api_versions))
        if args not in cache:
            cache[args] = run_helm(helm, *args)
        # Parsed afresh each time, so a test may change what it gets.
        return [doc for doc in yaml.safe_load_all(cache[args]) if doc]

    return _render
