"""Application settings, read from environment variables, `.env` and `.paxx/env`.

Each setting is the environment variable of the same name (no prefix). The variable wins
over `.env` (yours), `.env` over `.paxx/env` (written by `paxx-compose up`: the settings
that point at the services it started, with their ports), and those over the default.
`.env.example` lists them all. Both files are read from the current folder and are
ignored by git, so a production image has neither.

A feature brings its own settings class: subclass `FeatureSettings` so that it reads the
same sources, and cache one instance with `functools.cache`, as `get_settings` does.
"""

import json
import math
import secrets
from collections import Counter
from functools import cache
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

API_V1_PREFIX = "/api/v1"

# The key earlier templates published as the development default: refused in production.
DEFAULT_SECRET_KEY = "insecure-development-key-change-me"
# Production refuses a SECRET_KEY shorter than this, with whitespace, that repeats a
# pattern, or whose characters carry fewer bits than this by a Shannon estimate (a
# random hex key of 32 characters carries about 115, `token_urlsafe(48)` about 320).
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_BITS = 80

Environment = Literal["local", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

S = TypeVar("S", bound=BaseSettings)


class ConfigurationError(RuntimeError):
    """The settings are invalid; the message says which and how to fix them."""


class FeatureSettings(BaseSettings):
    """Base class for settings: environment, then `.env`, then `.paxx/env`."""

    model_config = SettingsConfigDict(
        # The later file wins.
        env_file=(".paxx/env", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
    )


def split_list(value: Any) -> Any:
    """Accept `a,b,c` or a JSON array for list settings (features' too)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def secret_key_problem(key: str) -> str | None:
    """What makes `key` unfit for production, or None."""
    if not key:
        return "is not set"
    if key == DEFAULT_SECRET_KEY:
        return "is the published development key"
    if any(character.isspace() for character in key):
        return "contains whitespace"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    period = _period(key)
    if period is not None:
        return f"repeats a pattern of {period} characters"
    counts = Counter(key).values()
    bits = -sum(n * math.log2(n / len(key)) for n in counts)
    if bits < MIN_SECRET_KEY_BITS:
        return f"is not random enough ({bits:.0f} bits, at least {MIN_SECRET_KEY_BITS})"
    return None


def _period(text: str) -> int | None:
    """The length of the shortest pattern `text` repeats (twice at least), or None."""
    for size in range(1, len(text) // 2 + 1):
        if text == (text[:size] * (len(text) // size + 1))[: len(text)]:
            return size
    return None


@cache
def _process_secret_key() -> str:
    """The key of this process when SECRET_KEY is not set outside production."""
    return secrets.token_urlsafe(48)


class Settings(FeatureSettings):
    """The base application's settings."""

    PROJECT_NAME: str = "app"
    ENVIRONMENT: Environment = "local"
    # Signs tokens and URLs. `paxx-compose new`/`init` write one of the project's own to
    # `.env`. Unset outside production: a random key that lasts as long as the process.
    SECRET_KEY: SecretStr = SecretStr("")

    DATABASE_URL: str = "postgresql+asyncpg://app:app@127.0.0.1:54329/app"
    DATABASE_POOL_SIZE: Annotated[int, Field(ge=1)] = 5
    DATABASE_MAX_OVERFLOW: Annotated[int, Field(ge=0)] = 10
    DATABASE_ECHO: bool = False

    # Browser origins allowed to call the API (`https://app.example.com`).
    # Empty: no CORS headers at all. `*` only with CORS_ALLOW_CREDENTIALS=false.
    CORS_ORIGINS: Annotated[list[str], NoDecode] = []
    # Whether those origins may send the user's cookies and credentials.
    CORS_ALLOW_CREDENTIALS: bool = True
    # Host names this service answers to (`api.example.com`, `*.example.com`).
    # `*`: any host (no check), which production refuses.
    TRUSTED_HOSTS: Annotated[list[str], NoDecode, Field(min_length=1)] = ["*"]
    # Where clients reach this service (`https://api.example.com`): redirects and the
    # URLs the API hands out are built from it, never from the request's Host header.
    # Required in production; empty elsewhere: the request's own host.
    PUBLIC_BASE_URL: str | None = None
    # The interactive docs and the schema (/docs, /redoc, /openapi.json). Empty: on,
    # except in production.
    DOCS_ENABLED: bool | None = None
    # Largest request body, in bytes, for every route that does not set its own limit
    # (`app.core.limits.body_limit`); larger is a 413 before it is read whole.
    MAX_REQUEST_BODY_SIZE: Annotated[int, Field(ge=1024)] = 1024 * 1024

    LOG_LEVEL: LogLevel = "INFO"
    LOG_JSON: bool = True

    # Seconds each readiness check may take before it counts as down.
    HEALTH_CHECK_TIMEOUT: Annotated[float, Field(gt=0)] = 2.0
    # Seconds `/health/ready` answers from its last result; 0: every call checks (one
    # check at a time still, shared by the calls that arrive meanwhile).
    HEALTH_CHECK_CACHE_SECONDS: Annotated[float, Field(ge=0)] = 1.0

    @field_validator("CORS_ORIGINS", "TRUSTED_HOSTS", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("CORS_ORIGINS")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        cleaned = []
        for origin in origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(
                    f"CORS origin {origin!r} must start with http:// or https://"
                )
            cleaned.append(origin.rstrip("/"))
        return cleaned

    @field_validator("PUBLIC_BASE_URL", "DOCS_ENABLED", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("PUBLIC_BASE_URL")
    @classmethod
    def _check_base_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url.strip())
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username is not None
        ):
            raise ValueError(
                f"PUBLIC_BASE_URL {url!r} must be a scheme and a host, like "
                "`https://api.example.com` (serve under a path with --root-path)"
            )
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("DATABASE_URL")
    @classmethod
    def _use_asyncpg(cls, url: str) -> str:
        # Hosting platforms hand out `postgres://` URLs; SQLAlchemy needs the driver.
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url.removeprefix(prefix)
        return url

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _no_credentials_for_any_origin(self) -> "Settings":
        if "*" in self.CORS_ORIGINS and self.CORS_ALLOW_CREDENTIALS:
            raise ValueError(
                "CORS_ORIGINS=* with credentials would let every website call the API "
                "with your users' cookies; list the origins allowed "
                "(`https://app.example.com`), or set CORS_ALLOW_CREDENTIALS=false"
            )
        return self

    @model_validator(mode="after")
    def _secret_key(self) -> "Settings":
        key = self.SECRET_KEY.get_secret_value()
        if self.ENVIRONMENT == "production":
            problem = secret_key_problem(key)
            if problem is not None:
                raise ValueError(
                    f"SECRET_KEY {problem}, which production refuses. Set SECRET_KEY "
                    "to a random value, e.g. the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
                )
        elif not key.strip():
            self.SECRET_KEY = SecretStr(_process_secret_key())
        return self

    @model_validator(mode="after")
    def _production_settings(self) -> "Settings":
        if self.ENVIRONMENT != "production":
            return self
        problems = []
        if "*" in self.TRUSTED_HOSTS:
            problems.append(
                "TRUSTED_HOSTS must list the host names this service answers to "
                "(`api.example.com`), not `*`: any Host header would be accepted"
            )
        if self.PUBLIC_BASE_URL is None:
            problems.append(
                "PUBLIC_BASE_URL must say where clients reach this service "
                "(`https://api.example.com`): URLs are never built from the Host header"
            )
        if problems:
            raise ValueError("production requires: " + "; ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.ENVIRONMENT == "production"

    @property
    def docs_enabled(self) -> bool:
        """Whether /docs, /redoc and /openapi.json are served."""
        if self.DOCS_ENABLED is None:
            return not self.is_production
        return self.DOCS_ENABLED

    @property
    def secret_key_is_temporary(self) -> bool:
        """SECRET_KEY was not set: this process made one up."""
        return self.SECRET_KEY.get_secret_value() == _process_secret_key()


def load_settings(cls: type[S]) -> S:
    """Read `cls` from the environment, or raise a `ConfigurationError` that names
    each bad variable (never its value: it may be a secret)."""
    try:
        return cls()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            location = ".".join(str(part) for part in error["loc"])
            problems.append(f"{location}: {message}" if location else message)
        raise ConfigurationError(
            f"Invalid settings ({cls.__name__}): " + "; ".join(problems)
        ) from None


@cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings(Settings)
