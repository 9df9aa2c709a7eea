"""Every auth flow, end to end against the real database: registration, the OAuth2
password flow, refresh rotation, logout, API keys, roles, password reset, email
verification, the first superuser, signing key rotation."""

import logging
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select, update

from app.core.config import get_settings
from app.features.auth.cli import create_superuser
from app.features.auth.models import AuthActionToken, AuthUser
from app.features.auth.service import now
from tests.features.auth.conftest import (
    PASSWORD,
    TOKEN_URL,
    Api,
    ApiFactory,
    bearer,
    new_email,
)

ITEMS = "/api/v1/items"
ITEM = {"name": "Lamp", "price": "19.90"}


async def stored_user(api: Api, email: str) -> AuthUser:
    async with api.app.state.database.sessionmaker() as session:
        user: AuthUser | None = await session.scalar(
            select(AuthUser).where(AuthUser.email == email)
        )
    assert user is not None
    return user


async def test_register_login_and_who_am_i(api: Api) -> None:
    email = await api.register(new_email("Ada").replace("ada", "Ada"))
    response = await api.login(email.upper())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = await api.client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == email.lower()
    assert me.json()["permissions"] == []
    assert {"auth.registered", "auth.login"} <= set(api.actions())
    login = next(e for e in api.events if e.action == "auth.login")
    assert login.actor == f"user:{me.json()['id']}"
    assert "password" not in str(login.data) and PASSWORD not in str(login.data)


async def test_an_email_registers_once_whatever_its_case(api: Api) -> None:
    email = await api.register()
    again = await api.client.post(
        "/api/v1/auth/register", json={"email": email.upper(), "password": PASSWORD}
    )
    assert again.status_code == 409


