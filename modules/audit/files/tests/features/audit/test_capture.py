"""Changes to ORM objects are recorded in their own transaction, with who made them
and in which request; secrets are redacted; what the settings exclude is not."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi import APIRouter
from sqlalchemy import Integer, String, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.api.deps import SessionDep
from app.core.features import Feature
from app.core.principal import CurrentPrincipal
from app.features.audit import AuditEntry, AuditPolicy
from app.features.audit.capture import changes
from app.features.audit.recorder import REDACTED, jsonable
from app.models import Item
from tests.features.audit.conftest import (
    FAKE_AUTH,
    ITEMS,
    AuditAppFactory,
    audit_settings,
    entries,
)


class OtherBase(DeclarativeBase):
    """Models of these tests alone (outside `app.models.Base`, whose tables must
    equal the migrations')."""


class Account(OtherBase):
    __tablename__ = "audit_test_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    api_token: Mapped[str | None] = mapped_column(String(200))
    ClientSecret: Mapped[str | None] = mapped_column(String(200))


class Membership(OtherBase):
    __tablename__ = "audit_test_memberships"

    group_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(20))


@pytest.fixture
async def accounts(audit_engine: AsyncEngine) -> AsyncIterator[None]:
    async with audit_engine.begin() as connection:
        await connection.run_sync(OtherBase.metadata.create_all)
    yield
    async with audit_engine.begin() as connection:
        await connection.run_sync(OtherBase.metadata.drop_all)


def new_request_id() -> str:
    return uuid.uuid4().hex


# --- through the API: who, what, when, which request ------------------------------


async def test_create_update_delete_are_recorded_with_the_request_id(
    audit_client: AuditAppFactory, audit_engine: AsyncEngine
) -> None:
    async with audit_client() as client:
        rid = new_request_id()
        response = await client.post(
            ITEMS,
            json={"name": "Lamp", "price": "19.9"},
            headers={"X-Request-ID": rid},
        )
        assert response.status_code == 201
        item = response.json()
        target = f"items:{item['id']}"
        [created] = await entries(audit_engine, request_id=rid)
        assert created.action == "db.insert"
        assert created.target == target
        assert created.actor is None  # no feature authenticates
        assert created.before is None
        assert created.after["name"] == "Lamp"
        assert created.after["price"] == "19.90"
        assert created.after["id"] == item["id"]

        rid = new_request_id()
        response = await client.patch(
            f"{ITEMS}/{item['id']}",
            json={"price": "5", "name": "Lamp"},
            headers={"X-Request-ID": rid},
        )
        assert response.status_code == 200
        [updated] = await entries(audit_engine, request_id=rid)
        assert updated.action == "db.update"
        assert updated.target == target
        # Only what changed: the name was sent, but equal.
        assert updated.before == {"price": "19.90"}
        assert updated.after == {"price": "5.00"}

        rid = new_request_id()
        response = await client.delete(
            f"{ITEMS}/{item['id']}", headers={"X-Request-ID": rid}
        )
        assert response.status_code == 204
        [deleted] = await entries(audit_engine, request_id=rid)
        assert deleted.action == "db.delete"
        assert deleted.target == target
        assert deleted.after is None
        assert deleted.before["name"] == "Lamp"
        assert deleted.before["price"] == "5.00"
        assert created.at <= updated.at <= deleted.at


async def test_a_forged_request_id_is_not_recorded(
    audit_client: AuditAppFactory, audit_engine: AsyncEngine
) -> None:
    forged = "x" * 300  # longer than the template accepts: a new id is made
    async with audit_client() as client:
        response = await client.post(
            ITEMS,
            json={"name": "Forged", "price": "1"},
            headers={"X-Request-ID": forged},
        )
    assert response.status_code == 201
    rid = response.headers["X-Request-ID"]
    assert rid != forged
    [row] = await entries(audit_engine, request_id=rid)
    assert row.target == f"items:{response.json()['id']}"
    assert await entries(audit_engine, request_id=forged) == []


# --- the actor: the principal the request was authenticated as --------------------


