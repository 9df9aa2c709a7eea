"""Who is acting, and where events go: the audit context of a request.

`AuditContextMiddleware` (an "inner" middleware: the request id is set by then) makes
the request's `Recorder` and scope current for as long as the request is handled.
From there

- `record_event`, the feature's event listener, writes each application event in a
  transaction of its own on the application's database;
- the ORM capture (`app.features.audit.capture`) reads who is acting: the principal
  the request was authenticated as (`app.core.principal.principal_of`), looked up at
  the moment of the change, so a route that authenticates first is recorded with it.

Outside a request (a worker job, a script), wrap the work in
`with recording(recorder):` to get events recorded; changes to ORM objects are
recorded anyway, with no actor and no request id.
"""

import logging
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy import insert
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.db import Database
from app.core.events import Event
from app.core.principal import principal_of
from app.features.audit.config import AuditSettings
from app.features.audit.models import TABLE, AuditEntry

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"


@dataclass(frozen=True)
class AuditPolicy:
    """What the ORM capture records."""

    record_models: bool = True
    exclude_tables: frozenset[str] = frozenset()
    redact: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: AuditSettings) -> "AuditPolicy":
        return cls(
            record_models=settings.AUDIT_RECORD_MODELS,
            exclude_tables=frozenset(settings.AUDIT_EXCLUDE_TABLES),
            redact=tuple(settings.AUDIT_REDACT_COLUMNS),
        )

    def records(self, table: str) -> bool:
        return table != TABLE and table not in self.exclude_tables

    def redacts(self, *names: str) -> bool:
        return any(part in name.lower() for name in names for part in self.redact)


@dataclass(frozen=True)
class Recorder:
    """The audit log of one application: its database and its policy."""

    database: Database
    policy: AuditPolicy


@dataclass(frozen=True)
class _Context:
    recorder: Recorder
    scope: Scope | None


_current: ContextVar[_Context | None] = ContextVar("audit_context", default=None)


@contextmanager
def recording(recorder: Recorder, scope: Scope | None = None) -> Iterator[None]:
    """Make `recorder` (and the request `scope`, for the actor) current."""
    token = _current.set(_Context(recorder, scope))
    try:
        yield
    finally:
        _current.reset(token)


def current_recorder() -> Recorder | None:
    context = _current.get()
    return context.recorder if context is not None else None


def current_actor() -> str | None:
    """The principal the current request was authenticated as, if it was."""
    context = _current.get()
    if context is None or context.scope is None:
        return None
    principal = principal_of(Request(context.scope))
    return principal.id if principal is not None else None


class AuditContextMiddleware:
    """Makes the request's audit context current while it is handled (plain ASGI)."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # One state for the whole request: routes see this dict (a copied scope
        # shares it), so the principal they find is the one read here.
        scope.setdefault("state", {})
        with recording(self.recorder, scope):
            await self.app(scope, receive, send)


def _text(value: str) -> str:
    # PostgreSQL's JSON refuses NUL and lone surrogates: keep the rest readable.
    if value.isascii() and "\x00" not in value:
        return value
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def jsonable(value: Any) -> Any:
    """`value` as JSON PostgreSQL stores: numbers that JSON cannot hold exactly
    (Decimal, NaN) as strings, times in ISO 8601, bytes by their length."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, Mapping):
        return {_text(str(key)): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return _text(str(value))


def event_row(event: Event) -> dict[str, Any]:
    return {
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "request_id": event.request_id,
        "data": jsonable(event.data) if event.data else None,
    }


async def record_event(event: Event) -> None:
    """The event listener: one row per event, committed at once (the event has
    happened, whatever becomes of the request's own transaction)."""
    recorder = current_recorder()
    if recorder is None:
        logger.warning(
            "Audit event %s emitted outside a request and outside `recording()`: "
            "not recorded",
            event.action,
            extra={"audit_event": event_row(event) | {"at": event.at.isoformat()}},
        )
        return
    async with recorder.database.engine.begin() as connection:
        await connection.execute(insert(AuditEntry).values(event_row(event)))
