"""Entrypoint: ``euglena-operator`` / ``python -m euglena_operator``."""

from __future__ import annotations

import kopf

from euglena.logs import configure_logging
from euglena_operator.settings import OperatorSettings


def main() -> None:
    from euglena_operator import handlers  # noqa: F401  (registers the kopf handlers)

    settings = OperatorSettings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
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
