"""The fault scenarios on a running :class:`FaultPlatform`: workers killed and scaled down,
dependencies restarted and blackholed, a steady soak. Each returns its :class:`Figures`.

The size of each (tasks, windows, durations) is a parameter: ``make faults`` runs them at full
size, the integration tier at a few tasks and seconds so a regression fails ``make test``.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from collections.abc import Awaitable, Callable

from euglena.keys import task_key
from euglena_devkit.faults.figures import Figures
from euglena_devkit.faults.platform import TERMINAL, FaultPlatform, Outcome, rss_kib


def _fate(
    figures: Figures,
    outcome: Outcome,
    statuses: dict[str, str],
    p: FaultPlatform,
    *,
    broker_outage: bool = False,
) -> None:
    """The figures every task-carrying scenario reports. Where a dependency goes away,
    "duplicated" is counted, not held to 0: a broker outage requeues what its consumers held
    while they may still run it (their acks can no longer land), and a Redis restart without
    persistence loses results not yet persisted, which are then produced again. The first
    result is kept either way (terminal is final)."""
    accepted = outcome.accepted
    completions = p.completions()
    figures.add("submitted", len(accepted) + outcome.refused + outcome.rejected)
    figures.add("accepted (202)", len(accepted))
    figures.add("refused with 503 (nothing recorded)", outcome.refused)
    figures.zero("answered 5xx other than 503", outcome.server_errors)
    figures.zero("unanswered (connection failed)", outcome.unanswered)
    figures.zero("lost (accepted, no row)", sum(c not in statuses for c in accepted))
    figures.zero(
        "stuck (accepted, never finished)",
        sum(statuses.get(c) not in TERMINAL and c in statuses for c in accepted),
    )
    figures.add(
        "failed (finished with an error)", sum(statuses.get(c) == "failed" for c in accepted)
    )
    duplicated = sum(completions[c] > 1 for c in accepted)
    if broker_outage:
        figures.add("duplicated (completed twice, first result kept)", duplicated)
    else:
        figures.zero("duplicated (completed twice)", duplicated)


async def _probe(p: FaultPlatform, user: uuid.UUID, timeout: float) -> float:
    """Seconds until a submission is accepted again (``timeout`` if none is)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        outcome = Outcome()
        await p.submit(user, outcome, ticks=1)
        if outcome.accepted:
            p.probes.extend(outcome.accepted)
            return time.monotonic() - began
        await asyncio.sleep(0.2)
    return timeout


async def kills(
    p: FaultPlatform, *, tasks: int, kill_every: float, drain_timeout: float
) -> Figures:
    """R1: tasks through the workers while a random one is SIGKILLed every ``kill_every`` s
    (and replaced, as a Deployment would)."""
    figures = Figures(
        "R1", f"{tasks} tasks, {len(p.live_workers())} workers, SIGKILL every {kill_every:g} s"
    )
    user = await p.create_user()
    began = time.monotonic()
    outcome = await p.submit_many(user, tasks)
    killed = 0
    respawns: set[asyncio.Task[str]] = set()

    async def killer() -> None:
        nonlocal killed
        while True:
            await asyncio.sleep(kill_every)
            live = p.live_workers()
            if live:
                p.signal_worker(random.choice(live), signal.SIGKILL)
                killed += 1
                respawn = asyncio.create_task(_replace(p))
                respawns.add(respawn)
                respawn.add_done_callback(respawns.discard)

    killing = asyncio.create_task(killer())
    try:
        await p.drain(outcome.accepted, drain_timeout)
    finally:
        killing.cancel()
        await asyncio.gather(killing, *respawns, return_exceptions=True)
    figures.add("workers killed", killed)
    _fate(figures, outcome, await p.statuses(outcome.accepted), p)
    figures.add("time to drain", time.monotonic() - began, "s")
    return figures


async def _replace(p: FaultPlatform) -> str:
    """Start a worker in place of a killed one, as a Deployment would (again if it fails)."""
    while True:
        try:
            return await p.spawn_worker()
        except RuntimeError:
            await asyncio.sleep(1)


