"""Retention: delete audit rows older than `AUDIT_RETENTION_DAYS`.

    uv run python -m app.features.audit.retention            # the settings' days
    uv run python -m app.features.audit.retention --days 90

The table's trigger refuses every DELETE unless the transaction says it is the
retention job (`SET LOCAL audit.retention = 'on'`) and names its window
(`audit.retention_days`), and then only of rows older than that window, measured
by the database's clock: a mistake here cannot delete recent rows. Rows go in
batches, one transaction each, so a large purge holds no long lock.
"""

import argparse
import asyncio
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.core.config import get_settings
from app.features.audit.config import get_audit_settings

BATCH_SIZE = 10_000

_DELETE_BATCH = text(
    """
    DELETE FROM audit_log WHERE id IN (
        SELECT id FROM audit_log
        WHERE at < now() - make_interval(days => :days)
        ORDER BY at LIMIT :batch
    )
    """
)


async def allow_retention(connection: AsyncConnection, days: int) -> None:
    """Tell the trigger this transaction is the retention job, with its window."""
    await connection.execute(
        text(
            "SELECT set_config('audit.retention', 'on', true), "
            "set_config('audit.retention_days', :days, true)"
        ),
        {"days": str(days)},
    )


async def purge(engine: AsyncEngine, days: int, *, batch_size: int = BATCH_SIZE) -> int:
    """Delete the rows older than `days` days; return how many."""
    if days < 1:
        raise ValueError("retention must keep at least one day")
    deleted = 0
    while True:
        async with engine.begin() as connection:
            await allow_retention(connection, days)
            result = await connection.execute(
                _DELETE_BATCH, {"days": days, "batch": batch_size}
            )
        deleted += result.rowcount
        if result.rowcount < batch_size:
            return deleted


async def _main(days: int) -> int:
    engine = create_async_engine(get_settings().DATABASE_URL)
    try:
        return await purge(engine, days)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.features.audit.retention",
        description="Delete audit rows older than the retention window.",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help="keep this many days (default: AUDIT_RETENTION_DAYS)",
    )
    args = parser.parse_args(argv)
    days = (
        args.days
        if args.days is not None
        else get_audit_settings().AUDIT_RETENTION_DAYS
    )
    if days < 1:
        parser.error("--days must be at least 1")
    deleted = asyncio.run(_main(days))
    print(f"deleted {deleted} audit rows older than {days} days")
    return 0


if __name__ == "__main__":
    sys.exit(main())
