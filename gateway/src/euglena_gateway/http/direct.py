"""DirectRoute: a route whose endpoint is called without FastAPI's per-request dependency solving.

On the hottest reads (``GET /tasks/{id}`` of a finished task) FastAPI's generic parameter
machinery costs more CPU than the database read it wraps. A DirectRoute endpoint declares its
parameters like any other route, so OpenAPI documents it unchanged, but it may only ask for
what this module supplies itself: path parameters typed ``uuid.UUID``, ``ServicesDep`` and
``PrincipalDep``. It must return a ``Response``. Any other parameter is refused when the route
is declared, never at request time. Errors raised by the endpoint reach the app's exception
handlers exactly as from any route; a malformed id is a 422 shaped like FastAPI's own.
``app.dependency_overrides`` do not apply to a DirectRoute.
"""

from __future__ import annotations

import inspect
import typing
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends
from fastapi.routing import APIRoute

from euglena_gateway.auth import Principal
from euglena_gateway.http.deps import authenticate, get_services
from euglena_gateway.services import Services

Supplier = Callable[[Request, Services], Awaitable[Any]]


def _path_uuid(name: str) -> Supplier:
    async def supply(request: Request, _: Services) -> uuid.UUID:
        raw = request.path_params[name]
        try:
            return uuid.UUID(raw)
        except ValueError:
            raise RequestValidationError(
                [
                    {
                        "loc": ("path", name),
                        "msg": "Input should be a valid UUID",
                        "type": "uuid_parsing",
                        "input": raw,
                    }
                ]
            ) from None

    return supply


async def _services(_: Request, services: Services) -> Services:
    return services


async def _principal(request: Request, services: Services) -> Principal:
    return await authenticate(services, request.headers.get("authorization"))


_DEPENDENCIES: dict[Callable[..., Any], Supplier] = {
    get_services: _services,
    authenticate: _principal,
}


def _supplier(name: str, annotation: Any, path_params: set[str]) -> Supplier:
    if name in path_params and annotation is uuid.UUID:
        return _path_uuid(name)
    for extra in getattr(annotation, "__metadata__", ()):
        if isinstance(extra, Depends) and extra.dependency in _DEPENDENCIES:
            return _DEPENDENCIES[extra.dependency]
    raise TypeError(
        f"DirectRoute cannot supply parameter {name!r} ({annotation!r}): use a regular route"
    )


class DirectRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        hints = typing.get_type_hints(endpoint, include_extras=True)
        path_params = set(self.param_convertors)
        names = list(inspect.signature(endpoint).parameters)
        # Dependencies before path parameters, as FastAPI does: no token is a 401 even for a
        # malformed id.
        names.sort(key=lambda name: name in path_params)
        suppliers = [(name, _supplier(name, hints[name], path_params)) for name in names]

        async def handler(request: Request) -> Response:
            services = await get_services(request)
            kwargs = {name: await supply(request, services) for name, supply in suppliers}
            response = await endpoint(**kwargs)
            if not isinstance(response, Response):
                raise TypeError(f"{endpoint.__name__} must return a Response")
            return response

        return handler