def writer_router() -> APIRouter:
    router = APIRouter()

    @router.post("/test/audit/items/{name}")
    async def create_as_principal(
        name: str, session: SessionDep, principal: CurrentPrincipal
    ) -> dict[str, str]:
        item = Item(name=name, price=Decimal("1.00"))
        session.add(item)
        await asyncio.sleep(0.01)  # let concurrent requests interleave
        await session.commit()
        return {"id": str(item.id)}

    return router


async def test_the_actor_is_the_requests_principal_even_under_concurrency(
    audit_client: AuditAppFactory, audit_engine: AsyncEngine
) -> None:
    extra = [FAKE_AUTH, Feature(name="writer", router=writer_router())]
    tokens = {"user:1": "reader-token", "user:2": "writer-token", None: None}
    async with audit_client(extra=extra) as client:

        async def create(actor: str | None, n: int) -> tuple[str | None, str]:
            token = tokens[actor]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await client.post(
                f"/test/audit/items/{actor}-{n}", headers=headers
            )
            assert response.status_code == 200, response.text
            return actor, response.json()["id"]

        made = await asyncio.gather(
            *(create(actor, n) for n in range(5) for actor in tokens)
        )
    for actor, item_id in made:
        [row] = await entries(audit_engine, target=f"items:{item_id}")
        assert row.actor == actor
        assert row.action == "db.insert"


# --- the transaction: a change and its record stand or fall together --------------


def failing_router() -> APIRouter:
    router = APIRouter()

    @router.post("/test/audit/fail/{name}")
    async def write_then_fail(name: str, session: SessionDep) -> None:
        session.add(Item(name=name, price=Decimal("2.00")))
        await session.flush()  # the INSERTs (the item's and its record's) are sent
        raise RuntimeError("the request fails after the flush")

    return router


async def test_a_rolled_back_change_leaves_no_record(
    audit_client: AuditAppFactory, audit_engine: AsyncEngine
) -> None:
    name = f"doomed-{uuid.uuid4().hex}"
    async with audit_client(
        extra=[Feature(name="failing", router=failing_router())]
    ) as client:
        rid = new_request_id()
        response = await client.post(
            f"/test/audit/fail/{name}", headers={"X-Request-ID": rid}
        )
    assert response.status_code == 500
    assert await entries(audit_engine, request_id=rid) == []
    async with AsyncSession(audit_engine) as session:
        assert await session.scalar(select(Item).where(Item.name == name)) is None


async def test_flush_then_rollback_and_commit_in_one_session(
    audit_engine: AsyncEngine,
) -> None:
    """Outside a request: no actor, no request id, the same guarantee."""
    async with AsyncSession(audit_engine, expire_on_commit=False) as session:
        rolled_back = Item(name="rolled back", price=Decimal("1.00"))
        session.add(rolled_back)
        await session.flush()
        await session.rollback()
        kept = Item(name="kept", price=Decimal("1.00"))
        session.add(kept)
        await session.commit()
    assert await entries(audit_engine, target=f"items:{rolled_back.id}") == []
    [row] = await entries(audit_engine, target=f"items:{kept.id}")
    assert (row.action, row.actor, row.request_id) == ("db.insert", None, None)


async def test_a_savepoint_rolled_back_takes_its_records(
    audit_engine: AsyncEngine,
) -> None:
    async with AsyncSession(audit_engine, expire_on_commit=False) as session:
        outer = Item(name="outer", price=Decimal("1.00"))
        session.add(outer)
        nested = await session.begin_nested()
        inner = Item(name="inner", price=Decimal("1.00"))
        session.add(inner)
        await session.flush()
        await nested.rollback()
        await session.commit()
    assert len(await entries(audit_engine, target=f"items:{outer.id}")) == 1
    assert await entries(audit_engine, target=f"items:{inner.id}") == []


