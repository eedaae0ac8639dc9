"""The developer sign-in's tokens (``POST /dev/token``, only with ``EUGLENA_ENV=dev``), signed
with the local HS256 secret like Supabase Auth would. (Service-role tokens for tests and local
runs are the devkit's: ``euglena_devkit.tokens``.)"""

from __future__ import annotations

import time
import uuid

import jwt

DEMO_USER_ID = uuid.UUID("00000000-0000-4000-8000-00000000d3e0")
"""The demo user `supabase/seed.sql` creates."""


def user_id_for(name: str) -> uuid.UUID:
    """A stable id per local user name; ``demo`` is the seeded demo user."""
    if name == "demo":
        return DEMO_USER_ID
    return uuid.uuid5(uuid.NAMESPACE_URL, f"euglena-local-user:{name}")


def mint_user_token(secret: str, user_id: uuid.UUID, *, ttl_seconds: int = 12 * 3600) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")
