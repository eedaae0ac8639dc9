"""metav1.Condition bookkeeping on plain status dicts, and the Events that go with status
changes (pure, no Kubernetes client)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from euglena_operator.vocabulary import EventType, Reason

Condition = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Transition:
    """A Kubernetes Event to post about an object."""

    type: EventType
    reason: Reason
    message: str


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    conditions: Sequence[Mapping[str, Any]] | None,
    *,
    type_: str,
    status: str,
    reason: str,
    message: str,
    generation: int | None = None,
    now: str | None = None,
) -> list[Condition]:
    """A new list with ``type_`` set; ``lastTransitionTime`` moves only when the status flips."""
    result: list[Condition] = []
    found = False
    for existing in conditions or ():
        if existing.get("type") != type_:
            result.append(dict(existing))
            continue
        found = True
        changed = existing.get("status") != status
        last = (now or now_rfc3339()) if changed else existing.get("lastTransitionTime")
        result.append(_condition(type_, status, reason, message, generation, last or now_rfc3339()))
    if not found:
        result.append(_condition(type_, status, reason, message, generation, now or now_rfc3339()))
    return result


def get_condition(
    conditions: Sequence[Mapping[str, Any]] | None, type_: str
) -> Mapping[str, Any] | None:
    for existing in conditions or ():
        if existing.get("type") == type_:
            return existing
    return None


def _condition(
    type_: str, status: str, reason: str, message: str, generation: int | None, when: str
) -> Condition:
    condition: Condition = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message[:32768],
        "lastTransitionTime": when,
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition
