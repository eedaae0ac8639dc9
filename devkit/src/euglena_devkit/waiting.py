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
from typing import Any, TypedDict, TypeVar, Unpack

T = TypeVar("T")


class TimedOut(AssertionError):
    """The condition did not hold in time (an AssertionError: a failed expectation in tests)."""


class Options(TypedDict, total=False):
    """How both spellings poll."""

    holds: Callable[[Any], bool]
    """Whether a value ends the wait (default: it is truthy)."""
    interval: float
    """Seconds between two calls of ``check`` (default 0.1)."""
    ignoring: tuple[type[BaseException], ...]
    """Errors of ``check`` that mean "not yet" rather than failing the wait (default: none)."""


class _Poll:
    """The deadline and the verdict on each attempt, shared by both spellings."""

    def __init__(self, timeout: float, what: str, options: Options) -> None:
        self._deadline = time.monotonic() + timeout
        self._timeout = timeout
        self._what = what
        self._holds = options.get("holds", bool)
        self._ignoring = options.get("ignoring", ())
        self.interval = options.get("interval", 0.1)
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
    **options: Unpack[Options],
) -> T:
    """Call ``check`` until its value holds; return that value. Blocks the calling thread."""
    poll = _Poll(timeout, what, options)
    while not poll.settled(_attempt(check)):
        time.sleep(poll.interval)
    result: T = poll.value
    return result


async def until(
    check: Callable[[], T | Awaitable[T]],
    timeout: float = 30.0,
    what: str = "the condition",
    **options: Unpack[Options],
) -> T:
    """:func:`eventually` for a running event loop; ``check`` may be a coroutine function."""
    poll = _Poll(timeout, what, options)
    while not poll.settled(await _attempt_async(check)):
        await asyncio.sleep(poll.interval)
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
