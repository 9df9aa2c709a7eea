"""`GET /api/v1/audit`: who may read it (a key without auth, a permission with it),
its filters and pages, the attacks on them, and what production refuses."""

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import APIRouter, Request
from httpx import AsyncClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import ConfigurationError, Settings
from app.core.events import Event, emit
from app.core.features import Feature
from app.features.audit import AuditEntry, make_feature
from app.features.audit.recorder import record_event
from app.main import create_app
from tests.conftest import PRODUCTION
from tests.features.audit.conftest import (
    API_KEY,
    AUDIT,
    FAKE_AUTH,
    AuditAppFactory,
    audit_settings,
    entries,
)

KEY = {"Authorization": f"Bearer {API_KEY}"}


async def add_rows(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(AuditEntry), rows)


async def listing(client: AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get(AUDIT, params=params, headers=KEY)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


# --- without auth: the key --------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {API_KEY[:-1]}"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": API_KEY},
        {"X-API-Key": API_KEY},
    ],
)
async def test_without_the_key_401(
    audit_client: AuditAppFactory, headers: dict[str, str]
) -> None:
    async with audit_client() as client:
        response = await client.get(AUDIT, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


async def test_no_key_configured_nobody_reads(audit_client: AuditAppFactory) -> None:
    async with audit_client(audit=audit_settings(AUDIT_API_KEY="")) as client:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer"}):
            response = await client.get(AUDIT, headers=headers)
            assert response.status_code == 401


# --- with auth: the permission ----------------------------------------------------


async def test_with_auth_the_permission_decides(audit_client: AuditAppFactory) -> None:
    async with audit_client(extra=[FAKE_AUTH]) as client:
        anonymous = await client.get(AUDIT)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == "Bearer"
        # The key is no credential once a feature authenticates.
        assert (await client.get(AUDIT, headers=KEY)).status_code == 401
        writer = await client.get(
            AUDIT, headers={"Authorization": "Bearer writer-token"}
        )
        assert writer.status_code == 403
        assert writer.json()["error"]["code"] == "forbidden"
        for token in ("reader-token", "root-token"):
            response = await client.get(
                AUDIT, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 200, token


# --- filters and pages ------------------------------------------------------------


async def test_filters_and_pages(
    audit_client: AuditAppFactory, audit_engine: AsyncEngine
) -> None:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    rows = [
        {
            "at": now - timedelta(minutes=10 - n),
            "actor": f"user:{run}-{n % 2}",
            "action": f"t{run}.{'login' if n % 3 else 'logout'}",
            "target": f"thing{run}:{n}",
            "request_id": f"{run}-{n}",
            "data": {"n": n},
        }
        for n in range(10)
    ]
    await add_rows(audit_engine, rows)
    async with audit_client() as client:
        page = await listing(client, action=f"t{run}.*", limit=3)
        assert page["total"] == 10
        assert [e["data"]["n"] for e in page["items"]] == [9, 8, 7]  # newest first
        page = await listing(client, action=f"t{run}.*", limit=3, offset=9)
        assert [e["data"]["n"] for e in page["items"]] == [0]

        page = await listing(client, action=f"t{run}.logout")
        assert sorted(e["data"]["n"] for e in page["items"]) == [0, 3, 6, 9]
        page = await listing(client, actor=f"user:{run}-1", limit=100)
        assert sorted(e["data"]["n"] for e in page["items"]) == [1, 3, 5, 7, 9]
        page = await listing(client, target=f"thing{run}:4")
        assert [e["request_id"] for e in page["items"]] == [f"{run}-4"]
        page = await listing(client, target=f"thing{run}:*")
        assert page["total"] == 10
        page = await listing(
            client,
            action=f"t{run}.*",
            since=(now - timedelta(minutes=7, seconds=30)).isoformat(),
            until=(now - timedelta(minutes=4, seconds=30)).isoformat(),
        )
        assert sorted(e["data"]["n"] for e in page["items"]) == [3, 4, 5]
        # An empty range is no error.
        page = await listing(
            client, since=now.isoformat(), until=(now - timedelta(days=1)).isoformat()
        )
        assert page["total"] == 0
        entry = (await listing(client, target=f"thing{run}:2"))["items"][0]
        assert set(entry) == {
            "id",
            "at",
            "actor",
            "action",
            "target",
            "request_id",
            "before",
            "after",
            "data",
        }


# --- attacks ----------------------------------------------------------------------


async def test_filters_are_values_not_sql_or_patterns(
    audit_client: AuditAppFactory, audit_engine: AsyncEngine
) -> None:
    run = uuid.uuid4().hex[:8]
    await add_rows(
        audit_engine,
        [
            {"action": f"x{run}.a", "target": f"t{run}:1", "actor": "user:1"},
            {"action": f"x{run}_b", "target": f"t{run}%2", "actor": "user:2"},
        ],
    )
    async with audit_client() as client:
        for params, expected in [
            ({"actor": "' OR '1'='1"}, 0),
            ({"actor": "user:1' --"}, 0),
            ({"action": f"x{run}%"}, 0),  # no wildcard: an exact match
            ({"action": "%*"}, 0),  # `%` is a character here
            ({"action": "*"}, None),  # the empty prefix: everything
            ({"action": f"x{run}_*"}, 1),  # `_` is a character too
            ({"target": f"t{run}%*"}, 1),
            ({"target": f"t{run}_1"}, 0),
            ({"action": f"x{run}.a'); DROP TABLE audit_log; --"}, 0),
        ]:
            page = await listing(client, **params)
            if expected is not None:
                assert page["total"] == expected, params
    assert len(await entries(audit_engine, action=f"x{run}.a")) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 10**12},
        {"limit": 0},
        {"limit": -1},
        {"offset": -1},
        {"offset": 10**7},
        {"offset": "1e3"},
        {"actor": "a\x00b"},
        {"action": "x" * 201},
        {"since": "2026-01-01T00:00:00"},  # no offset: ambiguous
        {"since": "yesterday"},
        {"since": "0.5"},  # pydantic alone would read seconds since 1970
        {"until": "1700000000"},
        {"until": "2026-01-01"},
        {"until": "2026-01-01 00:00:00Z"},
        {"until": "99999-01-01T00:00:00Z"},
    ],
)
async def test_bad_parameters_422(
    audit_client: AuditAppFactory, params: dict[str, Any]
) -> None:
    async with audit_client() as client:
        response = await client.get(AUDIT, params=params, headers=KEY)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_parameters_are_not_checked_before_the_key(
    audit_client: AuditAppFactory,
) -> None:
    async with audit_client() as client:
        response = await client.get(AUDIT, params={"limit": 10**12})
    assert response.status_code == 401


