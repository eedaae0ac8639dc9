"""R5 and R6: forged tokens against a production gateway; one user's tasks read as another.

R5 mints every kind of bad token an attacker tries (no algorithm, HS/RS key confusion, a key
not in the JWKS, expired, not yet valid, wrong audience, no subject, tampered signature or
claims, the public development secret, an oversized token) and counts the ones a gateway
running with ``EUGLENA_ENV=production`` did not answer 401. Two good tokens (HS256 with the
project secret, RS256 from the JWKS) are the control: they must be accepted, or the table
proves nothing.

R6 has user A's tasks (one running, one finished and read by A, so it sits in the gateway's
memory) read by user B through every route, and the ``tasks`` table read under B's row-level
security in SQL, and counts every row B got to see.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any

import asyncpg
import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.fakes.base import FakeServer, Request, Response
from euglena_devkit.faults.figures import Figures


class FakeJwks(FakeServer):
    """A project's JWKS endpoint (``/auth/v1/.well-known/jwks.json``) with one RSA key."""

    def __init__(self) -> None:
        super().__init__()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self.document = {"keys": [{**jwk, "kid": "project-key", "alg": "RS256", "use": "sig"}]}

    @property
    def url(self) -> str:
        return self.base_url + "/auth/v1/.well-known/jwks.json"

    def handle(self, request: Request) -> Response:  # noqa: ARG002  (one document for all)
        return Response.of_json(self.document)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """Sign by hand: PyJWT rightly refuses to use a public key as an HMAC secret."""
    signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(signature)}"


_NONE_HEADER = _b64(b'{"alg":"none","typ":"JWT"}')


def attack_tokens(secret: str, jwks: FakeJwks, user: uuid.UUID) -> dict[str, str | None]:
    now = int(time.time())
    good = {"sub": str(user), "aud": "authenticated", "role": "authenticated", "exp": now + 600}
    public_pem = jwks.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    valid = jwt.encode(good, secret, algorithm="HS256")
    head, body, signature = valid.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    stranger = _b64(json.dumps({**good, "sub": str(uuid.uuid4())}).encode())

    def hs(**claims: Any) -> str:
        return jwt.encode({**good, **claims}, secret, algorithm="HS256")

    return {
        "no token": None,
        "not a JWT": "not-a-jwt",
        "alg none": f"{_NONE_HEADER}.{body}.",
        "HS256 signed with the JWKS public key": _hs256(
            {"alg": "HS256", "typ": "JWT", "kid": "project-key"}, good, public_pem
        ),
        "RS256 header, HMAC signature": _hs256(
            {"alg": "RS256", "typ": "JWT", "kid": "project-key"}, good, secret.encode()
        ),
        "RS256 from a key not in the JWKS": jwt.encode(
            good, other, algorithm="RS256", headers={"kid": "project-key"}
        ),
        "expired": hs(exp=now - 300),
        "not yet valid (nbf)": hs(nbf=now + 3600),
        "no expiry": jwt.encode({k: v for k, v in good.items() if k != "exp"}, secret, "HS256"),
        "wrong audience": hs(aud="somebody-else"),
        "no subject": jwt.encode({k: v for k, v in good.items() if k != "sub"}, secret, "HS256"),
        "subject not a UUID": hs(sub="admin"),
        "tampered signature": f"{head}.{body}.{flipped}",
        "tampered claims": f"{head}.{stranger}.{signature}",
        "signed with the public dev secret": jwt.encode(good, DEV_JWT_SECRET, "HS256"),
        "service role, dev secret": jwt.encode(
            {"role": "service_role", "exp": now + 600}, DEV_JWT_SECRET, "HS256"
        ),
        "oversized (12 KB), correctly signed": hs(padding="x" * 12_000),
    }


def control_tokens(secret: str, jwks: FakeJwks, user: uuid.UUID) -> dict[str, str]:
    good = {
        "sub": str(user),
        "aud": "authenticated",
        "role": "authenticated",
        "exp": int(time.time()) + 600,
    }
    return {
        "HS256, project secret": jwt.encode(good, secret, algorithm="HS256"),
        "RS256, project JWKS": jwt.encode(
            good, jwks.key, algorithm="RS256", headers={"kid": "project-key"}
        ),
    }


def production_secret() -> str:
    return secrets.token_urlsafe(48)


async def jwt_attacks(
    client: httpx.AsyncClient, secret: str, jwks: FakeJwks, user: uuid.UUID
) -> Figures:
    """R5 against a production gateway at ``client``'s base URL."""
    figures = Figures("R5", "JWT attack table against EUGLENA_ENV=production")
    answered: dict[str, int] = {}
    for name, token in attack_tokens(secret, jwks, user).items():
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        answered[name] = (await client.get("/tasks", headers=headers)).status_code
    controls = {
        name: (await client.get("/tasks", headers={"Authorization": f"Bearer {t}"})).status_code
        for name, t in control_tokens(secret, jwks, user).items()
    }
    for name, status in answered.items():
        figures.add(f"{name}", status)
    figures.zero("forged tokens not answered 401", sum(s != 401 for s in answered.values()))
    figures.zero("good tokens refused (control)", sum(s != 200 for s in controls.values()))
    return figures


async def cross_user_reads(
    client: httpx.AsyncClient,
    dsn: str,
    owner: tuple[uuid.UUID, dict[str, str]],
    other: tuple[uuid.UUID, dict[str, str]],
    tasks: dict[str, str],
) -> Figures:
    """R6: ``tasks`` (kind → id, all the owner's) read by the other user, over HTTP and SQL."""
    figures = Figures("R6", "one user's tasks read as another, through every route and in SQL")
    (owner_id, _), (other_id, headers) = owner, other
    leaks = 0
    for kind, cid in tasks.items():
        one = await client.get(f"/tasks/{cid}", headers=headers)
        batch = await client.get("/tasks", params={"ids": cid}, headers=headers)
        cancel = await client.post(f"/tasks/{cid}/cancel", headers=headers)
        events = await client.get(f"/tasks/{cid}/events", headers=headers)
        seen = [one.status_code != 404, bool(batch.json().get("items")), cancel.status_code != 404]
        seen.append(events.status_code != 404)
        figures.add(f"{kind}: routes that showed it", sum(seen))
        leaks += sum(seen)
    listing = (await client.get("/tasks", params={"limit": 100}, headers=headers)).json()
    listed = sum(item["user_id"] == str(owner_id) for item in listing["items"])
    figures.add("the other user's listing: the owner's tasks in it", listed)
    sql = await _sql_rows_seen(dsn, owner_id, other_id)
    figures.add("SQL as the other user (authenticated, RLS): rows", sql)
    figures.zero("rows leaked", leaks + listed + sql)
    return figures


async def _sql_rows_seen(dsn: str, owner: uuid.UUID, other: uuid.UUID) -> int:
    claims = json.dumps({"sub": str(other), "role": "authenticated", "aud": "authenticated"})
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("set local role authenticated")
            await conn.execute("select set_config('request.jwt.claims', $1, true)", claims)
            seen = int(
                await conn.fetchval("select count(*) from public.tasks where user_id = $1", owner)
            )
        async with conn.transaction():
            await conn.execute("set local role anon")
            try:
                seen += int(await conn.fetchval("select count(*) from public.tasks"))
            except asyncpg.InsufficientPrivilegeError:
                pass  # anon may not read tasks at all
    finally:
        await conn.close()
    return seen
