"""Settings of the email feature: environment variables `EMAIL_*`, and the strict
reading of an email address that every header built here goes through."""

import re
from email.headerregistry import Address
from functools import cache
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import Field, SecretStr, field_validator, model_validator

from app.core.config import Environment, FeatureSettings, load_settings

Backend = Literal["smtp", "console", "memory"]
# none: plain SMTP; auto: STARTTLS when the server offers it; starttls: STARTTLS or
# fail; tls: TLS from the first byte (SMTPS, usually port 465).
Security = Literal["none", "auto", "starttls", "tls"]


# `Name <user@host>` or `"Name, with comma" <user@host>`: one address, its name plain.
_NAME_ADDR = re.compile(
    r'\s*(?:"(?P<quoted>[^"\\]*)"|(?P<plain>[^"<>,;:@\\]*?))\s*<(?P<addr>[^<>]*)>\s*'
)


def parse_address(value: str, what: str) -> Address:
    """`value` as exactly one address, `user@example.com` or `Name
    <user@example.com>`, checked by email-validator; ValueError for anything else: a
    list, an encoded word, a second line, an address that is not one.

    `email.utils.parseaddr` takes whatever it can from such input (the first of a
    list, or a piece of an encoded name), which would send the message elsewhere."""
    if any(character in value for character in "\r\n\0"):
        raise ValueError(f"{what} must be on one line")
    if "=?" in value:
        raise ValueError(
            f"{what} {value!r} holds an encoded word (=?...?=): pass names as plain "
            "text, they are encoded when the message is sent"
        )
    match = _NAME_ADDR.fullmatch(value)
    if match is not None:
        quoted = match["quoted"]
        name = quoted if quoted is not None else match["plain"].strip()
        address = match["addr"].strip()
    else:
        name, address = "", value.strip()
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(
            f"{what} {value!r} is not an email address, or is more than one "
            f"({exc}); pass several as a list"
        ) from None
    return Address(display_name=name, addr_spec=checked.normalized)


def check_address(value: str, what: str) -> str:
    """`value` if it is exactly one address (see `parse_address`), or ValueError."""
    parse_address(value, what)
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
