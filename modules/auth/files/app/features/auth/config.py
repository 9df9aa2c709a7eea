"""Settings of the auth feature: environment variables `AUTH_*`.

Production refuses to start without signing keys of its own (strong ones), with
password hashing weaker than OWASP's minimum for argon2id, or with a first superuser
whose password is weak.
"""

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from app.core.config import (
    Environment,
    FeatureSettings,
    load_settings,
    secret_key_problem,
    split_list,
)
from app.features.auth.passwords import password_problem

# OWASP's minimum for argon2id (m=19 MiB, t=2, p=1); production refuses less.
MIN_PRODUCTION_MEMORY_COST = 19 * 1024
MIN_PRODUCTION_TIME_COST = 2


class OAuthProvider(BaseModel):
    """A social login provider: `github` (its emails API), or any OpenID Connect one
    (`oidc`: a userinfo endpoint answering `email` and `email_verified`)."""

    kind: Literal["github", "oidc"] = "oidc"
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    authorize_url: str
    token_url: str
    userinfo_url: str
    scope: str = "openid email"


# The URLs of the providers known by name; AUTH_OAUTH_PROVIDERS adds the client's
# id and secret (and may replace any of these).
BUILT_IN_PROVIDERS: dict[str, dict[str, str]] = {
    "github": {
        "kind": "github",
        "authorize_url": "https://github.com/login/oauth/authorize",
        "token_url": "https://github.com/login/oauth/access_token",
        "userinfo_url": "https://api.github.com/user/emails",
        "scope": "read:user user:email",
    },
    "google": {
        "kind": "oidc",
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_url": "https://oauth2.googleapis.com/token",
        "userinfo_url": "https://openidconnect.googleapis.com/v1/userinfo",
        "scope": "openid email",
    },
}


