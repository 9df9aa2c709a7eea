"""Audit rows cannot be changed or deleted by plain SQL; retention deletes only rows
older than its window, through its own path (the function and the command)."""

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import URL, Connection, insert, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.features.audit import AuditEntry
from app.features.audit.retention import allow_retention, purge
from tests import database
from tests.features.audit.conftest import entries

PROJECT_ROOT = Path(__file__).resolve().parents[3]


async def add_row(engine: AsyncEngine, age: timedelta, target: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            insert(AuditEntry).values(
                at=datetime.now(UTC) - age, action="test.retention", target=target
            )
        )


def new_target() -> str:
    return f"retention:{uuid.uuid4().hex}"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'user:evil' WHERE target = :target",
        "UPDATE audit_log SET at = now() WHERE target = :target",
        "DELETE FROM audit_log WHERE target = :target",
    ],
)
async def test_plain_updates_and_deletes_fail(
    audit_engine: AsyncEngine, statement: str
) -> None:
    target = new_target()
    await add_row(audit_engine, timedelta(days=4000), target)
    with pytest.raises(DBAPIError, match="append-only"):
        async with audit_engine.begin() as connection:
            await connection.execute(text(statement), {"target": target})
    [row] = await entries(audit_engine, target=target)
    assert row.actor is None


async def test_retention_mode_cannot_update_or_delete_recent_rows(
    audit_engine: AsyncEngine,
) -> None:
    old, recent = new_target(), new_target()
    await add_row(audit_engine, timedelta(days=400), old)
    await add_row(audit_engine, timedelta(days=300), recent)
    attempts = [
        # Recent for this window.
        (365, "DELETE FROM audit_log WHERE target = :recent"),
        # Updates, never.
        (365, "UPDATE audit_log SET actor = 'x' WHERE target = :old"),
        # A window under a day is no window.
        (0, "DELETE FROM audit_log WHERE target = :recent"),
        (-5, "DELETE FROM audit_log WHERE target = :old"),
    ]
    for days, statement in attempts:
        with pytest.raises(DBAPIError):
            async with audit_engine.begin() as connection:
                await connection.execute(
                    text(
                        "SELECT set_config('audit.retention', 'on', true), "
                        "set_config('audit.retention_days', :days, true)"
                    ),
                    {"days": str(days)},
                )
                await connection.execute(
                    text(statement), {"old": old, "recent": recent}
                )
    # A setting without its window, or a window without the setting, is refused too.
    for setup in (
        "SET LOCAL audit.retention = 'on'",
        "SET LOCAL audit.retention_days = '1'",
    ):
        with pytest.raises(DBAPIError):
            async with audit_engine.begin() as connection:
                await connection.execute(text(setup))
                await connection.execute(
                    text("DELETE FROM audit_log WHERE target = :old"), {"old": old}
                )
    assert len(await entries(audit_engine, target=old)) == 1
    assert len(await entries(audit_engine, target=recent)) == 1


async def test_the_setting_lasts_only_for_its_transaction(
    audit_engine: AsyncEngine,
) -> None:
    old = new_target()
    await add_row(audit_engine, timedelta(days=400), old)
    async with audit_engine.connect() as connection:
        async with connection.begin():
            await allow_retention(connection, 365)
        with pytest.raises(DBAPIError):
            async with connection.begin():
                await connection.execute(
                    text("DELETE FROM audit_log WHERE target = :old"), {"old": old}
                )
    assert len(await entries(audit_engine, target=old)) == 1


async def test_purge_removes_only_rows_older_than_the_window(
    audit_engine: AsyncEngine,
) -> None:
    old = [new_target() for _ in range(5)]
    recent = [new_target() for _ in range(3)]
    for target in old:
        await add_row(audit_engine, timedelta(days=31), target)
    for target in recent:
        await add_row(audit_engine, timedelta(days=29), target)
    deleted = await purge(audit_engine, 30, batch_size=2)  # three batches
    assert deleted >= len(old)
    for target in old:
        assert await entries(audit_engine, target=target) == []
    for target in recent:
        assert len(await entries(audit_engine, target=target)) == 1
    with pytest.raises(ValueError):
        await purge(audit_engine, 0)


def run_command(url: URL, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "AUDIT_RETENTION_DAYS": "10",
    }
    return subprocess.run(
        [sys.executable, "-m", "app.features.audit.retention", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_the_command(audit_database_url: URL, audit_engine: AsyncEngine) -> None:
    old, recent = new_target(), new_target()
    await add_row(audit_engine, timedelta(days=12), old)
    await add_row(audit_engine, timedelta(days=8), recent)
    finished = await asyncio.to_thread(run_command, audit_database_url)
    assert finished.returncode == 0, finished.stderr
    assert "older than 10 days" in finished.stdout
    assert await entries(audit_engine, target=old) == []
    assert len(await entries(audit_engine, target=recent)) == 1

    refused = await asyncio.to_thread(run_command, audit_database_url, "--days", "0")
    assert refused.returncode == 2
    assert "at least 1" in refused.stderr


# --- the migration branch ---------------------------------------------------------


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_the_branch_drops_only_its_own_table_and_comes_back() -> None:
    server = database.server_url()
    url = await database.create_database(server)
    engine = create_async_engine(url)
    try:
        await database.upgrade(engine)
        await database.downgrade(engine, "audit@base")
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
            functions = await connection.scalar(
                text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'audit_log%'")
            )
        assert "audit_log" not in tables
        assert "items" in tables
        assert functions == 0
        await database.upgrade(engine)
        target = new_target()
        await add_row(engine, timedelta(days=1), target)
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(
                    text("DELETE FROM audit_log WHERE target = :t"), {"t": target}
                )
    finally:
        await engine.dispose()
        await database.drop_database(server, url)
