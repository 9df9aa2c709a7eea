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
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

API_V1_PREFIX = "/api/v1"

# The development default. Production refuses it, and any key shorter than this:
DEFAULT_SECRET_KEY = "insecure-development-key-change-me"
MIN_SECRET_KEY_LENGTH = 32

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


class Settings(FeatureSettings):
    """The base application's settings."""

    PROJECT_NAME: str = "app"
    ENVIRONMENT: Environment = "local"
    SECRET_KEY: SecretStr = SecretStr(DEFAULT_SECRET_KEY)

    DATABASE_URL: str = "postgresql+asyncpg://app:app@127.0.0.1:54329/app"
    DATABASE_POOL_SIZE: Annotated[int, Field(ge=1)] = 5
    DATABASE_MAX_OVERFLOW: Annotated[int, Field(ge=0)] = 10
    DATABASE_ECHO: bool = False

    # Browser origins allowed to call the API (`https://app.example.com`).
    # Empty: no CORS headers at all.
    CORS_ORIGINS: Annotated[list[str], NoDecode] = []
    # Host names this service answers to (`api.example.com`, `*.example.com`).
    # `*`: any host (no check).
    TRUSTED_HOSTS: Annotated[list[str], NoDecode, Field(min_length=1)] = ["*"]

    LOG_LEVEL: LogLevel = "INFO"
    LOG_JSON: bool = True

    # Seconds each readiness check may take before it counts as down.
    HEALTH_CHECK_TIMEOUT: Annotated[float, Field(gt=0)] = 2.0

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
    def _strong_secret_in_production(self) -> "Settings":
        if self.ENVIRONMENT == "production":
            key = self.SECRET_KEY.get_secret_value()
            if key == DEFAULT_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
                raise ValueError(
                    "SECRET_KEY is the development default or shorter than "
                    f"{MIN_SECRET_KEY_LENGTH} characters, which production refuses. "
                    "Set SECRET_KEY to a random value, e.g. the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
                )
        return self

    @property
    def is_production(self) -> bool:
        return self.ENVIRONMENT == "production"


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
