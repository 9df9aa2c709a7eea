"""The migrations create exactly what the models describe, and can be undone: all of
them, and each feature's branch alone.

The project's own revisions form the branch `app` (revision 0001 carries the label);
each enabled feature with tables has a branch of its own, labelled with the feature's
name, starting from no revision (see app/core/features.py). `alembic upgrade heads`
applies every branch; `alembic downgrade <feature>@base` takes one feature's tables
away and leaves every other table, and its rows, as they were.
"""

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Table, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.features import FEATURES
from app.models import Base, Item
from tests import database

# The label of the project's own branch (the template's revisions and yours).
APP_BRANCH = "app"


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(
        Config(str(database.PROJECT_ROOT / "alembic.ini"))
    )


def _branch_labels() -> dict[str, str]:
    """Base revision id -> its branch label (empty: none)."""
    scripts = _scripts()
    labels = {}
    for base in scripts.get_bases():
        revision = scripts.get_revision(base)
        assert revision is not None
        labels[base] = ",".join(sorted(revision.branch_labels))
    return labels


def feature_branches() -> list[str]:
    """The enabled features that have an Alembic branch of their own."""
    labels = set(_branch_labels().values())
    return [feature.name for feature in FEATURES if feature.name in labels]


def _feature_tables(name: str) -> set[str]:
    """The tables of the models that feature `name`'s package defines: its mapped
    classes' tables, and the unmapped ones (association tables) that only they use."""
    package = f"app.features.{name}"
    mapped = {
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if isinstance(mapper.local_table, Table)
        and (
            mapper.class_.__module__ == package
            or mapper.class_.__module__.startswith(f"{package}.")
        )
    }
    every_mapped = {
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if isinstance(mapper.local_table, Table)
    }
    links = {
        table.name
        for table in Base.metadata.tables.values()
        if table.name not in every_mapped
        and table.foreign_keys
        and {key.column.table.name for key in table.foreign_keys} <= mapped
    }
    return mapped | links


@pytest.fixture
async def fresh_engine() -> AsyncIterator[AsyncEngine]:
    """An engine on a new, empty database, dropped afterwards."""
    server = database.server_url()
    url = await database.create_database(server)
    engine = create_async_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        await database.drop_database(server, url)


async def test_models_and_migrations_are_in_sync(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == [], (
        "The models differ from the migrations; create a migration with "
        "`uv run alembic revision --autogenerate --head app@head -m '...'`"
    )


async def test_migrations_go_down_and_up_again(fresh_engine: AsyncEngine) -> None:
    await database.upgrade(fresh_engine)
    await database.downgrade(fresh_engine, "base")
    async with fresh_engine.connect() as connection:
        assert await connection.run_sync(_tables) == {"alembic_version"}
    await database.upgrade(fresh_engine)
    async with fresh_engine.connect() as connection:
        assert "items" in await connection.run_sync(_tables)
        assert await connection.run_sync(_diff) == []


def test_every_branch_is_the_apps_or_an_enabled_features() -> None:
    """A revision that starts from nothing without a known label would be applied by
    `upgrade heads` but belong to nobody: `<feature>@base` could not take it away,
    and `alembic revision --head app@head` would not build on it."""
    features = {feature.name for feature in FEATURES}
    labels = _branch_labels()
    assert APP_BRANCH in labels.values(), (
        f"the project's first revision must carry branch_labels = ({APP_BRANCH!r},)"
    )
    strays = {
        base: label
        for base, label in labels.items()
        if label != APP_BRANCH and label not in features
    }
    assert strays == {}, (
        "revisions starting a branch that is neither the project's own "
        f"({APP_BRANCH!r}) nor an enabled feature's (labelled with its name): {strays}"
    )


def test_feature_revisions_are_named_after_their_feature() -> None:
    """`<name>_<nnnn>` ids keep the revisions of several features from colliding."""
    scripts = _scripts()
    for name in feature_branches():
        ids = {
            revision.revision
            for revision in scripts.iterate_revisions(f"{name}@head", "base")
        }
        assert ids, name
        assert all(rev.startswith(f"{name}_") for rev in ids), (name, sorted(ids))


@pytest.mark.parametrize("name", feature_branches())
async def test_a_features_branch_goes_down_alone_and_up_again(
    name: str, fresh_engine: AsyncEngine
) -> None:
    await database.upgrade(fresh_engine)
    async with fresh_engine.begin() as connection:
        everything = await connection.run_sync(_tables)
        heads = await connection.run_sync(_current_heads)
        # A row of the project's own, which must outlive the feature's tables.
        item_id = uuid.uuid4()
        await connection.execute(
            insert(Item).values(id=item_id, name="kept", price=Decimal("1.00"))
        )
    owned = _feature_tables(name)
    assert owned, f"feature {name!r} has an Alembic branch but no models"
    assert owned <= everything

    await database.downgrade(fresh_engine, f"{name}@base")
    async with fresh_engine.connect() as connection:
        left = await connection.run_sync(_tables)
        left_heads = await connection.run_sync(_current_heads)
        kept = await connection.scalar(
            select(func.count()).select_from(Item).where(Item.id == item_id)
        )
    assert everything - left == owned, (
        f"`alembic downgrade {name}@base` must drop exactly the tables of "
        f"app/features/{name}/models.py"
    )
    assert kept == 1
    branch = {
        revision.revision
        for revision in _scripts().iterate_revisions(f"{name}@head", "base")
    }
    assert left_heads == heads - branch
    assert not left_heads & branch

    await database.upgrade(fresh_engine, "heads")
    async with fresh_engine.connect() as connection:
        assert await connection.run_sync(_tables) == everything
        assert await connection.run_sync(_current_heads) == heads
        assert await connection.run_sync(_diff) == []
