"""What the operator knows about each AgentTask, fed by watch events (an in-memory index).

One batched pass over this index replaces a per-object poll: the sync loop reads every
non-terminal task from the gateway in ``ids=`` batches of 100.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from euglena_operator.vocabulary import API_VERSION, Kind, Phase, is_terminal_phase


@dataclass(slots=True)
class TaskEntry:
    namespace: str
    name: str
    uid: str
    generation: int | None
    created: float
    deadline_seconds: int | None
    ttl_seconds: int | None
    deleting: bool
    status: dict[str, Any] = field(default_factory=dict)
    next_read: float = 0.0
    read_interval: float = 0.0

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name

    @property
    def correlation_id(self) -> str | None:
        value = self.status.get("correlationId")
        return str(value) if value else None

    @property
    def terminal(self) -> bool:
        return is_terminal_phase(self.status.get("phase"))

    def ref(self) -> dict[str, Any]:
        """An object reference good enough for posting Events."""
        return {
            "apiVersion": API_VERSION,
            "kind": Kind.AGENT_TASK.value,
            "metadata": {"namespace": self.namespace, "name": self.name, "uid": self.uid},
        }


class TaskRegistry:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], TaskEntry] = {}

    def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata", {})
        key = (meta.get("namespace", ""), meta.get("name", ""))
        if event_type == "DELETED":
            self._entries.pop(key, None)
            return
        spec = body.get("spec", {})
        previous = self._entries.get(key)
        entry = TaskEntry(
            namespace=key[0],
            name=key[1],
            uid=meta.get("uid", ""),
            generation=meta.get("generation"),
            created=parse_time(meta.get("creationTimestamp")),
            deadline_seconds=spec.get("activeDeadlineSeconds"),
            ttl_seconds=spec.get("ttlSecondsAfterFinished"),
            deleting=meta.get("deletionTimestamp") is not None,
            status=dict(body.get("status") or {}),
        )
        if previous is not None and previous.uid == entry.uid:
            entry.next_read, entry.read_interval = previous.next_read, previous.read_interval
        self._entries[key] = entry

    def update_status(self, key: tuple[str, str], patch: Mapping[str, Any]) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            entry.status.update(patch)

    def __iter__(self) -> Iterator[TaskEntry]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def phases(self) -> Counter[str]:
        return Counter(str(e.status.get("phase", Phase.PENDING)) for e in self._entries.values())


def parse_time(value: object) -> float:
    if not isinstance(value, str) or not value:
        return 0.0
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
