"""Application events: what happened, said once, heard by every feature that listens.

A feature that does something worth recording (a login, a revoked key, a deleted
record) emits an event; features that keep records (an audit log, a notifier) listen:

    await emit(request.app, Event("auth.login", actor=f"user:{user.id}"))

    feature = Feature(name="audit", event_listeners=[record_event])

Neither needs to know whether the other is enabled. Listeners are awaited in
`FEATURES` order while the emitting request waits, so a listener that must not slow
requests hands the work on (a queue, a task). A listener that raises is logged with
its traceback and does not stop the others or fail the request: an event is a record
of what happened, and it has already happened.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette

from app.core.logging import get_request_id

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Event:
    """One thing that happened.

    `action` is dotted, `<feature>.<what>` ("auth.login_failed"); `actor` is who did it
    and `target` what it was done to, as `<kind>:<id>` ("user:42", "api_key:7"), None
    when anonymous or not applicable; `data` is JSON-serialisable detail and never holds
    a secret (no password, token or key). `request_id` defaults to the id of the request
    being handled.
    """

    action: str
    actor: str | None = None
    target: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = field(default_factory=get_request_id)
    at: datetime = field(default_factory=_now)


EventListener = Callable[[Event], Awaitable[None]]


def install_event_listeners(app: Starlette, listeners: Sequence[EventListener]) -> None:
    app.state.event_listeners = tuple(listeners)


async def emit(app: Starlette, event: Event) -> None:
    """Pass `event` to every listener of `app`, in order."""
    listeners: Sequence[EventListener] = getattr(app.state, "event_listeners", ())
    for listener in listeners:
        try:
            await listener(event)
        except Exception:
            logger.exception(
                "Event listener %s failed on %s",
                getattr(listener, "__qualname__", repr(listener)),
                event.action,
            )
