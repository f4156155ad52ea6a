"""Another service's view: the common lib fetches the JWKS over HTTP, caches it, and picks up
a rotated key when a token names a kid it does not know yet."""

import asyncio

import pytest
import uvicorn
from auth_testkit import login

from swe_auth.keys.service import rotate
from swe_common.security import JWKSClient, TokenVerifier


@pytest.fixture
async def served(app):
    """The running test app, also served over real HTTP on a free port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_verifier_fetches_the_jwks_and_follows_a_key_rotation(served, client, user, runtime):
    keys = JWKSClient(f"{served}/api/v1/auth/.well-known/jwks.json", min_refresh_seconds=0)
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
