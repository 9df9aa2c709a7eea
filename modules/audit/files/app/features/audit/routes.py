"""`GET /api/v1/audit`: the log, newest first, filtered and paginated.

Who may read it: with a feature that authenticates requests (auth), a principal
with the `audit:read` permission (or a superuser): 401 without credentials, 403
without the permission. Without one, the bearer of `AUDIT_API_KEY`
(`Authorization: Bearer <key>`, compared in constant time); while no key is set,
nobody (401).
"""

import re
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import ColumnElement, func, select

from app.api.deps import SessionDep
from app.core.config import API_V1_PREFIX
from app.core.openapi import error_responses
from app.core.principal import authenticate
from app.core.security import constant_time_equals
from app.features.audit.config import AuditSettings
from app.features.audit.models import AuditEntry
from app.schemas.common import Page, SafeStr

PERMISSION = "audit:read"
MAX_PAGE_SIZE = 100
MAX_OFFSET = 1_000_000
# `auth.*` matches every action starting with `auth.`.
WILDCARD = "*"

_bearer = HTTPBearer(
    auto_error=False,
    description="`AUDIT_API_KEY`, while no feature authenticates requests; "
    "otherwise the credentials that feature accepts",
)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


async def require_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Let through only who may read the audit log."""
    features = getattr(request.app.state, "features", ())
    if any(feature.authenticator is not None for feature in features):
        principal = await authenticate(request)
        if principal is None:
            raise _unauthorized("Not authenticated.")
        if not principal.can(PERMISSION):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"Requires the {PERMISSION} permission."
            )
        return
    settings = cast(AuditSettings, request.app.state.audit_settings)
    key = settings.AUDIT_API_KEY
    # One message whether no key is set or the wrong one was sent.
    if (
        key is None
        or credentials is None
        or not constant_time_equals(credentials.credentials, key.get_secret_value())
    ):
        raise _unauthorized("Missing or wrong key for the audit log.")


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str | None
    action: str
    target: str | None
    request_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    data: dict[str, Any] | None


Filter = Annotated[SafeStr | None, Field(max_length=200)]

# RFC 3339, as the document's `date-time` says: pydantic alone would also take a
# number of seconds (`0.5`) or a date.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be a date and time with an offset: 2026-01-31T12:00:00Z")
    return value


Time = Annotated[AwareDatetime | None, BeforeValidator(rfc3339)]


class AuditListParams(BaseModel):
    """Query parameters of `GET /api/v1/audit`."""

    actor: Annotated[Filter, Field(description="Exactly this actor (`user:42`)")] = None
    action: Annotated[
        Filter,
        Field(description="Exactly this action, or a prefix ending in `*` (`auth.*`)"),
    ] = None
    target: Annotated[
        Filter,
        Field(description="Exactly this target, or a prefix ending in `*` (`items:*`)"),
    ] = None
    since: Annotated[Time, Field(description="At or after this time")] = None
    until: Annotated[Time, Field(description="Before this time")] = None
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = 20


def _match(column: Any, value: str) -> ColumnElement[bool]:
    if value.endswith(WILDCARD):
        # `%` and `_` in the value are matched as themselves.
        return cast(
            ColumnElement[bool],
            column.startswith(value.removesuffix(WILDCARD), autoescape=True),
        )
    return cast(ColumnElement[bool], column == value)


router = APIRouter(
    prefix=f"{API_V1_PREFIX}/audit",
    tags=["audit"],
    dependencies=[Depends(require_reader)],
    responses=error_responses(401, 403),
)


@router.get("")
async def list_audit_entries(
    session: SessionDep, params: Annotated[AuditListParams, Query()]
) -> Page[AuditEntryRead]:
    filters: list[ColumnElement[bool]] = []
    if params.actor is not None:
        filters.append(AuditEntry.actor == params.actor)
    if params.action is not None:
        filters.append(_match(AuditEntry.action, params.action))
    if params.target is not None:
        filters.append(_match(AuditEntry.target, params.target))
    if params.since is not None:
        filters.append(AuditEntry.at >= params.since)
    if params.until is not None:
        filters.append(AuditEntry.at < params.until)
    total = await session.scalar(
        select(func.count()).select_from(AuditEntry).where(*filters)
    )
    rows = await session.scalars(
        select(AuditEntry)
        .where(*filters)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(params.offset)
        .limit(params.limit)
    )
    return Page[AuditEntryRead](
        items=[AuditEntryRead.model_validate(row) for row in rows],
        total=total or 0,
        offset=params.offset,
        limit=params.limit,
    )
