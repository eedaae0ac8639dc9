"""Supabase JWT verification.

User tokens must carry ``exp``, a UUID ``sub`` and ``aud=authenticated``. HS256 tokens are
checked with ``SUPABASE_JWT_SECRET``; asymmetric ones (RS256/ES256) with the project's JWKS.
A ``role=service_role`` token (Supabase's service key, which has no ``sub``/``aud``) identifies a
trusted service such as the operator, which may act on behalf of any user.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import jwt

from euglena_gateway.errors import Forbidden, Unauthorized

SERVICE_ROLE = "service_role"
MAX_TOKEN_BYTES = 8192
"""Supabase's access tokens are about 1 KB; anything much larger is refused before it is
parsed (and before it could take a place in the verified-token cache)."""
_ASYMMETRIC = ["RS256", "ES256", "EdDSA"]


@dataclass(frozen=True, slots=True)
class Principal:
    role: str
    user_id: uuid.UUID | None
    claims: dict[str, Any] = field(repr=False)
    token: str = field(default="", repr=False)

    @property
    def is_service(self) -> bool:
        return self.role == SERVICE_ROLE


class TokenVerifier:
    """Verifies bearer tokens; remembers recently verified ones until they expire.

    Clients send the same token on every request; checking its signature once per token (not
    once per request) keeps authentication off the hot path. Entries never outlive ``exp``.
    """

    def __init__(
        self,
        *,
        secret: str,
        jwks_url: str = "",
        leeway_seconds: int = 30,
        cache_size: int = 4096,
    ) -> None:
        self._secret = secret
        self._leeway = leeway_seconds
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=600) if jwks_url else None
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._cache_size = cache_size

    async def verify(self, authorization: str | None) -> Principal:
        token = _bearer(authorization)
        cached = self._verified.get(token)
        if cached is not None and cached[0] > time.time():
            return cached[1]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("the bearer token is not a well-formed JWT") from exc
        claims = await self._decode(token, str(header.get("alg", "")))
        principal = _principal(claims, token)
        self._remember(token, float(claims["exp"]), principal)
        return principal

    def _remember(self, token: str, expires_at: float, principal: Principal) -> None:
        self._verified[token] = (expires_at, principal)
        self._verified.move_to_end(token)
        while len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)

    async def _decode(self, token: str, alg: str) -> dict[str, Any]:
        options: jwt.types.Options = {"require": ["exp"], "verify_aud": False}
        try:
            if alg == "HS256":
                if not self._secret:
                    raise Unauthorized("HS256 tokens are not accepted by this gateway")
                return jwt.decode(
                    token, self._secret, algorithms=["HS256"], options=options, leeway=self._leeway
                )
            if alg in _ASYMMETRIC and self._jwks is not None:
                key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                return jwt.decode(
                    token, key.key, algorithms=_ASYMMETRIC, options=options, leeway=self._leeway
                )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired") from exc
        except jwt.PyJWKClientError as exc:
            raise Unauthorized("the token's signing key is not in the project's JWKS") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the token is invalid: {exc}") from exc
        raise Unauthorized(f"tokens signed with {alg or 'no algorithm'} are not accepted")


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("missing Authorization header (expected 'Bearer <Supabase JWT>')")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <Supabase JWT>'")
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthorized(f"the bearer token is larger than {MAX_TOKEN_BYTES} bytes")
    return token.strip()


def _principal(claims: dict[str, Any], token: str) -> Principal:
    role = str(claims.get("role") or "authenticated")
    if role == SERVICE_ROLE:
        return Principal(
            role=role, user_id=_optional_uuid(claims.get("sub")), claims=claims, token=token
        )
    if role == "anon":
        raise Forbidden("the anon key identifies no user: sign in first")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if "authenticated" not in audiences:
        raise Unauthorized("the token's audience must be 'authenticated'")
    user_id = _optional_uuid(claims.get("sub"))
    if user_id is None:
        raise Unauthorized("the token's 'sub' claim must be the user's UUID")
    return Principal(role=role, user_id=user_id, claims=claims, token=token)


def _optional_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