MAX_TICKS = 50
"""The gateway's default MAX_TICKS; a submission asks for two more than its script needs."""

Fault = Callable[[], Awaitable[None]]


async def _outage(
    p: FaultPlatform,
    *,
    scenario: str,
    title: str,
    faults: dict[str, tuple[Fault, Fault]],
    rate: float,
    quiet: float,
    drain_timeout: float,
) -> Figures:
    """Submissions at ``rate`` per second throughout; each fault in turn (``begin``, then
    ``end``), ``quiet`` seconds apart; then how long the platform took to recover by itself."""
    figures = Figures(scenario, title)
    user = await p.create_user()
    outcome = Outcome()
    slowest = 0.0

    async def steady() -> None:
        nonlocal slowest
        while True:
            began = time.monotonic()
            await p.submit(user, outcome)
            slowest = max(slowest, time.monotonic() - began)
            await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - began)))

    submitting = [asyncio.create_task(steady()) for _ in range(max(1, int(rate)))]
    recoveries: dict[str, float] = {}
    try:
        await asyncio.sleep(quiet)
        for name, (begin, end) in faults.items():
            await begin()
            await end()
            recoveries[name] = await _probe(p, user, drain_timeout)
            await asyncio.sleep(quiet)
    finally:
        for task in submitting:
            task.cancel()
        await asyncio.gather(*submitting, return_exceptions=True)
    drained = await p.drain(outcome.accepted + p.probes, drain_timeout)
    _fate(figures, outcome, await p.statuses(outcome.accepted), p, broker_outage=True)
    figures.add("slowest answer to a submission", slowest, "s")
    for name, seconds in recoveries.items():
        figures.add(f"{name}: accepting again after", seconds, "s")
    figures.add("then every task finished within", drained, "s")
    return figures


async def restarts(
    p: FaultPlatform, *, down: float, rate: float, quiet: float, drain_timeout: float
) -> Figures:
    """R2: RabbitMQ, Redis and Postgres restarted in turn (``down`` seconds each) mid-run."""
    s = p.services

    def restart(server: object) -> tuple[Fault, Fault]:
        async def stop() -> None:
            await asyncio.to_thread(server.stop)  # type: ignore[attr-defined]
            await asyncio.sleep(down)

        async def start() -> None:
            await asyncio.to_thread(server.start)  # type: ignore[attr-defined]

        return stop, start

    faults = {
        "rabbitmq": restart(s.rabbitmq),
        "redis": restart(s.redis),
        "postgres": restart(s.postgres),
    }
    return await _outage(
        p,
        scenario="R2",
        title=f"restart each dependency in turn ({down:g} s down), {rate:g} submissions/s",
        faults=faults,
        rate=rate,
        quiet=quiet,
        drain_timeout=drain_timeout,
    )


async def blackholes(
    p: FaultPlatform, *, window: float, rate: float, quiet: float, drain_timeout: float
) -> Figures:
    """R2b: each dependency blackholed for ``window`` seconds in turn: it accepts connections
    and answers nothing, closes nothing."""

    def blackhole(name: str) -> tuple[Fault, Fault]:
        async def begin() -> None:
            p.proxies[name].blackhole()
            await asyncio.sleep(window)

        async def end() -> None:
            p.proxies[name].restore()

        return begin, end

    return await _outage(
        p,
        scenario="R2b",
        title=f"blackhole each dependency for {window:g} s in turn, {rate:g} submissions/s",
        faults={name: blackhole(name) for name in ("rabbitmq", "redis", "postgres")},
        rate=rate,
        quiet=quiet,
        drain_timeout=drain_timeout,
    )


