"""Polling until a condition holds: the one helper for tests, benchmarks and the devkit.

``check`` is called every ``interval`` seconds until ``holds(value)`` (by default: the value is
truthy); that value is returned. After ``timeout`` seconds :class:`TimedOut` says what was
awaited and the last value (or the last error among ``ignoring``) seen. Two spellings of the
same loop::

    pods = eventually(lambda: ready_pods(), 60, "3 ready pods")              # blocks
    task = await until(lambda: store.get(cid), 10, "completed",              # awaits; check
                       holds=lambda t: t is not None and t.is_terminal)      # may be async
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class TimedOut(AssertionError):
    """The condition did not hold in time (an AssertionError: a failed expectation in tests)."""


class _Poll:
    def __init__(
        self, timeout: float, what: str, holds: Callable[[Any], bool], ignoring: tuple[type, ...]
    ) -> None:
        self._deadline = time.monotonic() + timeout
        self._timeout = timeout
        self._what = what
        self._holds = holds
        self._ignoring = ignoring
        self._last: str = "nothing yet"

    def done(self, value: Any) -> bool:
        self._last = f"last value: {value!r}"
        return self._holds(value)

    def failed(self, exc: BaseException) -> None:
        if not isinstance(exc, self._ignoring):
            raise exc
        self._last = f"last error: {exc!r}"

    def expire(self) -> None:
        if time.monotonic() > self._deadline:
            raise TimedOut(
                f"timed out after {self._timeout:g}s waiting for {self._what}; {self._last}"
            )


def eventually(
    check: Callable[[], T],
    timeout: float = 30.0,
    what: str = "the condition",
    *,
    holds: Callable[[T], bool] = bool,
    interval: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``check`` until ``holds`` its value; return it. Blocks the calling thread."""
    poll = _Poll(timeout, what, holds, ignoring)
    while True:
        try:
            value = check()
            if poll.done(value):
                return value
        except Exception as exc:
            poll.failed(exc)
        poll.expire()
        time.sleep(interval)


async def until(
    check: Callable[[], T | Awaitable[T]],
    timeout: float = 30.0,
    what: str = "the condition",
    *,
    holds: Callable[[T], bool] = bool,
    interval: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """:func:`eventually` for a running event loop; ``check`` may be a coroutine function."""
    poll = _Poll(timeout, what, holds, ignoring)
    while True:
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
            if poll.done(value):
                return value
        except Exception as exc:
            poll.failed(exc)
        poll.expire()
        await asyncio.sleep(interval)
