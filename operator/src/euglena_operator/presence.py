"""Workers' busy/idle heartbeats in Redis, keyed by the pod they run in."""

from __future__ import annotations

import json
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from euglena.keys import worker_status_key

log = logging.getLogger(__name__)


class WorkerPresence:
    def __init__(self, redis: Redis, set_key: str) -> None:
        self._redis = redis
        self._set_key = set_key

    async def states_by_pod(self) -> dict[str, str]:
        """``{pod name: "busy" | "idle"}`` for every worker with a live heartbeat.

        A pod that runs several workers counts as busy when any of them is.
        """
        try:
            members = await self._redis.smembers(self._set_key)
            ids = sorted(_text(member) for member in members)
            raws = await self._redis.mget([worker_status_key(i) for i in ids]) if ids else []
        except RedisError as exc:
            log.warning("worker heartbeats unavailable, deletion costs left as they are: %s", exc)
            return {}
        states: dict[str, str] = {}
        for raw in raws:
            if not raw:
                continue
            try:
                doc = json.loads(raw)
            except ValueError:
                continue
            pod, state = doc.get("pod"), doc.get("state")
            if not pod or state not in ("busy", "idle"):
                continue
            if states.get(pod) != "busy":
                states[pod] = state
        return states

    async def aclose(self) -> None:
        await self._redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
