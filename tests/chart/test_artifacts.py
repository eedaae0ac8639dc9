"""Files the chart ships that come from elsewhere: CRDs, dashboards, alert rules."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from charting import CHART, REPO, Render, one

pytestmark = pytest.mark.unit


def test_chart_crds_are_exact_copies_of_the_canonical_crds() -> None:
    canonical = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    shipped = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert canonical, "no CRDs in crds/"
    assert sorted(shipped) == sorted(canonical), "run `make sync-chart-crds`"
    stale = [name for name in canonical if shipped[name] != canonical[name]]
    assert not stale, f"differ from crds/: {stale}; run `make sync-chart-crds`"


def test_generated_dashboards_and_rules_have_no_drift() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "hack" / "dashboards" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is missing: install Debian's prometheus package (make deps)")
    return path


@pytest.fixture
def rendered_rules(render: Render, tmp_path: Path) -> Path:
    rule = one(render(api_versions=["monitoring.coreos.com/v1"]), "PrometheusRule")
    path = tmp_path / "rendered-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return path


def test_promtool_accepts_the_rendered_rules(rendered_rules: Path) -> None:
    proc = subprocess.run(
        [_promtool(), "check", "rules", str(rendered_rules)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 5 rules found" in proc.stdout


def test_alerts_fire_when_they_should(rendered_rules: Path) -> None:
    tests = rendered_rules.parent / "alerts_test.yaml"
    shutil.copy(Path(__file__).with_name("alerts_test.yaml"), tests)
    proc = subprocess.run(
        [_promtool(), "test", "rules", str(tests)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
