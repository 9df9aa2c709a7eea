"""Seeds the items table with the same 50 rows every time (run in the generated
project's environment, with DATABASE_URL set, after its migrations)."""

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

ROWS = 50


async def main() -> None:
    url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(url)
    try:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        rows = [
            (
                uuid.uuid5(uuid.NAMESPACE_URL, f"paxx-bench-item-{i}"),
                f"Item {i:02d}",
                None if i % 5 == 0 else f"Benchmark item number {i}, seeded identically in every run.",
                Decimal(i * 125) / 100,
                start + timedelta(minutes=i),
                start + timedelta(minutes=i, seconds=30),
            )
            for i in range(ROWS)
        ]
        async with connection.transaction():
            await connection.execute("DELETE FROM items")
            await connection.executemany(
                "INSERT INTO items (id, name, description, price, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                rows,
            )
        await connection.execute("ANALYZE items")
    finally:
        await connection.close()


asyncio.run(main())
