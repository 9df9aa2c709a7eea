"""Request and response bodies of the auth API. Every rule a validator applies is
published in the schema (see app/schemas/common.py)."""

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.features.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PASSWORD_SCHEMA,
    password_problem,
)
from app.schemas.common import NOT_BLANK_PATTERN, SafeStr, storable

# One address, plain ASCII; stored lower-cased. (Stricter than RFC 5322 on purpose:
# no quoted local parts, comments or IP literals; every address it takes can be
# written into a mail header as it is.)
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$"
# `items:write`, `auth:admin`, `reports:read:own`.
PERMISSION_PATTERN = r"^[a-z0-9_.-]{1,40}(:[a-z0-9_.-]{1,40}){0,3}$"
MAX_PERMISSIONS = 50


def _lower(value: str) -> str:
    return value.lower()


def _encodable(value: str) -> str:
    # JSON allows a lone surrogate ("\ud800"), which has no UTF-8 (to hash).
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _strong(value: str) -> str:
    problem = password_problem(value)
    if problem is not None:
        raise ValueError(f"the password {problem}")
    return value


Email = Annotated[
    str,
    Field(max_length=254, pattern=EMAIL_PATTERN, examples=["ada@example.com"]),
    AfterValidator(_lower),
]
# A password being set: the strength rules, published.
NewPassword = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        json_schema_extra=PASSWORD_SCHEMA,
    ),
    AfterValidator(_encodable),
    AfterValidator(_strong),
]
# A password being checked: any text of a bounded length.
Password = Annotated[
    str,
    Field(min_length=1, max_length=MAX_PASSWORD_LENGTH),
    AfterValidator(_encodable),
]
Permission = Annotated[str, Field(pattern=PERMISSION_PATTERN)]
Permissions = Annotated[list[Permission], Field(max_length=MAX_PERMISSIONS)]
# What was handed out: random, URL-safe.
OpaqueToken = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,200}$")]
Name = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=NOT_BLANK_PATTERN),
    AfterValidator(storable),
]
RoleName = Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,100}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Registration(Strict):
    email: Email
    password: NewPassword

    @model_validator(mode="after")
    def _password_is_not_the_email(self) -> Self:
        if password_problem(self.password, self.email) is not None:
            raise ValueError("the password must not be the email address")
        return self


class UserRead(BaseModel):
    id: int
    email: str
    is_active: bool
    is_superuser: bool
    email_verified: bool
    roles: list[str]
    permissions: list[str]
    created_at: datetime


class TokenPair(BaseModel):
    """The OAuth2 token response (RFC 6749 §5.1), with a refresh token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    # Seconds the access token lasts.
    expires_in: int
    refresh_token: str


class RefreshRequest(Strict):
    refresh_token: OpaqueToken


class PasswordResetRequest(Strict):
    email: Email


class PasswordResetConfirm(Strict):
    token: OpaqueToken
    password: NewPassword


class TokenConfirm(Strict):
    token: OpaqueToken


class ApiKeyCreate(Strict):
    name: Name
    scopes: Permissions = []


class ApiKeyRead(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked: bool


class ApiKeyCreated(ApiKeyRead):
    # Shown this once: only its digest is stored.
    key: str


class RoleCreate(Strict):
    name: RoleName
    description: Annotated[SafeStr, Field(max_length=2000)] | None = None
    permissions: Permissions = []


class RoleRead(BaseModel):
    name: str
    description: str | None
    permissions: list[str]


class UserRoles(Strict):
    roles: Annotated[list[RoleName], Field(max_length=MAX_PERMISSIONS)]


class Accepted(BaseModel):
    detail: str