async def test_registration_can_be_closed(make_api: ApiFactory) -> None:
    async with make_api(AUTH_REGISTRATION_OPEN=False) as api:
        response = await api.client.post(
            "/api/v1/auth/register", json={"email": new_email(), "password": PASSWORD}
        )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "password",
    ["short pass", "a" * 20, "password1234", "Password123!", "x" * 129],
)
async def test_weak_passwords_are_refused(api: Api, password: str) -> None:
    response = await api.client.post(
        "/api/v1/auth/register", json={"email": new_email(), "password": password}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["loc"] == ["body", "password"]


async def test_the_password_may_not_be_the_email(api: Api) -> None:
    email = new_email()
    response = await api.client.post(
        "/api/v1/auth/register", json={"email": email, "password": email.upper()}
    )
    assert response.status_code == 422


async def test_the_schema_publishes_the_password_rules(api: Api) -> None:
    document = api.app.openapi()
    schema = document["components"]["schemas"]["Registration"]["properties"]
    password = schema["password"]
    assert password["minLength"] == 12
    assert password["maxLength"] == 128
    assert "password1234" in password["not"]["anyOf"][1]["enum"]


async def test_swagger_authorize_uses_the_password_flow(api: Api) -> None:
    document = api.app.openapi()
    schemes = document["components"]["securitySchemes"]
    flow = schemes["OAuth2PasswordBearer"]["flows"]["password"]
    assert flow["tokenUrl"] == TOKEN_URL
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    # The template's guarded routes say so too, so Authorize applies to them.
    assert document["paths"][ITEMS]["post"]["security"]
    assert "security" not in document["paths"][ITEMS]["get"]
    assert document["paths"]["/api/v1/auth/me"]["get"]["security"]
    # Credentials in the body: no header to send.
    assert "security" not in document["paths"][TOKEN_URL]["post"]
    assert "security" not in document["paths"]["/api/v1/auth/refresh"]["post"]


async def test_refresh_rotates_the_pair(api: Api) -> None:
    email = await api.register()
    first = await api.tokens(email)
    response = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    me = await api.client.get("/api/v1/auth/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200
    # The new refresh token rotates in turn.
    third = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert third.status_code == 200


async def test_logout_ends_the_session_at_once(api: Api) -> None:
    email = await api.register()
    tokens = await api.tokens(email)
    other = await api.tokens(email)  # another device
    response = await api.client.post(
        "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 204
    refresh = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401
    me = await api.client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    # The other session goes on.
    other_me = await api.client.get(
        "/api/v1/auth/me", headers=bearer(other["access_token"])
    )
    assert other_me.status_code == 200
    assert "auth.logout" in api.actions()
    # An unknown token gets the same answer and changes nothing.
    unknown = await api.client.post(
        "/api/v1/auth/logout", json={"refresh_token": "not-a-token"}
    )
    assert unknown.status_code == 204


async def test_login_rehashes_when_the_parameters_change(
    make_api: ApiFactory,
) -> None:
    async with make_api() as api:
        email = await api.register()
        before = (await stored_user(api, email)).password_hash
    async with make_api(AUTH_ARGON2_TIME_COST=2) as api:
        assert (await api.login(email)).status_code == 200
        after = (await stored_user(api, email)).password_hash
    assert "t=1" in before
    assert "t=2" in after
    assert after.startswith("$argon2id$")


async def test_roles_grant_permissions_and_their_removal_takes_effect_at_once(
    api: Api,
) -> None:
    admin = await api.admin()
    email, user = await api.user()
    me = (await api.client.get("/api/v1/auth/me", headers=user)).json()
    assert (await api.client.post(ITEMS, json=ITEM, headers=user)).status_code == 403

    role = await api.client.post(
        "/api/v1/auth/roles",
        json={"name": f"writer-{me['id']}", "permissions": ["items:write"]},
        headers=admin,
    )
    assert role.status_code == 201, role.text
    granted = await api.client.put(
        f"/api/v1/auth/users/{me['id']}/roles",
        json={"roles": [f"writer-{me['id']}"]},
        headers=admin,
    )
    assert granted.status_code == 200
    assert granted.json()["permissions"] == ["items:write"]
    assert (await api.client.post(ITEMS, json=ITEM, headers=user)).status_code == 201

    removed = await api.client.put(
        f"/api/v1/auth/users/{me['id']}/roles", json={"roles": []}, headers=admin
    )
    assert removed.status_code == 200
    # The same access token, no longer allowed.
    assert (await api.client.post(ITEMS, json=ITEM, headers=user)).status_code == 403
    changes = [e for e in api.events if e.action == "auth.roles_changed"]
    assert [e.data["after"] for e in changes] == [[f"writer-{me['id']}"], []]
    assert changes[0].target == f"user:{me['id']}"


async def test_managing_roles_needs_auth_admin(api: Api) -> None:
    _, user = await api.user()
    listing = await api.client.get("/api/v1/auth/roles", headers=user)
    creating = await api.client.post(
        "/api/v1/auth/roles",
        json={"name": "mine", "permissions": ["auth:admin"]},
        headers=user,
    )
    anonymous = await api.client.get("/api/v1/auth/roles")
    assert listing.status_code == 403
    assert creating.status_code == 403
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"


async def test_unknown_users_and_roles_are_404(api: Api) -> None:
    admin = await api.admin()
    unknown_user = await api.client.put(
        "/api/v1/auth/users/999999999/roles", json={"roles": []}, headers=admin
    )
    me = (await api.client.get("/api/v1/auth/me", headers=admin)).json()
    unknown_role = await api.client.put(
        f"/api/v1/auth/users/{me['id']}/roles",
        json={"roles": ["no-such-role"]},
        headers=admin,
    )
    assert unknown_user.status_code == 404
    assert unknown_role.status_code == 404


async def grant(api: Api, admin: dict[str, str], user_id: int, *perms: str) -> None:
    name = f"role-{user_id}-{len(api.events)}"
    created = await api.client.post(
        "/api/v1/auth/roles",
        json={"name": name, "permissions": list(perms)},
        headers=admin,
    )
    assert created.status_code == 201
    response = await api.client.put(
        f"/api/v1/auth/users/{user_id}/roles", json={"roles": [name]}, headers=admin
    )
    assert response.status_code == 200


async def test_api_keys_are_shown_once_listed_used_and_revoked(api: Api) -> None:
    admin = await api.admin()
    _, user = await api.user()
    me = (await api.client.get("/api/v1/auth/me", headers=user)).json()
    await grant(api, admin, me["id"], "items:write", "reports:read")

    created = await api.client.post(
        "/api/v1/auth/api-keys",
        json={"name": "ci", "scopes": ["items:write"]},
        headers=user,
    )
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["key"].startswith("ak_")
    listing = (await api.client.get("/api/v1/auth/api-keys", headers=user)).json()
    assert [k["id"] for k in listing] == [key["id"]]
    assert "key" not in listing[0]
    assert key["key"] not in str(listing)
    created_event = next(e for e in api.events if e.action == "auth.api_key_created")
    assert key["key"] not in str(created_event)

    machine = {"X-API-Key": key["key"]}
    assert (await api.client.post(ITEMS, json=ITEM, headers=machine)).status_code == 201

    revoked = await api.client.delete(
        f"/api/v1/auth/api-keys/{key['id']}", headers=user
    )
    assert revoked.status_code == 204
    after = await api.client.post(ITEMS, json=ITEM, headers=machine)
    assert after.status_code == 401
    assert "auth.api_key_revoked" in api.actions()
    listing = (await api.client.get("/api/v1/auth/api-keys", headers=user)).json()
    assert listing[0]["revoked"] is True


async def test_a_key_holds_only_its_scopes_and_its_owners_permissions(
    api: Api,
) -> None:
    admin = await api.admin()
    _, user = await api.user()
    me = (await api.client.get("/api/v1/auth/me", headers=user)).json()
    await grant(api, admin, me["id"], "items:write", "reports:read")

    beyond = await api.client.post(
        "/api/v1/auth/api-keys",
        json={"name": "x", "scopes": ["auth:admin"]},
        headers=user,
    )
    assert beyond.status_code == 403
    reader = await api.client.post(
        "/api/v1/auth/api-keys",
        json={"name": "r", "scopes": ["reports:read"]},
        headers=user,
    )
    machine = {"X-API-Key": reader.json()["key"]}
    # Missing scope: 403, not 401.
    assert (await api.client.post(ITEMS, json=ITEM, headers=machine)).status_code == 403
    # A key does not manage keys or read the account.
    own = await api.client.get("/api/v1/auth/api-keys", headers=machine)
    assert own.status_code == 403

    writer = await api.client.post(
        "/api/v1/auth/api-keys",
        json={"name": "w", "scopes": ["items:write"]},
        headers=user,
    )
    machine = {"X-API-Key": writer.json()["key"]}
    assert (await api.client.post(ITEMS, json=ITEM, headers=machine)).status_code == 201
    # The owner loses the permission: so does the key.
    await api.client.put(
        f"/api/v1/auth/users/{me['id']}/roles", json={"roles": []}, headers=admin
    )
    assert (await api.client.post(ITEMS, json=ITEM, headers=machine)).status_code == 403


async def test_password_reset(api: Api) -> None:
    email = await api.register()
    old = await api.tokens(email)
    asked = await api.client.post("/api/v1/auth/password-reset", json={"email": email})
    assert asked.status_code == 202
    token = api.mailer.token_for(email)

    new_password = "a brand new passphrase"
    confirmed = await api.client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": new_password},
    )
    assert confirmed.status_code == 204
    assert (await api.login(email)).status_code == 401
    assert (await api.login(email, new_password)).status_code == 200
    # Single use; and every earlier session has ended.
    again = await api.client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "yet another passphrase"},
    )
    assert again.status_code == 404
    me = await api.client.get("/api/v1/auth/me", headers=bearer(old["access_token"]))
    assert me.status_code == 401
    assert "auth.password_reset" in api.actions()