async def scale_down(
    p: FaultPlatform, *, tasks: int, victims: int, grace: float, drain_timeout: float
) -> Figures:
    """R3: SIGTERM to busy workers while they run tasks, some shorter than the grace period and
    some longer: the short ones finish there, the long ones go back to the queue."""
    figures = Figures("R3", f"SIGTERM {victims} busy workers (grace {grace:g} s), {tasks} tasks")
    user = await p.create_user()
    short_ticks = max(1, int(grace / p.think_seconds / 3))
    long_ticks = min(MAX_TICKS - 2, int(grace / p.think_seconds * 2))  # within MAX_TICKS
    outcome = Outcome()
    for i in range(tasks):
        await p.submit(user, outcome, ticks=short_ticks if i % 2 else long_ticks)
    await asyncio.sleep(2 * p.think_seconds)
    held = await _held(p)
    busy = [w for w in p.live_workers() if held.get(w)][:victims]
    for worker in busy:
        p.signal_worker(worker, signal.SIGTERM)
    stopped = time.monotonic()
    await asyncio.gather(*(_exited(p, w) for w in busy))
    exit_seconds = time.monotonic() - stopped
    await p.drain(outcome.accepted, drain_timeout)
    rows = await p.rows(outcome.accepted)
    held_tasks = [cid for w in busy for cid in held[w]]
    figures.add("tasks held by the stopped workers", len(held_tasks))
    figures.add(
        "finished within the grace period",
        sum(rows.get(c, {}).get("worker_id") in busy for c in held_tasks),
    )
    figures.add(
        "requeued to another worker",
        sum(rows.get(c, {}).get("worker_id") not in (*busy, None) for c in held_tasks),
    )
    figures.add("longest exit after SIGTERM", exit_seconds, "s")
    _fate(figures, outcome, {c: r["status"] for c, r in rows.items()}, p)
    return figures


async def _held(p: FaultPlatform) -> dict[str, list[str]]:
    """Which tasks each worker holds now, from the live copies."""
    from redis.asyncio import Redis

    from euglena.task import Task

    redis = Redis.from_url(p.services.redis_url)
    held: dict[str, list[str]] = {}
    try:
        async for key in redis.scan_iter(task_key("*")):
            raw = await redis.get(key)
            if raw:
                task = Task.from_json(raw)
                if not task.is_terminal and task.worker_id:
                    held.setdefault(task.worker_id, []).append(str(task.correlation_id))
    finally:
        await redis.aclose()
    return held


async def _exited(p: FaultPlatform, worker: str) -> None:
    while p.workers[worker].process.poll() is None:
        await asyncio.sleep(0.1)


async def soak(p: FaultPlatform, *, seconds: float, rate: float, drain_timeout: float) -> Figures:
    """R9: a steady submission rate for ``seconds``; errors, memory growth, leftovers."""
    figures = Figures(
        "R9", f"soak: {rate:g} submissions/s for {seconds:g} s, {len(p.live_workers())} workers"
    )
    user = await p.create_user()
    outcome = Outcome()
    warm = min(30.0, seconds / 5)
    rss_start: dict[str, int] = {}
    began = time.monotonic()
    next_at = began
    sent: set[asyncio.Task[None]] = set()
    while time.monotonic() - began < seconds:
        if not rss_start and time.monotonic() - began >= warm:
            rss_start = {n: rss_kib(p.pid(n)) for n in ["gateway", *p.live_workers()]}
        submission = asyncio.create_task(p.submit(user, outcome))
        sent.add(submission)
        submission.add_done_callback(sent.discard)
        next_at += 1 / rate
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*sent)
    rss_end = {n: rss_kib(p.pid(n)) for n in rss_start}
    drained = await p.drain(outcome.accepted, drain_timeout)
    await asyncio.sleep(12)  # the settler's interval and grace: finished copies leave Redis
    _fate(figures, outcome, await p.statuses(outcome.accepted), p)
    figures.zero("rejected (4xx)", outcome.rejected)
    figures.add("then every task finished within", drained, "s")
    gateway_growth = rss_end["gateway"] - rss_start["gateway"]
    agents = [n for n in rss_start if n != "gateway"]
    agent_growth = max((rss_end[n] - rss_start[n] for n in agents), default=0)
    figures.add("gateway RSS after warm-up", rss_start["gateway"], "KiB")
    figures.add("gateway RSS growth", gateway_growth, "KiB")
    figures.add("largest agent RSS growth", agent_growth, "KiB")
    figures.zero("Redis task keys left behind", await p.redis_task_keys())
    figures.zero("Postgres rows left unfinished", await p.open_rows())
    return figures
