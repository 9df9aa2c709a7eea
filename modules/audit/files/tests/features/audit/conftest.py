"""Fixtures for the audit tests.

Most of these tests need what the shared fixtures roll back: real commits and
rollbacks, rows the trigger protects, the retention job's own transactions. So they
run on a database of their own (created and migrated for this test session, dropped
at the end), with applications built on it and no session override: each request
gets a real session, as in production.
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Request, status
from httpx import ASGITransport, AsyncClient
from sqlalchemy import URL, Row, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.core.config import Settings
from app.core.features import Feature
from app.core.principal import Principal
from app.features.audit import AuditEntry, AuditSettings, make_feature
from app.main import create_app
from tests import database

API_KEY = "audit-tests-key-Zk3q9VbN2xLw8RtY5mHc4JdP7sGa"
AUDIT = "/api/v1/audit"
ITEMS = "/api/v1/items"

# The principals the fake authenticator knows, by bearer token.
PRINCIPALS = {
    "reader-token": Principal("user:1", frozenset({"audit:read"})),
    "writer-token": Principal("user:2", frozenset({"items:write"})),
    "root-token": Principal("user:0", superuser=True),
}

AuditAppFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]


async def fake_authenticator(request: Request) -> Principal | None:
    """Auth's part, played by a dictionary: a known bearer token is its principal."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    principal = PRINCIPALS.get(token) if scheme.lower() == "bearer" else None
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Wrong credentials.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


FAKE_AUTH = Feature(name="fakeauth", authenticator=fake_authenticator)


@pytest.fixture(scope="session")
async def audit_database_url() -> AsyncIterator[URL]:
    server = database.server_url()
    url = await database.create_database(server)
    try:
        engine = create_async_engine(url)
        try:
            await database.upgrade(engine)
        finally:
            await engine.dispose()
        yield url
    finally:
        await database.drop_database(server, url)


@pytest.fixture
async def audit_engine(audit_database_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(audit_database_url)
    yield engine
    await engine.dispose()


def audit_settings(**overrides: Any) -> AuditSettings:
    """The feature's settings for a test, whatever the environment says."""
    values: dict[str, Any] = {
        "AUDIT_API_KEY": API_KEY,
        "AUDIT_RECORD_MODELS": True,
        "AUDIT_EXCLUDE_TABLES": [],
        "ENVIRONMENT": "test",
    }
    return AuditSettings(**values | overrides)


@pytest.fixture
def make_audit_app(audit_database_url: URL) -> Callable[..., FastAPI]:
    def factory(
        *,
        audit: AuditSettings | None = None,
        extra: Sequence[Feature] = (),
        **overrides: Any,
    ) -> FastAPI:
        settings = Settings(
            **{
                "ENVIRONMENT": "test",
                "DATABASE_URL": audit_database_url.render_as_string(
                    hide_password=False
                ),
                "TRUSTED_HOSTS": ["*"],
                "CORS_ORIGINS": [],
            }
            | overrides
        )
        features = [make_feature(audit or audit_settings()), *extra]
        return create_app(settings, features)

    return factory


@pytest.fixture
def audit_client(make_audit_app: Callable[..., FastAPI]) -> AuditAppFactory:
    """`async with audit_client(audit=..., extra=[...]) as client`, on the audit
    tests' own database."""

    @asynccontextmanager
    async def factory(**kwargs: Any) -> AsyncIterator[AsyncClient]:
        app = make_audit_app(**kwargs)
        async with (
            app.router.lifespan_context(app),
            AsyncClient(
                transport=ASGITransport(app=app), base_url="http://testserver"
            ) as client,
        ):
            yield client

    return factory


async def entries(engine: AsyncEngine, **where: Any) -> list[Row[Any]]:
    """The audit rows whose columns equal `where`, oldest first."""
    table = AuditEntry.__table__
    statement = select(table).order_by(table.c.id)
    for column, value in where.items():
        statement = statement.where(table.c[column] == value)
    async with engine.connect() as connection:
        return list(await connection.execute(statement))
