"""``make faults``: the fault suite, at full size, printing figures (nothing is asserted).

On real Redis, RabbitMQ and PostgreSQL (each behind a proxy that can blackhole it), the gateway
and agent workers as real processes, and a fake model whose replies take 0.3 s:

- R1  200 tasks through 4 workers while a random worker is SIGKILLed every 3 s
- R2  RabbitMQ, Redis and Postgres restarted in turn mid-run
- R2b each of them blackholed for 30 s in turn
- R3  scale-down: SIGTERM to 2 busy workers, tasks shorter and longer than the grace period
- R4  schemathesis over the OpenAPI document, every check, valid and invalid tokens
- R5  a JWT attack table against a production gateway
- R6  one user's tasks read as another, through every route and in SQL
- R9  a 10-minute soak at 2 submissions a second

``FAULTS=R1,R9`` picks scenarios; ``SOAK_SECONDS`` shortens R9. Every scenario starts on
empty stores with its own gateway and workers. The machine's load is printed before, after
each scenario and at the end: on a shared 2-core machine the times are only comparable to
runs at a similar load.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from euglena_devkit.faults import scenarios, security
from euglena_devkit.faults.figures import Figures
from euglena_devkit.faults.platform import (
    DELIVERY_LIMIT,
    GATEWAY_SETTINGS,
    FaultPlatform,
    Outcome,
    Services,
)
from euglena_devkit.faults.schema import fuzz_api
from euglena_devkit.local_gateway import running_gateway
from euglena_devkit.services import LocalServices

REPO = Path(__file__).resolve().parents[2]
THINK_SECONDS = 0.3
Scenario = Callable[[Services, Path], Awaitable[Figures]]


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


async def _platform(services: Services, work: Path, workers: int, **settings: str) -> FaultPlatform:
    platform = FaultPlatform(services, work, think_seconds=THINK_SECONDS)
    await platform.start(workers=workers, worker_settings=settings)
    return platform


async def r1(services: Services, work: Path) -> Figures:
    p = await _platform(services, work, 4)
    try:
        return await scenarios.kills(p, tasks=200, kill_every=3, drain_timeout=600)
    finally:
        await p.close()


async def r2(services: Services, work: Path) -> Figures:
    p = await _platform(services, work, 4)
    try:
        return await scenarios.restarts(p, down=5, rate=2, quiet=10, drain_timeout=300)
    finally:
        await p.close()


async def r2b(services: Services, work: Path) -> Figures:
    p = await _platform(services, work, 4)
    try:
        return await scenarios.blackholes(p, window=30, rate=2, quiet=10, drain_timeout=300)
    finally:
        await p.close()


async def r3(services: Services, work: Path) -> Figures:
    p = await _platform(services, work, 4, WORKER_CONCURRENCY="2", SHUTDOWN_GRACE_SECONDS="10")
    try:
        return await scenarios.scale_down(p, tasks=16, victims=2, grace=10, drain_timeout=300)
    finally:
        await p.close()


async def r4(services: Services, work: Path) -> Figures:
    figures = Figures("R4", "schemathesis, --checks all, 60 examples per operation, seed 1")
    p = await _platform(services, work, 0)
    try:
        user = await p.create_user()
        token = p.headers(user)["Authorization"].removeprefix("Bearer ")
        for name, bearer in (("valid token", token), ("invalid token", "not-a-token")):
            report = await fuzz_api(p.url, bearer, examples=60, seed=1, work_dir=work / name)
            figures.add(f"{name}: requests generated", report.generated)
            figures.zero(f"{name}: 5xx responses", report.server_errors)
            figures.zero(f"{name}: responses breaking the schema", report.mismatches)
            for failure, count in report.failures.items():
                figures.note(f"{name}: {failure} x{count}")
    finally:
        await p.close()
    return figures


async def r5(services: Services, _work: Path) -> Figures:
    with security.FakeJwks() as jwks:
        secret = security.production_secret()
        async with running_gateway(
            redis_url=services.redis_url,
            rabbitmq_url=services.amqp_url,
            database_url=services.dsn,
            EUGLENA_ENV="production",
            delivery_limit=DELIVERY_LIMIT,
            supabase_jwt_secret=secret,
            supabase_jwks_url=jwks.url,
        ) as gw:
            user = await gw.create_user()
            return await security.jwt_attacks(gw.client, secret, jwks, user)


async def r6(services: Services, work: Path) -> Figures:
    p = await _platform(services, work, 1)
    try:
        owner, other = await p.create_user(), await p.create_user()
        outcome = Outcome()
        await p.submit(owner, outcome, ticks=1)
        await p.submit(owner, outcome, ticks=40)
        finished, running = outcome.accepted
        await p.drain([finished], 120)
        await p.client.get(f"/tasks/{finished}", headers=p.headers(owner))  # cached for A
        return await security.cross_user_reads(
            p.client,
            services.dsn,
            (owner, p.headers(owner)),
            (other, p.headers(other)),
            {"finished task": finished, "running task": running},
        )
    finally:
        await p.close()


async def r9(services: Services, work: Path) -> Figures:
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    p = await _platform(services, work, 4)
    try:
        return await scenarios.soak(p, seconds=seconds, rate=2, drain_timeout=300)
    finally:
        await p.close()


SCENARIOS: dict[str, Scenario] = {
    "R1": r1,
    "R2": r2,
    "R2b": r2b,
    "R3": r3,
    "R4": r4,
    "R5": r5,
    "R6": r6,
    "R9": r9,
}


def reset(stores: LocalServices) -> None:
    """Empty stores between scenarios, so each one's leftovers are its own."""
    assert stores.redis is not None and stores.postgres is not None
    for server in stores.servers:
        if not server.running:
            server.start()
    stores.redis.flushall()
    stores.postgres.execute("truncate public.tasks, public.profiles, auth.users cascade")


