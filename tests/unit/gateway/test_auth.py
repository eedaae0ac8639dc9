import asyncio
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from euglena_gateway.auth import MAX_TOKEN_BYTES, TokenVerifier
from euglena_gateway.errors import Forbidden, Unauthorized

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
# Parametrized tokens are minted at collection, possibly long before their test runs.
VALID_FOR = 24 * 3600


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "aud": "authenticated",
        "role": "authenticated",
        "exp": int(time.time()) + VALID_FOR,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _bearer(claims: dict[str, Any], key: Any = SECRET, alg: str = "HS256") -> str:
    return "Bearer " + jwt.encode(claims, key, algorithm=alg)


async def test_a_valid_user_token_identifies_the_user() -> None:
    claims = _claims()
    principal = await TokenVerifier(secret=SECRET).verify(_bearer(claims))
    assert str(principal.user_id) == claims["sub"]
    assert not principal.is_service


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing Authorization header"),
        ("Basic abc", "must be 'Bearer"),
        ("Bearer not-a-jwt", "not a well-formed JWT"),
        (_bearer(_claims(exp=int(time.time()) - 3600)), "expired"),
        (_bearer(_claims(exp=None)), "invalid"),
        (_bearer(_claims(aud="someone-else")), "audience"),
        (_bearer(_claims(sub="not-a-uuid")), "'sub'"),
        (_bearer(_claims(), key="another-secret-of-sufficient-length-here"), "invalid"),
        (_bearer(_claims(), key="x" * 64, alg="HS512"), "HS512"),
    ],
)
async def test_bad_tokens_are_refused_with_a_reason(header: str | None, message: str) -> None:
    with pytest.raises(Unauthorized) as info:
        await TokenVerifier(secret=SECRET).verify(header)
    assert message in info.value.message


async def test_the_anon_key_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        await TokenVerifier(secret=SECRET).verify(_bearer(_claims(role="anon", sub=None, aud=None)))


async def test_a_supabase_service_key_without_sub_or_aud_is_the_service_role() -> None:
    claims = {"role": "service_role", "iss": "supabase", "exp": int(time.time()) + 60}
    principal = await TokenVerifier(secret=SECRET).verify(_bearer(claims))
    assert principal.is_service and principal.user_id is None


async def test_asymmetric_tokens_are_checked_against_the_jwks(jwks_server: Any) -> None:
    key, url = jwks_server
    claims = _claims()
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    principal = await TokenVerifier(secret="", jwks_url=url).verify(f"Bearer {token}")
    assert str(principal.user_id) == claims["sub"]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(Unauthorized):
        await TokenVerifier(secret="", jwks_url=url).verify(f"Bearer {forged}")


async def test_a_remembered_token_is_refused_once_it_expires() -> None:
    verifier = TokenVerifier(secret=SECRET, leeway_seconds=0)
    header = _bearer(_claims(exp=int(time.time()) + 2))
    assert (await verifier.verify(header)).user_id is not None
    await verifier.verify(header)  # served from memory
    expired_at = time.time() + 2.5
    while time.time() < expired_at:  # no clock to inject into PyJWT: wait for expiry
        await asyncio.sleep(0.25)
    with pytest.raises(Unauthorized, match="expired"):
        await verifier.verify(header)


async def test_an_oversized_token_is_refused_even_when_correctly_signed() -> None:
    verifier = TokenVerifier(secret=SECRET)
    claims = {"sub": str(uuid.uuid4()), "aud": "authenticated", "exp": int(time.time()) + 60}
    token = jwt.encode({**claims, "padding": "x" * MAX_TOKEN_BYTES}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="larger than"):
        await verifier.verify(f"Bearer {token}")
