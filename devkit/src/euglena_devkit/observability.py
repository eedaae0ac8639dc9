"""The shipped Grafana dashboards' queries, and whether a Prometheus answer shows data: shared by
the observability tier (local processes) and the kind tier (real pods)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from euglena_devkit.cluster.tools import REPO_ROOT

DASHBOARDS = REPO_ROOT / "charts" / "euglena" / "dashboards"
# Grafana picks $__rate_interval from the scrape interval; a window of a few minutes shows what a
# user would see right after the traffic of a test run.
RATE_WINDOW = "5m"


def panels(directory: Path = DASHBOARDS) -> list[tuple[str, str, list[str]]]:
    """(dashboard title, panel title, PromQL expressions) for every panel with queries."""
    out = []
    for path in sorted(directory.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            exprs = [t["expr"] for t in panel.get("targets", [])]
            if exprs:
                out.append((dashboard["title"], panel["title"], exprs))
    return out


def query_of(expr: str) -> str:
    """A panel expression as Prometheus takes it (Grafana's variables filled in)."""
    return expr.replace("$__rate_interval", RATE_WINDOW)


def has_data(result: list[dict[str, Any]]) -> bool:
    """At least one series with a real number (NaN is what Grafana shows as no value)."""
    return any(not math.isnan(float(series["value"][1])) for series in result)
