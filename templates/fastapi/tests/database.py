"""Throwaway PostgreSQL databases for the tests, migrated with Alembic."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.core.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def server_url() -> URL:
    """The PostgreSQL server to test against: DATABASE_URL from the environment,
    `.env` or `.paxx/env` (default: the development database). Its role needs
    CREATEDB."""
    return make_url(Settings().DATABASE_URL)


async def _execute_autocommit(url: URL, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def unique_url(server: URL) -> URL:
    """The URL of a database on `server` with a name no other test run uses."""
    name = f"{server.database or 'app'}_test_{uuid.uuid4().hex[:12]}"
    return server.set(database=name)


async def create_database(server: URL, url: URL | None = None) -> URL:
    """Create the database of `url` (default: a unique one) on `server`; return its
    URL."""
    url = url or unique_url(server)
    await _execute_autocommit(server, f'CREATE DATABASE "{url.database}"')
    return url


async def drop_database(server: URL, url: URL) -> None:
    """Drop the database at `url` from `server`, closing connections still open."""
    await _execute_autocommit(
        server, f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'
    )


def alembic_config(connection: Connection) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    config.attributes["configure_logger"] = False
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade, revision)


@asynccontextmanager
async def migrated_database(server: URL, url: URL) -> AsyncIterator[URL]:
    """The database at `url`, created on `server` and migrated to every head while the
    block runs, dropped afterwards."""
    await create_database(server, url)
    try:
        engine = create_async_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        yield url
    finally:
        await drop_database(server, url)
