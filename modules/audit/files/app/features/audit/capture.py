"""Changes to ORM objects, recorded in the transaction that makes them.

A listener on every SQLAlchemy `Session` (`after_flush`) turns the objects a flush
inserted, updated and deleted into audit rows and inserts them on the session's own
connection, before the flush returns: a change rolled back takes its audit rows with
it, and a change committed always has them. Rows:

    db.insert  target "<table>:<primary key>"  after:  every column's value
    db.update  target the same                 before/after: the changed columns
    db.delete  target the same                 before: every column's value

Values are those SQLAlchemy holds for the object (a column the database filled in
and SQLAlchemy never loaded is left out); columns whose name contains one of the
redacted parts are recorded as "[redacted]". Bulk statements (`session.execute(
update(Item)...)`) and raw SQL bypass the ORM's unit of work and are not recorded.
"""

from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import InstanceState, Mapper, Session, UOWTransaction

from app.core.logging import get_request_id
from app.features.audit.config import get_audit_settings
from app.features.audit.models import AuditEntry
from app.features.audit.recorder import (
    REDACTED,
    AuditPolicy,
    current_actor,
    current_recorder,
    jsonable,
)


@cache
def default_policy() -> AuditPolicy:
    """The policy outside a request: from the environment's settings."""
    return AuditPolicy.from_settings(get_audit_settings())


def _table(mapper: Mapper[Any]) -> str:
    return str(getattr(mapper.local_table, "name", mapper.class_.__name__))


def _values(
    state: InstanceState[Any], mapper: Mapper[Any], policy: AuditPolicy
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    loaded = state.dict
    for attr in mapper.column_attrs:
        if attr.key not in loaded:
            continue
        name = attr.columns[0].name
        value = loaded[attr.key]
        values[name] = REDACTED if policy.redacts(name, attr.key) else jsonable(value)
    return values


def _changed(
    state: InstanceState[Any], mapper: Mapper[Any], policy: AuditPolicy
) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        name = attr.columns[0].name
        redacted = policy.redacts(name, attr.key)
        if history.deleted:  # unknown when the old value was never loaded
            before[name] = REDACTED if redacted else jsonable(history.deleted[0])
        new = history.added[0] if history.added else None
        after[name] = REDACTED if redacted else jsonable(new)
    return before, after


def _target(state: InstanceState[Any], mapper: Mapper[Any], table: str) -> str:
    # A persistent object's identity; a new one gets its key during the flush.
    identity = state.identity
    if identity is None:
        keys = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
        identity = tuple(state.dict.get(key) for key in keys)
    return f"{table}:" + ",".join(str(value) for value in identity)


def changes(
    session: Session,
    policy: AuditPolicy,
    *,
    actor: str | None = None,
    request_id: str | None = None,
    at: datetime | None = None,
) -> list[dict[str, Any]]:
    """The audit rows of what `session` is flushing (call it from `after_flush`,
    while `new`, `dirty` and `deleted` still say what was flushed)."""
    at = at or datetime.now(UTC)
    rows: list[dict[str, Any]] = []

    def row(action: str, state: InstanceState[Any], table: str, **values: Any) -> None:
        rows.append(
            {
                "at": at,
                "actor": actor,
                "action": action,
                "target": _target(state, state.mapper, table),
                "request_id": request_id,
                "before": None,
                "after": None,
                "data": None,
            }
            | values
        )

    for kind, objects in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            state = inspect(obj)
            mapper = state.mapper
            table = _table(mapper)
            if isinstance(obj, AuditEntry) or not policy.records(table):
                continue
            if kind == "insert":
                row("db.insert", state, table, after=_values(state, mapper, policy))
            elif kind == "delete":
                row("db.delete", state, table, before=_values(state, mapper, policy))
            else:
                before, after = _changed(state, mapper, policy)
                if after:  # touched, but no column changed: nothing was written
                    row("db.update", state, table, before=before, after=after)
    return rows


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    recorder = current_recorder()
    policy = recorder.policy if recorder is not None else default_policy()
    if not policy.record_models:
        return
    rows = changes(session, policy, actor=current_actor(), request_id=get_request_id())
    if rows:
        # The session's own connection, inside its transaction.
        session.connection().execute(insert(AuditEntry), rows)


def install() -> None:
    """Record the changes of every session of this process (once)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def uninstall() -> None:
    if event.contains(Session, "after_flush", _after_flush):
        event.remove(Session, "after_flush", _after_flush)
