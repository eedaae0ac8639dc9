"""Use-cases: what the operator does, independent of kopf (handlers call these)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class EventSink(Protocol):
    """Posts a Kubernetes Event about an object (kopf.event at the composition root)."""

    def __call__(self, ref: Mapping[str, Any], *, type: str, reason: str, message: str) -> None: ...
