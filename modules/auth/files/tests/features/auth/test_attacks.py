"""What an attacker tries against auth, and what they get: forged, expired, tampered,
wrong-key and `alg: none` tokens; one kind of token used as another; a stolen refresh
token replayed; revoked keys; missing credentials (401) against missing permissions
(403); telling registered emails from others by message or timing; brute force."""

import asyncio
import base64
import json
import statistics
import time
import uuid
from datetime import timedelta

import jwt
import pytest

from tests.features.auth.conftest import PASSWORD, Api, ApiFactory, bearer, new_email

ME = "/api/v1/auth/me"
ITEMS = "/api/v1/items"


def b64(data: dict[str, object] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pad(text: str) -> str:
    return text + "=" * (-len(text) % 4)


def parts(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    header, payload, signature = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


async def assert_refused(api: Api, token: str) -> None:
    response = await api.client.get(ME, headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


async def session_tokens(api: Api) -> dict[str, str]:
    email = await api.register()
    return await api.tokens(email)


async def test_an_expired_access_token_is_refused(api: Api) -> None:
    tokens = await session_tokens(api)
    _, claims, _ = parts(tokens["access_token"])
    expired, _ = api.app.state.auth.keys.issue_access(
        int(str(claims["sub"])), uuid.UUID(str(claims["sid"])), timedelta(seconds=-5)
    )
    await assert_refused(api, expired)
    # The same session's valid token still works: it is the expiry that refused it.
    ok = await api.client.get(ME, headers=bearer(tokens["access_token"]))
    assert ok.status_code == 200


async def test_a_tampered_access_token_is_refused(api: Api) -> None:
    victim = await session_tokens(api)
    attacker = await session_tokens(api)
    _, victim_claims, _ = parts(victim["access_token"])
    header, claims, signature = parts(attacker["access_token"])
    # The attacker's signed token, claiming to be the victim.
    claims["sub"] = victim_claims["sub"]
    forged = f"{b64(header)}.{b64(claims)}.{signature}"
    await assert_refused(api, forged)
    await assert_refused(api, attacker["access_token"][:-2] + "xx")


async def test_a_token_signed_with_another_key_is_refused(api: Api) -> None:
    tokens = await session_tokens(api)
    header, claims, _ = parts(tokens["access_token"])
    # Same kid, another secret; and a kid that is not ours.
    wrong_key = jwt.encode(claims, "not-the-key" * 4, algorithm="HS256", headers=header)
    unknown_kid = jwt.encode(
        claims, "not-the-key" * 4, algorithm="HS256", headers={"kid": "evil"}
    )
    await assert_refused(api, wrong_key)
    await assert_refused(api, unknown_kid)


async def test_alg_none_and_other_algorithms_are_refused(api: Api) -> None:
    tokens = await session_tokens(api)
    header, claims, _ = parts(tokens["access_token"])
    for alg in ("none", "None", "NONE"):
        unsigned = f"{b64({**header, 'alg': alg})}.{b64(claims)}."
        await assert_refused(api, unsigned)
    # HS512 with the right structure but not our algorithm.
    other = jwt.encode(claims, "x" * 64, algorithm="HS512", headers=header)
    await assert_refused(api, other)


async def test_garbage_and_wrong_schemes_are_401_not_500(api: Api) -> None:
    for value in [
        "Bearer",
        "Bearer ",
        "Basic YTpi",
        "Bearer a.b.c",
        "Bearer ....",
        "x",
    ]:
        response = await api.client.get(ME, headers={"Authorization": value})
        assert response.status_code == 401, value


async def test_an_access_token_is_not_a_refresh_token_nor_the_reverse(
    api: Api,
) -> None:
    tokens = await session_tokens(api)
    as_refresh = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]}
    )
    # A JWT is not even the shape of a refresh token.
    assert as_refresh.status_code in {401, 422}
    await assert_refused(api, tokens["refresh_token"])
    # The refresh token, unharmed by the try, still refreshes.
    ok = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert ok.status_code == 200


async def test_a_reused_refresh_token_revokes_its_whole_family(api: Api) -> None:
    tokens = await session_tokens(api)
    stolen = tokens["refresh_token"]
    # The legitimate client rotates ...
    rotated = (
        await api.client.post("/api/v1/auth/refresh", json={"refresh_token": stolen})
    ).json()
    # ... then the thief replays the spent token.
    replay = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": stolen}
    )
    assert replay.status_code == 401
    # Everything of that session is dead: the rotated refresh token and both access
    # tokens.
    after = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
    )
    assert after.status_code == 401
    await assert_refused(api, rotated["access_token"])
    await assert_refused(api, tokens["access_token"])
    reuse = [e for e in api.events if e.action == "auth.refresh_reuse_detected"]
    assert len(reuse) == 1
    assert stolen not in str(reuse[0])


