"""Failed sign-ins slow the guesser down; only a distributed guess locks the account, and even
then the owner gets in (a password reset, or an address they signed in from before)."""

import asyncio
import time
import uuid

import pytest
from auth_testkit import (
    API,
    audit_actions,
    bearer,
    client_from,
    fail_from_addresses,
    login,
    overridden,
    redis_unreachable,
    requested_reset_token,
)

BAD = "wrong password entirely"
FREE_FAILURES = 5  # login_throttle_failures
STRIP = ("request_id", "instance")


async def _attempt(client, username, password=BAD):
    return await client.post(f"{API}/login", json={"username": username, "password": password})


def _answer(response):
    body = {k: v for k, v in response.json().items() if k not in STRIP}
    return response.status_code, body, "retry-after" in response.headers


def _addresses(count):
    """Fresh addresses for one test (a random /24 in 10.0.0.0/8)."""
    net = uuid.uuid4().int % 65_000
    return [f"10.{net // 256}.{net % 256}.{i + 1}" for i in range(count)]


@pytest.fixture
def distributed_lock(runtime):
    """A distributed-attack threshold of three addresses, to keep the tests short."""
    with overridden(runtime.settings, lockout_distinct_addresses=3):
        yield 3


async def test_an_attackers_failures_from_one_address_do_not_stop_the_owner_elsewhere(app, user):
    attacker_ip, owner_ip = _addresses(2)
    async with client_from(app, attacker_ip) as attacker:
        codes = [(await _attempt(attacker, user["username"])).status_code for _ in range(12)]
    async with client_from(app, owner_ip) as owner:
        response = await _attempt(owner, user["username"], user["password"])
    assert codes == [401] * FREE_FAILURES + [429] * (12 - FREE_FAILURES)
    assert response.status_code == 200


async def test_repeated_failures_from_one_address_answer_429_with_retry_after(app, user):
    async with client_from(app, _addresses(1)[0]) as attacker:
        for _ in range(FREE_FAILURES):
            assert (await _attempt(attacker, user["username"])).status_code == 401
        response = await _attempt(attacker, user["username"])
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert 0 < int(response.headers["Retry-After"]) <= 30


async def test_a_throttled_address_waits_even_with_the_right_password(app, user):
    async with client_from(app, _addresses(1)[0]) as attacker:
        for _ in range(FREE_FAILURES):
            await _attempt(attacker, user["username"])
        response = await _attempt(attacker, user["username"], user["password"])
    assert response.status_code == 429


async def test_the_wait_doubles_with_each_failure_after_it(app, runtime, user):
    with overridden(runtime.settings, login_throttle_delay_seconds=1):
        async with client_from(app, _addresses(1)[0]) as attacker:
            for _ in range(FREE_FAILURES):
                await _attempt(attacker, user["username"])
            first = await _attempt(attacker, user["username"])
            deadline = time.monotonic() + 10
            while (retry := await _attempt(attacker, user["username"])).status_code == 429:
                assert time.monotonic() < deadline, "the one-second wait never ended"
                await asyncio.sleep(0.2)
            second = await _attempt(attacker, user["username"])
    assert first.headers["Retry-After"] == "1"
    assert retry.status_code == 401
    assert second.status_code == 429 and second.headers["Retry-After"] == "2"


async def test_throttling_still_holds_when_redis_is_unreachable(app, runtime, user):
    async with redis_unreachable(runtime), client_from(app, _addresses(1)[0]) as attacker:
        codes = [(await _attempt(attacker, user["username"])).status_code for _ in range(7)]
    assert codes == [401] * FREE_FAILURES + [429] * 2


async def test_unknown_user_is_throttled_exactly_like_a_known_one(app, user):
    known_ip, unknown_ip = _addresses(2)
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    async with client_from(app, known_ip) as attacker:
        known = [_answer(await _attempt(attacker, user["username"])) for _ in range(7)]
    async with client_from(app, unknown_ip) as attacker:
        unknown = [_answer(await _attempt(attacker, ghost)) for _ in range(7)]
    assert unknown == known


async def test_a_success_forgets_the_failures_of_that_address(app, user):
    async with client_from(app, _addresses(1)[0]) as owner:
        for _ in range(FREE_FAILURES - 1):
            await _attempt(owner, user["username"])
        await login(owner, user)
        for _ in range(FREE_FAILURES - 1):
            await _attempt(owner, user["username"])
        response = await _attempt(owner, user["username"], user["password"])
    assert response.status_code == 200


