"""An append-only audit log: who did what, when, in which request.

- Every application event (`app.core.events.emit`, e.g. auth's `auth.login`) is
  written by the feature's event listener.
- Every insert, update and delete of an ORM object is written by a listener on
  SQLAlchemy's sessions in the same transaction as the change, with the values
  before and after (secret-looking columns redacted): `app.features.audit.capture`.
- The table `audit_log` accepts only inserts: a trigger refuses updates and deletes,
  except the retention job's (`python -m app.features.audit.retention`).
- `GET /api/v1/audit` lists it, for the `audit:read` permission (with auth) or the
  `AUDIT_API_KEY` (without).

The application's `Recorder` is `app.state.audit`; its settings
`app.state.audit_settings`.
"""

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.middleware import Middleware

from app.core.db import Database
from app.core.features import Feature
from app.features.audit import capture
from app.features.audit.config import AuditSettings, get_audit_settings
from app.features.audit.models import AuditEntry
from app.features.audit.recorder import (
    AuditContextMiddleware,
    AuditPolicy,
    Recorder,
    record_event,
    recording,
)
from app.features.audit.routes import PERMISSION, router

__all__ = [
    "PERMISSION",
    "AuditEntry",
    "AuditPolicy",
    "AuditSettings",
    "Recorder",
    "feature",
    "get_audit_settings",
    "make_feature",
    "recording",
]

# Importing the feature (as the feature registry does in every process of the
# application: server, workers, migrations) starts recording ORM changes.
capture.install()


def make_feature(settings: AuditSettings | None = None) -> Feature:
    """The feature, with `settings` (default: from the environment, read when the
    application is built)."""

    def middleware(app: FastAPI) -> Sequence[Middleware]:
        current = settings or get_audit_settings()
        features = getattr(app.state, "features", ())
        current.check_production(
            authenticated=any(f.authenticator is not None for f in features)
        )
        database: Database = app.state.database
        recorder = Recorder(database, AuditPolicy.from_settings(current))
        app.state.audit = recorder
        app.state.audit_settings = current
        return [Middleware(AuditContextMiddleware, recorder=recorder)]

    return Feature(
        name="audit",
        router=router,
        middleware=middleware,
        middleware_layer="inner",
        event_listeners=[record_event],
    )


feature = make_feature()