async def test_the_audit_log_itself_and_bulk_statements_are_not_recorded(
    audit_engine: AsyncEngine,
) -> None:
    async with AsyncSession(audit_engine, expire_on_commit=False) as session:
        entry = AuditEntry(action="test.manual", target="manual:1")
        session.add(entry)
        await session.commit()
        assert (
            await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.target == "manual:1")
            )
            == 1
        )
        item = Item(name="bulk", price=Decimal("1.00"))
        session.add(item)
        await session.commit()
        # Bulk statements bypass the unit of work (the module's readme says so).
        await session.execute(
            update(Item).where(Item.id == item.id).values(name="bulk changed")
        )
        await session.commit()
    assert [
        row.action for row in await entries(audit_engine, target=f"items:{item.id}")
    ] == ["db.insert"]


# --- redaction and settings -------------------------------------------------------


async def test_secret_looking_columns_are_redacted(
    accounts: None, audit_engine: AsyncEngine
) -> None:
    async with AsyncSession(audit_engine, expire_on_commit=False) as session:
        account = Account(
            id=1,
            name="ada",
            password_hash="$argon2id$v=19$secret",
            api_token="tok_live_123",
            ClientSecret="s3cr3t",
        )
        session.add(account)
        await session.commit()
        account.password_hash = "$argon2id$v=19$other"
        account.name = "ada l."
        await session.commit()
        await session.delete(account)
        await session.commit()
    inserted, updated, deleted = await entries(
        audit_engine, target="audit_test_accounts:1"
    )
    assert inserted.after == {
        "id": 1,
        "name": "ada",
        "password_hash": REDACTED,
        "api_token": REDACTED,
        "ClientSecret": REDACTED,
    }
    assert updated.before == {"name": "ada", "password_hash": REDACTED}
    assert updated.after == {"name": "ada l.", "password_hash": REDACTED}
    assert deleted.before["password_hash"] == REDACTED
    for row in (inserted, updated, deleted):
        text = repr((row.before, row.after))
        for secret in ("argon2", "tok_live", "s3cr3t"):
            assert secret not in text


async def test_exclusions_and_redactions_follow_the_settings(
    audit_client: AuditAppFactory, audit_engine: AsyncEngine
) -> None:
    cases: list[tuple[dict[str, Any], int]] = [
        ({"AUDIT_EXCLUDE_TABLES": "items"}, 0),
        ({"AUDIT_RECORD_MODELS": False}, 0),
        ({"AUDIT_REDACT_COLUMNS": "name,price"}, 1),
    ]
    for overrides, expected in cases:
        async with audit_client(audit=audit_settings(**overrides)) as client:
            rid = new_request_id()
            response = await client.post(
                ITEMS,
                json={"name": "Configured", "price": "3"},
                headers={"X-Request-ID": rid},
            )
            assert response.status_code == 201
        rows = await entries(audit_engine, request_id=rid)
        assert len(rows) == expected, overrides
    [row] = rows
    assert row.after["name"] == REDACTED
    assert row.after["price"] == REDACTED
    assert row.after["description"] is None


async def test_a_composite_key_names_the_target(
    accounts: None, audit_engine: AsyncEngine
) -> None:
    async with AsyncSession(audit_engine) as session:  # expires on commit
        session.add(Membership(group_id=7, user_id=42, role="member"))
        await session.commit()
        membership = await session.get(Membership, (7, 42))
        assert membership is not None
        membership.role = "owner"
        await session.commit()
        await session.delete(membership)
        await session.commit()
    rows = await entries(audit_engine, target="audit_test_memberships:7,42")
    assert [row.action for row in rows] == ["db.insert", "db.update", "db.delete"]
    assert rows[1].after == {"role": "owner"}


def test_policy_and_values() -> None:
    policy = AuditPolicy(exclude_tables=frozenset({"sessions"}), redact=("key",))
    assert not policy.records("audit_log")
    assert not policy.records("sessions")
    assert policy.records("items")
    assert policy.redacts("API_KEY")
    assert not policy.redacts("name")
    assert jsonable(
        {"n": Decimal("1.10"), "f": float("nan"), "b": b"abc", "t": "a\x00b\ud800"}
    ) == {"n": "1.10", "f": "nan", "b": "<3 bytes>", "t": "a\ufffdb?"}


def test_changes_of_an_empty_session_are_none() -> None:
    from sqlalchemy.orm import Session

    assert changes(Session(), AuditPolicy()) == []
