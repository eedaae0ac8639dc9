"""schemathesis over the gateway's OpenAPI document: property-based requests, every check.

It runs as a command (``schemathesis run``, from PyPI) against a running gateway, with a fixed
seed and a bounded number of examples per operation, and its JSON report is read back into
two numbers that must both be 0: responses that were server errors (5xx), and responses that
broke what the document promises (undocumented status codes or content types, bodies that do
not match their schema, valid input refused, invalid input accepted, a 405 without ``Allow``…).
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

SERVER_ERROR = "ST101"
"""schemathesis' code for a 5xx response."""


@dataclass(frozen=True)
class SchemaReport:
    generated: int
    server_errors: int
    mismatches: int
    failures: dict[str, int] = field(default_factory=dict)
    """Count of each kind of failure, by schemathesis code and title."""
    output: str = ""


async def fuzz_api(
    base_url: str, token: str, *, examples: int, seed: int, work_dir: Path
) -> SchemaReport:
    """Run every check over every operation with ``Authorization: Bearer <token>``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    report = work_dir / "schemathesis.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        cwd=work_dir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    output = out.decode(errors="replace")
    if not report.is_file():
        raise RuntimeError(f"schemathesis wrote no report (exit {process.returncode}):\n{output}")
    doc = json.loads(report.read_text())
    failures = {f"{f['code']} {f['title']}": int(f["count"]) for f in doc.get("failures", [])}
    errors = len(doc.get("errors", []))
    server = sum(n for name, n in failures.items() if name.startswith(SERVER_ERROR))
    return SchemaReport(
        generated=int(doc["test_cases"]["generated"]),
        server_errors=server,
        mismatches=sum(failures.values()) - server + errors,
        failures=failures,
        output=output,
    )
