"""Settings of the email feature: environment variables `EMAIL_*`."""

from email.utils import parseaddr
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from app.core.config import Environment, FeatureSettings, load_settings

Backend = Literal["smtp", "console", "memory"]
# none: plain SMTP; auto: STARTTLS when the server offers it; starttls: STARTTLS or
# fail; tls: TLS from the first byte (SMTPS, usually port 465).
Security = Literal["none", "auto", "starttls", "tls"]


def check_address(value: str, what: str) -> str:
    """`value` as one address (`Name <user@host>` or `user@host`), or ValueError."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"{what} must be on one line")
    _, address = parseaddr(value)
    if "@" not in address:
        raise ValueError(f"{what} {value!r} is not an email address")
    return value


class EmailSettings(FeatureSettings):
    # smtp: send through the SMTP server below. console: print each message to
    # standard output instead. memory: keep them in a list (`MemoryBackend.outbox`),
    # for tests. Production refuses console and memory: they never deliver.
    EMAIL_BACKEND: Backend = "console"
    # The sender of every message that does not name its own.
    EMAIL_FROM: str = "noreply@example.com"

    EMAIL_SMTP_HOST: str = "127.0.0.1"
    EMAIL_SMTP_PORT: Annotated[int, Field(ge=1, le=65535)] = 61025
    EMAIL_SMTP_USERNAME: str | None = None
    EMAIL_SMTP_PASSWORD: SecretStr | None = None
    EMAIL_SMTP_SECURITY: Security = "auto"
    # Seconds for connecting and for each SMTP command.
    EMAIL_SMTP_TIMEOUT: Annotated[float, Field(gt=0)] = 10.0

    # Read from the same variable as the base settings, for the check below.
    ENVIRONMENT: Environment = "local"

    @field_validator("EMAIL_SMTP_USERNAME", "EMAIL_SMTP_PASSWORD", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # `EMAIL_SMTP_USERNAME=` in `.env` means no authentication.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("EMAIL_FROM")
    @classmethod
    def _check_from(cls, value: str) -> str:
        return check_address(value, "EMAIL_FROM")

    @model_validator(mode="after")
    def _deliver_in_production(self) -> "EmailSettings":
        if self.ENVIRONMENT == "production" and self.EMAIL_BACKEND != "smtp":
            raise ValueError(
                f"EMAIL_BACKEND is {self.EMAIL_BACKEND!r}, which never delivers a "
                "message; production refuses it. Set EMAIL_BACKEND=smtp and "
                "EMAIL_SMTP_HOST, EMAIL_SMTP_PORT, EMAIL_SMTP_USERNAME, "
                "EMAIL_SMTP_PASSWORD and EMAIL_SMTP_SECURITY for your mail provider"
            )
        return self


@cache
def get_email_settings() -> EmailSettings:
    """The feature's settings, read once."""
    return load_settings(EmailSettings)
