"""Production settings are enforced, and the auth tables are a branch of their own
that goes down and up without touching the others."""

from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from app.features.auth import AuthSettings
from tests import database

STRONG_KEY = "2026-11:Zm9yLXRlc3RzLW9ubHk6IGF1dGgtc2lnbmluZy1rZXktcmFuZG9t"
PRODUCTION: dict[str, Any] = {
    "ENVIRONMENT": "production",
    "AUTH_SIGNING_KEYS": STRONG_KEY,
    "AUTH_FIRST_SUPERUSER_EMAIL": "",
}


def test_production_accepts_strong_settings() -> None:
    settings = AuthSettings(**PRODUCTION)
    assert settings.signing_keys[0][0] == "2026-11"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"AUTH_SIGNING_KEYS": ""}, "AUTH_SIGNING_KEYS must be set"),
        ({"AUTH_SIGNING_KEYS": "k:" + "a" * 40}, "signing key 'k' repeats"),
        ({"AUTH_SIGNING_KEYS": "k:short"}, "signing key 'k' is shorter"),
        (
            {"AUTH_SIGNING_KEYS": f"{STRONG_KEY},old:weak"},
            "signing key 'old' is shorter",
        ),
        ({"AUTH_ARGON2_MEMORY_COST": 4096}, "AUTH_ARGON2_MEMORY_COST"),
        ({"AUTH_ARGON2_TIME_COST": 1}, "AUTH_ARGON2_TIME_COST"),
        (
            {
                "AUTH_FIRST_SUPERUSER_EMAIL": "admin@example.com",
                "AUTH_FIRST_SUPERUSER_PASSWORD": "password1234",
            },
            "AUTH_FIRST_SUPERUSER_PASSWORD is one of the most common",
        ),
    ],
)
def test_production_refuses_weak_settings(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AuthSettings(**(PRODUCTION | change))


@pytest.mark.parametrize("keys", ["nokid", ":secret", "a:1,a:2"])
def test_malformed_signing_keys_are_refused(keys: str) -> None:
    with pytest.raises(ValidationError, match="AUTH_SIGNING_KEYS"):
        AuthSettings(AUTH_SIGNING_KEYS=keys)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_the_auth_branch_goes_down_and_up_alone() -> None:
    server = database.server_url()
    url = await database.create_database(server)
    engine = create_async_engine(url)
    try:
        await database.upgrade(engine)
        async with engine.connect() as connection:
            everything = await connection.run_sync(_tables)
        assert "auth_users" in everything
        await database.downgrade(engine, "auth@base")
        async with engine.connect() as connection:
            left = await connection.run_sync(_tables)
        assert not any(table.startswith("auth_") for table in left)
        assert left == {t for t in everything if not t.startswith("auth_")}
        await database.upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == everything
    finally:
        await engine.dispose()
        await database.drop_database(server, url)