# --- events -----------------------------------------------------------------------


async def test_events_are_recorded_with_their_request(
    audit_client: AuditAppFactory, audit_engine: AsyncEngine
) -> None:
    router = APIRouter()

    @router.post("/test/audit/emit")
    async def emit_event(request: Request) -> None:
        await emit(
            request.app,
            Event(
                "test.happened",
                actor="user:9",
                target="thing:1",
                data={"amount": 3, "when": datetime(2026, 1, 1, tzinfo=UTC)},
            ),
        )

    rid = uuid.uuid4().hex
    async with audit_client(extra=[Feature(name="emitter", router=router)]) as client:
        response = await client.post("/test/audit/emit", headers={"X-Request-ID": rid})
        assert response.status_code == 200
        page = await listing(client, action="test.happened", actor="user:9")
    [row] = await entries(audit_engine, request_id=rid)
    assert (row.action, row.actor, row.target) == ("test.happened", "user:9", "thing:1")
    assert row.data == {"amount": 3, "when": "2026-01-01T00:00:00+00:00"}
    assert any(entry["request_id"] == rid for entry in page["items"])


async def test_an_event_outside_a_request_is_logged_not_lost_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        await record_event(Event("test.orphan", actor="user:1"))
    assert "test.orphan" in caplog.text
    assert "not recorded" in caplog.text


# --- production -------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["", "short", "a" * 64, "password" * 5, "audit-key " * 5]
)
def test_production_refuses_a_missing_or_weak_key(
    settings_overrides: dict[str, Any], key: str
) -> None:
    settings = Settings(**settings_overrides | PRODUCTION)
    audit = make_feature(audit_settings(AUDIT_API_KEY=key, ENVIRONMENT="production"))
    with pytest.raises(ConfigurationError, match="AUDIT_API_KEY"):
        create_app(settings, [audit])


def test_production_starts_with_a_strong_key_or_with_auth(
    settings_overrides: dict[str, Any],
) -> None:
    settings = Settings(**settings_overrides | PRODUCTION)
    create_app(settings, [make_feature(audit_settings(ENVIRONMENT="production"))])
    no_key = make_feature(audit_settings(AUDIT_API_KEY="", ENVIRONMENT="production"))
    create_app(settings, [no_key, FAKE_AUTH])


# --- the OpenAPI document ---------------------------------------------------------


def test_the_operation_documents_its_errors(
    settings_overrides: dict[str, Any],
) -> None:
    app = create_app(Settings(**settings_overrides), [make_feature(audit_settings())])
    operation = app.openapi()["paths"][AUDIT]["get"]
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    assert operation["security"]
