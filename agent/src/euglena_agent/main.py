"""Entrypoint: ``euglena-agent`` / ``python -m euglena_agent``."""

from __future__ import annotations

import asyncio
import logging
import signal

from euglena.logs import configure_logging
from euglena.settings import load_settings
from euglena_agent.settings import AgentSettings
from euglena_agent.worker import build_worker

log = logging.getLogger(__name__)


async def serve(settings: AgentSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with build_worker(settings) as worker:
        await worker.run(stop)


def main() -> None:
    settings = load_settings(AgentSettings)
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    log.info(
        "euglena agent %s starting (concurrency %d, model %s)",
        settings.worker_id,
        settings.worker_concurrency,
        "offline stand-in"
        if settings.offline
        else f"{settings.model_name} at {settings.model_api_url}",
    )
    asyncio.run(serve(settings))