def _quiet_resets(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    """Connections the scenarios broke on purpose end with resets nobody awaits: not news."""
    if isinstance(context.get("exception"), ConnectionResetError):
        return
    loop.default_exception_handler(context)


async def run(chosen: list[str]) -> None:
    asyncio.get_running_loop().set_exception_handler(_quiet_resets)
    say(f"make faults: {', '.join(chosen)}; {load()}")
    say(
        "gateway recovery settings for the run: "
        + ", ".join(f"{k}={v}" for k, v in GATEWAY_SETTINGS.items())
    )
    work = Path(tempfile.mkdtemp(prefix="euglena-faults-"))
    with LocalServices(REPO, work / "services") as stores:
        env = stores.env()
        assert stores.redis and stores.rabbitmq and stores.postgres
        services = Services(
            stores.redis,
            stores.rabbitmq,
            stores.postgres,
            env["REDIS_URL"],
            env["RABBITMQ_URL"],
            env["DATABASE_URL"],
        )
        failing: list[str] = []
        for name in chosen:
            reset(stores)
            began = time.monotonic()
            figures = await SCENARIOS[name](services, work / name)
            say("")
            say(figures.render())
            say(f"    ({time.monotonic() - began:.0f} s; {load()})")
            failing += [f"{name}: {f}" for f in figures.failing()]
    say("")
    say(f"figures whose goal is 0 and are not: {len(failing)}")
    for line in failing:
        say(f"  {line}")
    say(f"logs: {work}; {load()}")


def main() -> None:
    wanted = os.environ.get("FAULTS", ",".join(SCENARIOS))
    chosen = [name for name in SCENARIOS if name in {w.strip() for w in wanted.split(",")}]
    unknown = {w.strip() for w in wanted.split(",")} - set(SCENARIOS) - {""}
    if unknown:
        raise SystemExit(
            f"FAULTS: unknown scenario(s) {sorted(unknown)}; the scenarios are {list(SCENARIOS)}"
        )
    asyncio.run(run(chosen))


if __name__ == "__main__":
    main()
