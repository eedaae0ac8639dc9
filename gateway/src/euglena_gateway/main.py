"""``euglena-gateway``: run the gateway with uvicorn."""

from __future__ import annotations

import uvicorn

from euglena.logs import configure_logging
from euglena_gateway.app import create_app
from euglena_gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )
