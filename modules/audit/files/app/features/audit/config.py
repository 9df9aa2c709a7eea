"""Settings of the audit feature: environment variables `AUDIT_*`."""

from functools import cache
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from app.core.config import (
    ConfigurationError,
    Environment,
    FeatureSettings,
    load_settings,
    secret_key_problem,
    split_list,
)

# Parts of column names whose values never reach the log (case-insensitive).
DEFAULT_REDACT_COLUMNS = [
    "password",
    "passwd",
    "hash",
    "token",
    "secret",
    "key",
    "salt",
    "credential",
]


class AuditSettings(FeatureSettings):
    # The key `GET /api/v1/audit` accepts (`Authorization: Bearer <key>`) while no
    # feature authenticates requests (with auth enabled: the `audit:read` permission
    # instead). Empty: the endpoint refuses everyone (401), which production refuses
    # to start with unless a feature authenticates.
    AUDIT_API_KEY: SecretStr | None = None
    # Rows older than this many days are deleted by the retention command.
    AUDIT_RETENTION_DAYS: Annotated[int, Field(ge=1, le=36500)] = 365
    # Record inserts, updates and deletes of ORM objects (events are always recorded).
    AUDIT_RECORD_MODELS: bool = True
    # Tables whose changes are not recorded (the audit log's own never is).
    AUDIT_EXCLUDE_TABLES: Annotated[list[str], NoDecode] = []
    # A column whose name contains one of these (case-insensitive) is recorded as
    # "[redacted]" in before/after.
    AUDIT_REDACT_COLUMNS: Annotated[list[str], NoDecode] = DEFAULT_REDACT_COLUMNS

    # Read from the same variable as the base settings, for `check_production`.
    ENVIRONMENT: Environment = "local"

    @field_validator("AUDIT_EXCLUDE_TABLES", "AUDIT_REDACT_COLUMNS", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("AUDIT_REDACT_COLUMNS")
    @classmethod
    def _lower(cls, parts: list[str]) -> list[str]:
        return [part.lower() for part in parts if part]

    @field_validator("AUDIT_API_KEY", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # `AUDIT_API_KEY=` in `.env` means no key.
        return None if isinstance(value, str) and not value.strip() else value

    def check_production(self, *, authenticated: bool) -> None:
        """Refuse to start in production when the log would be readable with a weak
        key, or by nobody at all. With a feature that authenticates requests the key
        is not used (the `audit:read` permission is)."""
        if self.ENVIRONMENT != "production" or authenticated:
            return
        key = self.AUDIT_API_KEY.get_secret_value() if self.AUDIT_API_KEY else ""
        problem = secret_key_problem(key)
        if problem is not None:
            raise ConfigurationError(
                f"AUDIT_API_KEY {problem}, which production refuses while no feature "
                "authenticates requests: it is the only key to the audit log. Set it "
                "to a random value, e.g. the output of `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`"
            )


@cache
def get_audit_settings() -> AuditSettings:
    """The feature's settings, read once."""
    return load_settings(AuditSettings)