class AuthSettings(FeatureSettings):
    # `kid:secret` pairs, comma-separated. The first signs new access tokens; every
    # one verifies, so rotating is: put the new key first, keep the old one until the
    # tokens it signed have expired (AUTH_ACCESS_TOKEN_MINUTES), then remove it.
    # Empty outside production: one key derived from SECRET_KEY (kid `secret-key`).
    AUTH_SIGNING_KEYS: Annotated[list[str], NoDecode] = []
    AUTH_ACCESS_TOKEN_MINUTES: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    AUTH_REFRESH_TOKEN_DAYS: Annotated[int, Field(ge=1, le=365)] = 30

    # argon2id parameters (argon2-cffi's defaults: RFC 9106's low-memory profile).
    # A login whose stored hash used other parameters rehashes the password.
    AUTH_ARGON2_TIME_COST: Annotated[int, Field(ge=1)] = 3
    AUTH_ARGON2_MEMORY_COST: Annotated[int, Field(ge=1024)] = 64 * 1024  # KiB
    AUTH_ARGON2_PARALLELISM: Annotated[int, Field(ge=1)] = 4

    # Per account (by email, known or not): after this many failed logins in a row,
    # each further try waits AUTH_LOGIN_BACKOFF_SECONDS, doubled per failure, at most
    # AUTH_LOGIN_BACKOFF_MAX_SECONDS (a 429 with Retry-After meanwhile).
    AUTH_LOGIN_MAX_FAILURES: Annotated[int, Field(ge=1)] = 5
    AUTH_LOGIN_BACKOFF_SECONDS: Annotated[float, Field(gt=0)] = 1.0
    AUTH_LOGIN_BACKOFF_MAX_SECONDS: Annotated[float, Field(gt=0)] = 900.0

    AUTH_REGISTRATION_OPEN: bool = True
    # Refuse logins (403) until the address is verified.
    AUTH_REQUIRE_VERIFIED_EMAIL: bool = False
    AUTH_PASSWORD_RESET_MINUTES: Annotated[int, Field(ge=1)] = 30
    AUTH_VERIFY_EMAIL_HOURS: Annotated[int, Field(ge=1)] = 48
    # Where the links in the emails point (`https://app.example.com/reset`); the
    # token is appended as `?token=…`. Empty: the email carries the token alone.
    AUTH_PASSWORD_RESET_URL: str = ""
    AUTH_VERIFY_EMAIL_URL: str = ""

    # Created when the application starts, if no user has this email yet.
    AUTH_FIRST_SUPERUSER_EMAIL: str = ""
    AUTH_FIRST_SUPERUSER_PASSWORD: SecretStr = SecretStr("")

    # Social login, as JSON: {"github": {"client_id": "…", "client_secret": "…"},
    # "google": {…}}; other OpenID Connect providers with their URLs too (see
    # `OAuthProvider`). Empty: no social login.
    AUTH_OAUTH_PROVIDERS: dict[str, dict[str, str]] = {}

    # Read from the same variable as the base settings, for the checks below.
    ENVIRONMENT: Environment = "local"

    def oauth_providers(self) -> dict[str, OAuthProvider]:
        return {
            name: OAuthProvider.model_validate(BUILT_IN_PROVIDERS.get(name, {}) | given)
            for name, given in self.AUTH_OAUTH_PROVIDERS.items()
        }

    @model_validator(mode="after")
    def _check_providers(self) -> "AuthSettings":
        for name, provider in self.oauth_providers().items():
            urls = (provider.authorize_url, provider.token_url, provider.userinfo_url)
            if self.ENVIRONMENT == "production" and not all(
                url.startswith("https://") for url in urls
            ):
                raise ValueError(f"AUTH_OAUTH_PROVIDERS: {name}'s URLs must be https")
        return self

    @field_validator("AUTH_SIGNING_KEYS", mode="before")
    @classmethod
    def _parse_keys(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("AUTH_SIGNING_KEYS")
    @classmethod
    def _check_keys(cls, keys: list[str]) -> list[str]:
        seen: set[str] = set()
        for entry in keys:
            kid, sep, secret = entry.partition(":")
            if not sep or not kid.strip() or not secret:
                raise ValueError(
                    "each AUTH_SIGNING_KEYS entry is `kid:secret` (e.g. "
                    "`2026-11:<random>`), comma-separated"
                )
            if kid in seen:
                raise ValueError(f"AUTH_SIGNING_KEYS names the key id {kid!r} twice")
            seen.add(kid)
        return keys

    @property
    def signing_keys(self) -> list[tuple[str, str]]:
        """`(kid, secret)` pairs; the first signs."""
        return [
            (kid, secret)
            for kid, _, secret in (
                entry.partition(":") for entry in self.AUTH_SIGNING_KEYS
            )
        ]

    @model_validator(mode="after")
    def _production(self) -> "AuthSettings":
        if self.ENVIRONMENT != "production":
            return self
        problems = []
        if not self.AUTH_SIGNING_KEYS:
            problems.append(
                "AUTH_SIGNING_KEYS must be set: `kid:secret` pairs, each secret "
                "random: `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        for kid, secret in self.signing_keys:
            problem = secret_key_problem(secret)
            if problem is not None:
                problems.append(f"the signing key {kid!r} {problem}")
        if self.AUTH_ARGON2_MEMORY_COST < MIN_PRODUCTION_MEMORY_COST:
            problems.append(
                f"AUTH_ARGON2_MEMORY_COST must be at least {MIN_PRODUCTION_MEMORY_COST}"
            )
        if self.AUTH_ARGON2_TIME_COST < MIN_PRODUCTION_TIME_COST:
            problems.append(
                f"AUTH_ARGON2_TIME_COST must be at least {MIN_PRODUCTION_TIME_COST}"
            )
        if self.AUTH_FIRST_SUPERUSER_EMAIL:
            problem = password_problem(
                self.AUTH_FIRST_SUPERUSER_PASSWORD.get_secret_value(),
                self.AUTH_FIRST_SUPERUSER_EMAIL,
            )
            if problem is not None:
                problems.append(f"AUTH_FIRST_SUPERUSER_PASSWORD {problem}")
        if problems:
            raise ValueError("production requires: " + "; ".join(problems))
        return self


@cache
def get_auth_settings() -> AuthSettings:
    """The feature's settings, read once."""
    return load_settings(AuthSettings)
