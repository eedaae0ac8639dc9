"""Service-role tokens for tests and local runs, signed with the local HS256 secret as
Supabase's service key is. Not in the gateway package: nothing in production mints them.
(User tokens come from the gateway's developer sign-in: ``euglena_gateway.devtokens``.)"""

from __future__ import annotations

import time

import jwt


def mint_service_token(secret: str, *, ttl_seconds: int = 365 * 24 * 3600) -> str:
    """A ``role=service_role`` token, as Supabase's service key is (the operator's identity)."""
    now = int(time.time())
    claims = {"role": "service_role", "iss": "euglena-local", "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm="HS256")
