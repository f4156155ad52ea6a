"""Another service's view: the common lib fetches the JWKS over HTTP, caches it, and picks up
a rotated key when a token names a kid it does not know yet."""

import pytest
from auth_testkit import login

from swe_auth.keys.service import rotate
from swe_common.security import JWKSClient, TokenVerifier
from swe_common.testing import served


@pytest.fixture
async def base_url(app):
    """The running test app, also served over real HTTP on a free port."""
    async with served(app) as url:
        yield url


async def test_verifier_fetches_the_jwks_and_follows_a_key_rotation(
    base_url, client, user, runtime
):
    keys = JWKSClient(f"{base_url}/api/v1/auth/.well-known/jwks.json", min_refresh_seconds=0)
    verifier = TokenVerifier(keys, issuer="swe-auth", audience="swe-platform")
    try:
        first = await login(client, user)
        assert (await verifier.verify(first["access_token"])).subject == user["id"]
        async with runtime.db.transaction() as session:
            await rotate(session, runtime.box, runtime.clock)
        await runtime.keyring.load()
        second = await login(client, user)
        # The new kid is unknown to the cached JWKS: the client refreshes and accepts it.
        assert (await verifier.verify(second["access_token"])).subject == user["id"]
        assert (await verifier.verify(first["access_token"])).subject == user["id"]
    finally:
        await keys.close()
