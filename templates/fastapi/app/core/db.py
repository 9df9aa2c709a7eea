"""Database access: one SQLAlchemy 2 async engine (asyncpg) per application.

`create_app` builds a `Database` from the settings and keeps it in `app.state.database`;
routes get a session through `SessionDep` (see `app.api.deps`), one per request, and
commit what they change themselves.
"""

from collections.abc import AsyncIterator
from typing import cast

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.config import Settings


class Database:
    """An engine and the session factory bound to it."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 10,
        echo: bool = False,
        application_name: str = "app",
    ) -> None:
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            echo=echo,
            connect_args={"server_settings": {"application_name": application_name}},
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        return cls(
            settings.DATABASE_URL,
            pool_size=settings.DATABASE_POOL_SIZE,
            max_overflow=settings.DATABASE_MAX_OVERFLOW,
            echo=settings.DATABASE_ECHO,
            application_name=settings.PROJECT_NAME,
        )

    async def check(self) -> None:
        """Raise unless the database answers a query (the readiness probe)."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def get_database(request: Request) -> Database:
    return cast(Database, request.app.state.database)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; whatever was not committed is rolled back."""
    async with get_database(request).sessionmaker() as session:
        yield session
