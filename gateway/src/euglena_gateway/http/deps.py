"""FastAPI dependencies: the services of this app and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from euglena_gateway.auth import Principal
from euglena_gateway.services import Services


async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs plain-def dependencies in a thread pool.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def authenticate(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    return await services.verifier.verify(authorization)


PrincipalDep = Annotated[Principal, Depends(authenticate)]
