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
    """The deadline and the verdict on each attempt, shared by both spellings."""

    def __init__(
        self, timeout: float, what: str, holds: Callable[[Any], bool], ignoring: tuple[type, ...]
    ) -> None:
        self._deadline = time.monotonic() + timeout
        self._timeout = timeout
        self._what = what
        self._holds = holds
        self._ignoring = ignoring
        self._last = "nothing yet"
        self.value: Any = None

    def settled(self, attempt: tuple[Any, Exception | None]) -> bool:
        """Whether ``attempt`` (a value, or the error ``check`` raised) ends the wait."""
        value, error = attempt
        if error is not None:
            if not isinstance(error, self._ignoring):
                raise error
            self._last = f"last error: {error!r}"
        else:
            self._last = f"last value: {value!r}"
            if self._holds(value):
                self.value = value
                return True
        if time.monotonic() > self._deadline:
            raise TimedOut(
                f"timed out after {self._timeout:g}s waiting for {self._what}; {self._last}"
            )
        return False


def eventually(
    check: Callable[[], T],
    timeout: float = 30.0,
    what: str = "the condition",
    *,
    holds: Callable[[T], bool] = bool,
    interval: float = 0.1,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``check`` until ``holds`` its value; return it. Blocks the calling thread."""
    poll = _Poll(timeout, what, holds, ignoring)
    while not poll.settled(_attempt(check)):
        time.sleep(interval)
    result: T = poll.value
    return result


async def until(
    check: Callable[[], T | Awaitable[T]],
    timeout: float = 30.0,
    what: str = "the condition",
    *,
    holds: Callable[[T], bool] = bool,
    interval: float = 0.1,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """:func:`eventually` for a running event loop; ``check`` may be a coroutine function."""
    poll = _Poll(timeout, what, holds, ignoring)
    while not poll.settled(await _attempt_async(check)):
        await asyncio.sleep(interval)
    result: T = poll.value
    return result


def _attempt(check: Callable[[], Any]) -> tuple[Any, Exception | None]:
    try:
        return check(), None
    except Exception as exc:
        return None, exc


async def _attempt_async(check: Callable[[], Any]) -> tuple[Any, Exception | None]:
    try:
        value = check()
        return (await value if inspect.isawaitable(value) else value), None
    except Exception as exc:
        return None, exc
