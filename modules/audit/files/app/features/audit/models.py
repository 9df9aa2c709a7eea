"""The audit log's table. Rows are only ever inserted: a trigger (created by the
migration `audit_0001`) refuses every UPDATE, and every DELETE except the retention
job's (see `app.features.audit.retention`)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

TABLE = "audit_log"


def utcnow() -> datetime:
    return datetime.now(UTC)


class AuditEntry(Base):
    """One thing that happened: an application event (`auth.login`) or a change to
    a row (`db.insert`, `db.update`, `db.delete`, target `<table>:<primary key>`)."""

    __tablename__ = TABLE
    __table_args__ = (Index("ix_audit_log_at_id", "at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    # Who: a principal id (`user:42`, `api_key:7`), None when anonymous.
    actor: Mapped[str | None] = mapped_column(Text, index=True)
    action: Mapped[str] = mapped_column(String(200), index=True)
    target: Mapped[str | None] = mapped_column(Text, index=True)
    request_id: Mapped[str | None] = mapped_column(Text, index=True)
    # A change's values before and after (only the changed columns of an update).
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # An event's data.
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