async def test_a_reset_token_expires(api: Api) -> None:
    email = await api.register()
    await api.client.post("/api/v1/auth/password-reset", json={"email": email})
    token = api.mailer.token_for(email)
    async with api.app.state.database.sessionmaker() as session:
        await session.execute(
            update(AuthActionToken)
            .values(expires_at=now() - timedelta(seconds=1))
            .where(AuthActionToken.user_id == (await stored_user(api, email)).id)
        )
        await session.commit()
    response = await api.client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "a brand new passphrase"},
    )
    assert response.status_code == 404


async def test_a_reset_token_is_not_a_verification_token(api: Api) -> None:
    email = await api.register()
    await api.client.post("/api/v1/auth/password-reset", json={"email": email})
    token = api.mailer.token_for(email)
    response = await api.client.post(
        "/api/v1/auth/verify-email/confirm", json={"token": token}
    )
    assert response.status_code == 404


async def test_without_a_mailer_the_message_is_logged(
    make_api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_api(mail=False) as api:
        email = await api.register()
        with caplog.at_level(logging.WARNING, "app.features.auth.mail"):
            await api.client.post("/api/v1/auth/password-reset", json={"email": email})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Reset your password" in logged
    assert email in logged


async def test_email_verification(make_api: ApiFactory) -> None:
    async with make_api(AUTH_REQUIRE_VERIFIED_EMAIL=True) as api:
        email = await api.register()
        assert (await api.login(email)).status_code == 403
        token = api.mailer.token_for(email)
        confirmed = await api.client.post(
            "/api/v1/auth/verify-email/confirm", json={"token": token}
        )
        assert confirmed.status_code == 204
        tokens = await api.tokens(email)
        me = await api.client.get(
            "/api/v1/auth/me", headers=bearer(tokens["access_token"])
        )
        assert me.json()["email_verified"] is True
        again = await api.client.post(
            "/api/v1/auth/verify-email/confirm", json={"token": token}
        )
        assert again.status_code == 404
        assert "auth.email_verified" in api.actions()


async def test_the_first_superuser_comes_from_the_settings(api: Api) -> None:
    admin = await api.admin()
    me = (await api.client.get("/api/v1/auth/me", headers=admin)).json()
    assert me["is_superuser"] is True
    assert me["email_verified"] is True


async def test_the_superuser_command(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    email = new_email("cli")
    monkeypatch.setenv("DATABASE_URL", str(api.app.state.settings.DATABASE_URL))
    get_settings.cache_clear()
    try:
        said = await create_superuser(email, "the command's passphrase")
        promoted = await create_superuser(await api.register(), None)
    finally:
        get_settings.cache_clear()
    assert said == f"created the superuser {email}"
    assert promoted.endswith("is now a superuser")
    tokens = await api.tokens(email, "the command's passphrase")
    me = await api.client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["is_superuser"] is True


async def test_signing_keys_rotate_without_logging_anyone_out(
    make_api: ApiFactory,
) -> None:
    old = "old:" + "k3y-0ld-" * 6
    new = "new:" + "k3y-n3w-" * 6
    async with make_api(AUTH_SIGNING_KEYS=old) as api:
        email = await api.register()
        before = await api.tokens(email)
    async with make_api(AUTH_SIGNING_KEYS=f"{new},{old}") as api:
        still = await api.client.get(
            "/api/v1/auth/me", headers=bearer(before["access_token"])
        )
        assert still.status_code == 200
        refreshed = await api.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": before["refresh_token"]}
        )
        after = refreshed.json()
    assert jwt.get_unverified_header(before["access_token"])["kid"] == "old"
    assert jwt.get_unverified_header(after["access_token"])["kid"] == "new"
    async with make_api(AUTH_SIGNING_KEYS=new) as api:
        gone = await api.client.get(
            "/api/v1/auth/me", headers=bearer(before["access_token"])
        )
        kept = await api.client.get(
            "/api/v1/auth/me", headers=bearer(after["access_token"])
        )
    assert gone.status_code == 401
    assert kept.status_code == 200
