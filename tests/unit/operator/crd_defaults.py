"""Specs as the API server hands them to the operator: defaulted from the CRDs in ``crds/``.

The CRDs are the one source of the specs' defaults; a unit test builds a spec with only what
it cares about and gets the rest exactly as a real cluster would fill it in (structural
schema defaulting: a default applies where a field is absent, inside objects that exist or
are defaulted themselves).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

CRDS = Path(__file__).resolve().parents[3] / "crds"


@cache
def _spec_schema(plural: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / f"{plural}.euglena.dev.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def _defaulted(value: Any, schema: dict[str, Any]) -> Any:
    if not isinstance(value, dict) or schema.get("type") != "object":
        return value
    result = dict(value)
    for name, prop in (schema.get("properties") or {}).items():
        if name not in result and "default" in prop:
            result[name] = prop["default"]
        if name in result:
            result[name] = _defaulted(result[name], prop)
    return result


def defaulted_spec(plural: str, spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` of an ``agenttasks`` or ``agentpools`` object with the CRD's defaults applied."""
    result: dict[str, Any] = _defaulted(spec, _spec_schema(plural))
    return result