async def test_concurrent_refreshes_of_one_token_give_one_pair(api: Api) -> None:
    tokens = await session_tokens(api)
    responses = await asyncio.gather(
        *(
            api.client.post(
                "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in responses).count(200) <= 1


async def test_revoked_and_forged_api_keys_are_refused(api: Api) -> None:
    admin = await api.admin()
    created = await api.client.post(
        "/api/v1/auth/api-keys",
        json={"name": "k", "scopes": ["items:write"]},
        headers=admin,
    )
    key = created.json()
    await api.client.delete(f"/api/v1/auth/api-keys/{key['id']}", headers=admin)
    prefix, _, secret = key["key"].rpartition("_")
    for value in [
        key["key"],  # revoked
        f"ak_{key['id']}_{'A' * len(secret)}",  # right id, wrong secret
        "ak_0000000000000000_secret",
        "not a key",
    ]:
        response = await api.client.post(
            ITEMS, json={"name": "x", "price": "1"}, headers={"X-API-Key": value}
        )
        assert response.status_code == 401, value
        assert "www-authenticate" in response.headers


async def test_another_users_key_cannot_be_revoked(api: Api) -> None:
    admin = await api.admin()
    key = (
        await api.client.post(
            "/api/v1/auth/api-keys", json={"name": "k"}, headers=admin
        )
    ).json()
    _, user = await api.user()
    response = await api.client.delete(
        f"/api/v1/auth/api-keys/{key['id']}", headers=user
    )
    assert response.status_code == 404


async def test_missing_credentials_are_401_missing_permission_403(api: Api) -> None:
    _, user = await api.user()
    anonymous = await api.client.post(ITEMS, json={"name": "x", "price": "1"})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    forbidden = await api.client.post(
        ITEMS, json={"name": "x", "price": "1"}, headers=user
    )
    assert forbidden.status_code == 403
    assert "www-authenticate" not in forbidden.headers
    both = await api.client.get(ME, headers={**user, "X-API-Key": "ak_x"})
    assert both.status_code == 401


async def test_login_says_the_same_for_unknown_emails_and_wrong_passwords(
    api: Api,
) -> None:
    email = await api.register()
    wrong = await api.login(email, "not the password at all")
    unknown = await api.login(new_email("nobody"), "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]
    failed = [e for e in api.events if e.action == "auth.login_failed"]
    assert len(failed) == 2
    assert "not the password" not in str(failed)


async def median_seconds(api: Api, email: str, times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        response = await api.login(email, "not the password at all")
        samples.append(time.perf_counter() - started)
        assert response.status_code == 401
    return statistics.median(samples)


async def test_login_takes_as_long_for_unknown_emails(make_api: ApiFactory) -> None:
    # A real cost (a few tens of ms), so that skipping the hash would show; no backoff.
    async with make_api(
        AUTH_ARGON2_MEMORY_COST=32 * 1024,
        AUTH_ARGON2_TIME_COST=2,
        AUTH_LOGIN_MAX_FAILURES=1000,
    ) as api:
        email = await api.register()
        await median_seconds(api, new_email(), 2)  # warm up (the dummy hash)
        known = unknown = 0.0
        for _ in range(3):
            known += await median_seconds(api, email, 5)
            unknown += await median_seconds(api, new_email("nobody"), 5)
    # Without the dummy verification an unknown email answers several times faster.
    assert 0.6 < unknown / known < 1.6, (known, unknown)


async def test_password_reset_says_the_same_for_unknown_emails(api: Api) -> None:
    email = await api.register()
    known = await api.client.post("/api/v1/auth/password-reset", json={"email": email})
    unknown = await api.client.post(
        "/api/v1/auth/password-reset", json={"email": new_email("nobody")}
    )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m["To"] for m in api.mailer.outbox if "Reset" in m["Subject"]] == [email]


async def test_brute_force_is_slowed_per_account(make_api: ApiFactory) -> None:
    async with make_api(
        AUTH_LOGIN_MAX_FAILURES=3, AUTH_LOGIN_BACKOFF_SECONDS=2.0
    ) as api:
        email = await api.register()
        statuses = [
            (await api.login(email, f"guess number {n}")).status_code for n in range(3)
        ]
        assert statuses == [401, 401, 401]
        # Locked: even the right password waits, and the answer says how long.
        locked = await api.login(email)
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= 2
        # An unknown email locks the same way: the lock tells nothing.
        nobody = new_email("nobody")
        for n in range(3):
            await api.login(nobody, f"guess number {n}")
        unknown_locked = await api.login(nobody)
        assert unknown_locked.status_code == 429
        assert (
            unknown_locked.json()["error"]["message"]
            == locked.json()["error"]["message"]
        )
        # Other accounts are not affected.
        other = await api.register()
        assert (await api.login(other)).status_code == 200
        # After the wait the right password gets in, and the count starts again.
        await asyncio.sleep(2.2)
        assert (await api.login(email)).status_code == 200
        assert (await api.login(email, "one more wrong guess")).status_code == 401
        assert (await api.login(email)).status_code == 200


async def test_the_backoff_doubles_with_each_failure(make_api: ApiFactory) -> None:
    async with make_api(
        AUTH_LOGIN_MAX_FAILURES=1, AUTH_LOGIN_BACKOFF_SECONDS=1.0
    ) as api:
        email = await api.register()
        waits = []
        for n in range(3):
            assert (await api.login(email, f"wrong guess {n}")).status_code == 401
            locked = await api.login(email)
            assert locked.status_code == 429
            waits.append(int(locked.headers["retry-after"]))
            await asyncio.sleep(waits[-1] + 0.1)
    assert waits == [1, 2, 4]


@pytest.mark.parametrize("field", ["username", "password"])
async def test_oversized_login_fields_are_422(api: Api, field: str) -> None:
    data = {"username": new_email(), "password": PASSWORD, field: "x" * 300}
    response = await api.client.post("/api/v1/auth/token", data=data)
    assert response.status_code == 422
