"""Entrypoint: ``euglena-operator`` / ``python -m euglena_operator``."""

from __future__ import annotations

import logging

import kopf

from euglena.logs import configure_logging
from euglena.settings import load_settings
from euglena_operator.settings import OperatorSettings


class QuietWatchHandlers(logging.Filter):
    """Drop kopf's per-event "invoked"/"succeeded" lines of the watch-event trackers: they run
    on every watch event of every object and would drown the log (failures still pass)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or not record.name.startswith("kopf.objects"):
            return True
        message = record.getMessage()
        return not message.startswith(("Handler 'track_task'", "Handler 'track_pool'"))


def main() -> None:
    from euglena_operator import handlers  # noqa: F401  (registers the kopf handlers)

    settings = load_settings(OperatorSettings)
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    for handler in logging.getLogger().handlers:
        handler.addFilter(QuietWatchHandlers())
    namespaces = settings.namespaces
    kopf.run(
        registry=kopf.get_default_registry(),
        standalone=True,
        clusterwide=not namespaces,
        namespaces=namespaces,
        liveness_endpoint=f"http://0.0.0.0:{settings.liveness_port}/healthz",
        memo=kopf.Memo(settings=settings),
    )


if __name__ == "__main__":
    main()
