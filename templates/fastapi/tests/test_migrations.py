"""The migrations create exactly what the models describe, and can be undone."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.models import Base
from tests import database


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_models_and_migrations_are_in_sync(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == [], (
        "The models differ from the migrations; create a migration with "
        "`uv run alembic revision --autogenerate -m '...'`"
    )


async def test_migrations_go_down_and_up_again() -> None:
    server = database.server_url()
    url = await database.create_database(server)
    engine = create_async_engine(url)
    try:
        await database.upgrade(engine)
        await database.downgrade(engine, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == {"alembic_version"}
        await database.upgrade(engine)
        async with engine.connect() as connection:
            assert "items" in await connection.run_sync(_tables)
    finally:
        await engine.dispose()
        await database.drop_database(server, url)