async def test_many_addresses_failing_on_one_account_hard_lock_it(
    app, user, runtime, distributed_lock
):
    *attackers, newcomer = _addresses(distributed_lock + 1)
    await fail_from_addresses(app, user["username"], attackers)
    async with client_from(app, newcomer) as someone:
        response = await _attempt(someone, user["username"], user["password"])
    assert response.status_code == 401
    assert ("lockout", "success") in await audit_actions(runtime, user["id"])


async def test_fewer_addresses_than_the_threshold_do_not_lock(app, user, distributed_lock):
    *attackers, newcomer = _addresses(distributed_lock)
    await fail_from_addresses(app, user["username"], attackers)
    async with client_from(app, newcomer) as owner:
        response = await _attempt(owner, user["username"], user["password"])
    assert response.status_code == 200


async def test_hard_locked_account_answers_exactly_like_a_wrong_password(
    app, user, distributed_lock
):
    *attackers, first, second = _addresses(distributed_lock + 2)
    async with client_from(app, first) as someone:
        wrong = _answer(await _attempt(someone, user["username"]))
    await fail_from_addresses(app, user["username"], attackers)
    async with client_from(app, second) as someone:
        locked = _answer(await _attempt(someone, user["username"], user["password"]))
    assert locked == wrong


async def test_hard_locked_owner_gets_in_from_an_address_they_signed_in_from_before(
    app, user, distributed_lock
):
    home, *attackers, elsewhere = _addresses(distributed_lock + 2)
    async with client_from(app, home) as owner:
        await login(owner, user)
    await fail_from_addresses(app, user["username"], attackers)
    async with client_from(app, elsewhere) as stranger:
        refused = await _attempt(stranger, user["username"], user["password"])
    async with client_from(app, home) as owner:
        response = await _attempt(owner, user["username"], user["password"])
    assert refused.status_code == 401
    assert response.status_code == 200


async def test_a_known_address_does_not_help_a_wrong_password(app, user, distributed_lock):
    home, *attackers = _addresses(distributed_lock + 1)
    async with client_from(app, home) as owner:
        await login(owner, user)
    await fail_from_addresses(app, user["username"], attackers)
    async with client_from(app, home) as owner:
        assert (await _attempt(owner, user["username"])).status_code == 401


async def test_hard_locked_owner_gets_in_after_a_password_reset(
    app, client, user, runtime, distributed_lock
):
    *attackers, newcomer, other = _addresses(distributed_lock + 2)
    await fail_from_addresses(app, user["username"], attackers)
    async with client_from(app, other) as owner:
        # Locked: even the right password is refused from an address never used before.
        locked = await _attempt(owner, user["username"], user["password"])
    token = await requested_reset_token(client, runtime, user)
    new_password = "a brand new passphrase 77"
    confirmed = await client.post(
        f"{API}/password-reset/confirm", json={"token": token, "new_password": new_password}
    )
    async with client_from(app, newcomer) as owner:
        response = await _attempt(owner, user["username"], new_password)
    assert locked.status_code == 401
    assert confirmed.status_code == 204
    assert response.status_code == 200, "the reset ended the lock"
    assert "access_token" in response.json()


async def test_hard_lock_ends_after_its_duration(app, user, clock, distributed_lock):
    *attackers, newcomer = _addresses(distributed_lock + 1)
    await fail_from_addresses(app, user["username"], attackers)
    async with client_from(app, newcomer) as owner:
        assert (await _attempt(owner, user["username"], user["password"])).status_code == 401
        clock.advance(31 * 60)
        assert (await _attempt(owner, user["username"], user["password"])).status_code == 200


async def test_hard_lock_leaves_the_owners_sessions_refreshing(app, client, user, distributed_lock):
    tokens = await login(client, user)
    await fail_from_addresses(app, user["username"], _addresses(distributed_lock))
    response = await client.post(f"{API}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200
    assert (await client.get(f"{API}/me", headers=bearer(response.json()))).status_code == 200


async def test_admin_unlocks_a_hard_lock(app, client, admin, user, distributed_lock):
    *attackers, newcomer = _addresses(distributed_lock + 1)
    await fail_from_addresses(app, user["username"], attackers)
    detail = (
        await client.get(f"{API}/admin/users/{user['id']}", headers=bearer(admin["tokens"]))
    ).json()
    assert detail["locked"] is True and detail["locked_until"]
    await client.post(f"{API}/admin/users/{user['id']}/unlock", headers=bearer(admin["tokens"]))
    async with client_from(app, newcomer) as owner:
        assert (await _attempt(owner, user["username"], user["password"])).status_code == 200
