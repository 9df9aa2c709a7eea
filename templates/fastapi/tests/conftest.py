"""Shared fixtures.

The test session creates a throwaway database on the server named by DATABASE_URL
(from the environment, `.env` or `.paxx/env`), migrates it to the latest revision, and
drops it at the end. Each test runs inside a transaction that is rolled back afterwards:
the application's session joins it through SAVEPOINTs, so routes may commit freely.

    async def test_something(client: AsyncClient) -> None: ...       # the default app
    async def test_other(make_client: ClientFactory) -> None:
        async with make_client(CORS_ORIGINS=["https://example.com"]) as client: ...
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.core.config import Settings
from app.core.db import get_session
from app.core.features import Feature
from app.main import create_app
from tests import database

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]

# Settings production requires, for an application the test client reaches as
# `testserver`: `make_client(**PRODUCTION)`.
PRODUCTION: dict[str, Any] = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "Zm9yLXRlc3RzLW9ubHk6IHByb2R1Y3Rpb24ta2V5LXJhbmRvbQ",
    "TRUSTED_HOSTS": ["testserver"],
    "PUBLIC_BASE_URL": "https://api.example.com",
}


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[AsyncEngine]:
    server = database.server_url()
    url = await database.create_database(server)
    engine = create_async_engine(url)
    try:
        await database.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        await database.drop_database(server, url)


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture
def settings_overrides(engine: AsyncEngine) -> dict[str, Any]:
    """What the tests change in the settings read from the environment."""
    return {
        "ENVIRONMENT": "test",
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "TRUSTED_HOSTS": ["*"],
        "CORS_ORIGINS": [],
    }


@pytest.fixture
def settings(settings_overrides: dict[str, Any]) -> Settings:
    return Settings(**settings_overrides)


@pytest.fixture
def make_app(
    settings_overrides: dict[str, Any], session: AsyncSession
) -> Callable[..., FastAPI]:
    """Build an application with some settings changed and, optionally, features."""

    def factory(features: Sequence[Feature] | None = None, **overrides: Any) -> FastAPI:
        app = create_app(Settings(**(settings_overrides | overrides)), features)

        async def test_session() -> AsyncIterator[AsyncSession]:
            yield session

        app.dependency_overrides[get_session] = test_session
        return app

    return factory


@pytest.fixture
def make_client(make_app: Callable[..., FastAPI]) -> ClientFactory:
    """`async with make_client(**settings) as client`: the app runs its lifespan."""

    @asynccontextmanager
    async def factory(
        features: Sequence[Feature] | None = None, **overrides: Any
    ) -> AsyncIterator[AsyncClient]:
        app = make_app(features, **overrides)
        async with (
            app.router.lifespan_context(app),
            AsyncClient(
                transport=ASGITransport(app=app), base_url="http://testserver"
            ) as client,
        ):
            yield client

    return factory


@pytest.fixture
async def client(make_client: ClientFactory) -> AsyncIterator[AsyncClient]:
    async with make_client() as client:
        yield client
