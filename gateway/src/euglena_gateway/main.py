"""``euglena-gateway``: run the gateway with uvicorn."""

from __future__ import annotations

import uvicorn

from euglena.logs import configure_logging
from euglena.settings import load_settings
from euglena_gateway.app import create_app
from euglena_gateway.settings import GatewaySettings


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    app: object = create_app(settings)
    if settings.gateway_workers > 1:
        # Each worker process builds its own app (and pools) from the same environment.
        app = "euglena_gateway.app:create_app"
    uvicorn.run(
        app,  # type: ignore[arg-type]
        factory=settings.gateway_workers > 1,
        workers=settings.gateway_workers,
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )
