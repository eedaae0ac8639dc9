"""A local Prometheus scraping given targets, with given rule files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from euglena_devkit.services.base import LocalServer
from euglena_devkit.services.errors import ServiceError
from euglena_devkit.services.procs import HOST, find_binary, free_port


@dataclass(frozen=True)
class ScrapeTarget:
    job: str
    address: str
    metrics_path: str = "/metrics"


class PrometheusServer(LocalServer):
    name = "prometheus"
    startup_timeout = 60.0

    def __init__(
        self,
        targets: Sequence[ScrapeTarget] = (),
        rule_files: Sequence[str | Path] = (),
        base_dir: str | Path | None = None,
        *,
        scrape_interval: str = "1s",
    ) -> None:
        self._binary = find_binary("prometheus", package="prometheus")
        super().__init__(base_dir)
        self.port = free_port()
        self.targets = list(targets)
        self.rule_files = [Path(p).resolve() for p in rule_files]
        self.scrape_interval = scrape_interval

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.base_dir / "prometheus.yml"

    def write_config(self) -> None:
        jobs: dict[tuple[str, str], list[str]] = {}
        for target in self.targets:
            jobs.setdefault((target.job, target.metrics_path), []).append(target.address)
        config = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.scrape_interval,
            },
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [
                {"job_name": job, "metrics_path": path, "static_configs": [{"targets": addrs}]}
                for (job, path), addrs in jobs.items()
            ],
        }
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def _command(self) -> tuple[list[str], dict[str, str]]:
        self.write_config()
        return [
            self._binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.base_dir / 'data'}",
            f"--web.listen-address={HOST}:{self.port}",
            "--web.enable-lifecycle",
        ], dict(os.environ)

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def reload(self) -> None:
        """Rewrite the config from ``targets``/``rule_files`` and make Prometheus re-read it."""
        self.write_config()
        httpx.post(f"{self.url}/-/reload", timeout=10.0).raise_for_status()

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10.0)
        body = response.json()
        if body.get("status") != "success":
            raise ServiceError(f"query {expr!r} failed: {body.get('error', response.text)}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result
