"""What the auth routes do, apart from HTTP: accounts, sessions and their tokens,
the login backoff, API keys, one-time tokens.

Every function takes the session it works in and commits nothing itself unless it
says so: a route commits once it has done all it does.
"""

import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, TextClause, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from app.core.config import Settings
from app.features.auth.config import AuthSettings
from app.features.auth.models import (
    AuthActionToken,
    AuthLoginThrottle,
    AuthRefreshToken,
    AuthSession,
    AuthUser,
)
from app.features.auth.passwords import Passwords
from app.features.auth.tokens import KeyRing, digest, new_secret

RESET = "reset"
VERIFY = "verify"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AuthState:
    """The running application's auth machinery: `app.state.auth`."""

    settings: AuthSettings
    keys: KeyRing
    passwords: Passwords
    production: bool

    @classmethod
    def create(cls, settings: AuthSettings, base: Settings) -> "AuthState":
        keys = (
            KeyRing(settings.signing_keys)
            if settings.signing_keys
            else KeyRing.derived(base.SECRET_KEY.get_secret_value())
        )
        passwords = Passwords(
            time_cost=settings.AUTH_ARGON2_TIME_COST,
            memory_cost=settings.AUTH_ARGON2_MEMORY_COST,
            parallelism=settings.AUTH_ARGON2_PARALLELISM,
        )
        return cls(settings, keys, passwords, base.is_production)

    @property
    def access_lifetime(self) -> timedelta:
        return timedelta(minutes=self.settings.AUTH_ACCESS_TOKEN_MINUTES)

    @property
    def refresh_lifetime(self) -> timedelta:
        return timedelta(days=self.settings.AUTH_REFRESH_TOKEN_DAYS)


def auth_state(app: Starlette) -> AuthState:
    return cast(AuthState, app.state.auth)


# --- accounts ----------------------------------------------------------------------


async def user_by_email(session: AsyncSession, email: str) -> AuthUser | None:
    found: AuthUser | None = await session.scalar(
        select(AuthUser).where(AuthUser.email == email.lower())
    )
    return found


async def create_user(
    session: AsyncSession,
    state: AuthState,
    email: str,
    password: str,
    *,
    superuser: bool = False,
    verified: bool = False,
) -> AuthUser:
    user = AuthUser(
        email=email.lower(),
        password_hash=await state.passwords.hash(password),
        is_superuser=superuser,
        email_verified_at=now() if verified else None,
        roles=[],
    )
    session.add(user)
    await session.flush()
    return user


# --- the login backoff --------------------------------------------------------------


def email_digest(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()


async def locked_for(session: AsyncSession, email: str) -> float:
    """Seconds before the next login try for `email` is heard (0: now)."""
    locked_until = await session.scalar(
        select(AuthLoginThrottle.locked_until).where(
            AuthLoginThrottle.email_digest == email_digest(email)
        )
    )
    if locked_until is None:
        return 0.0
    return max(0.0, (locked_until - now()).total_seconds())


async def record_failure(session: AsyncSession, state: AuthState, email: str) -> None:
    """Count a failed login in a row for `email`, and lock it once there are too
    many. Atomic: concurrent failures all count."""
    failures = await session.scalar(
        insert(AuthLoginThrottle)
        .values(email_digest=email_digest(email), failures=1)
        .on_conflict_do_update(
            index_elements=[AuthLoginThrottle.email_digest],
            set_={"failures": AuthLoginThrottle.failures + 1},
        )
        .returning(AuthLoginThrottle.failures)
    )
    settings = state.settings
    over = (failures or 0) - settings.AUTH_LOGIN_MAX_FAILURES
    if over >= 0:
        wait = min(
            settings.AUTH_LOGIN_BACKOFF_SECONDS * 2 ** min(over, 30),
            settings.AUTH_LOGIN_BACKOFF_MAX_SECONDS,
        )
        await session.execute(
            update(AuthLoginThrottle)
            .where(AuthLoginThrottle.email_digest == email_digest(email))
            .values(locked_until=now() + timedelta(seconds=wait))
        )


async def clear_failures(session: AsyncSession, email: str) -> None:
    await session.execute(
        update(AuthLoginThrottle)
        .where(AuthLoginThrottle.email_digest == email_digest(email))
        .values(failures=0, locked_until=None)
    )


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


# --- sessions and their tokens ----------------------------------------------------


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID


async def _issue(
    session: AsyncSession, state: AuthState, user_id: int, session_id: uuid.UUID
) -> IssuedTokens:
    refresh = new_secret()
    session.add(
        AuthRefreshToken(
            session_id=session_id,
            token_hash=digest(refresh),
            expires_at=now() + state.refresh_lifetime,
        )
    )
    access, _ = state.keys.issue_access(user_id, session_id, state.access_lifetime)
    return IssuedTokens(
        access, refresh, int(state.access_lifetime.total_seconds()), session_id
    )


async def start_session(
    session: AsyncSession, state: AuthState, user: AuthUser
) -> IssuedTokens:
    login = AuthSession(id=uuid.uuid4(), user_id=user.id)
    session.add(login)
    await session.flush()
    return await _issue(session, state, user.id, login.id)


class RefreshRefused(Exception):
    """The refresh token cannot be exchanged; `reused` when it had been already (its
    session is then revoked)."""

    def __init__(self, reason: str, *, reused: bool = False, user_id: int = 0) -> None:
        super().__init__(reason)
        self.reused = reused
        self.user_id = user_id


async def rotate(session: AsyncSession, state: AuthState, token: str) -> IssuedTokens:
    """A new pair for a refresh token, which is spent. A spent token presented again
    means two parties hold it: the whole session is revoked (commits that)."""
    found = (
        await session.execute(
            select(AuthRefreshToken, AuthSession, AuthUser)
            .join(AuthSession, AuthRefreshToken.session_id == AuthSession.id)
            .join(AuthUser, AuthSession.user_id == AuthUser.id)
            .where(AuthRefreshToken.token_hash == digest(token))
        )
    ).first()
    if found is None:
        raise RefreshRefused("unknown refresh token")
    refresh, login, user = found
    if login.revoked_at is not None:
        raise RefreshRefused("the session has ended", user_id=user.id)
    # Spend it, unless someone did already (atomic: one of two racing uses wins).
    spent = await session.scalar(
        update(AuthRefreshToken)
        .where(AuthRefreshToken.id == refresh.id, AuthRefreshToken.used_at.is_(None))
        .values(used_at=now())
        .returning(AuthRefreshToken.id)
    )
    if spent is None:
        await revoke_session(session, login.id)
        await session.commit()
        raise RefreshRefused("refresh token reused", reused=True, user_id=user.id)
    if refresh.expires_at <= now():
        raise RefreshRefused("refresh token expired", user_id=user.id)
    if not user.is_active:
        raise RefreshRefused("the account is disabled", user_id=user.id)
    return await _issue(session, state, user.id, login.id)


async def revoke_session(session: AsyncSession, session_id: uuid.UUID) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now())
    )


async def revoke_all_sessions(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now())
    )


async def session_of_refresh(
    session: AsyncSession, token: str
) -> tuple[uuid.UUID, int] | None:
    """`(session id, user id)` of a refresh token, spent or not."""
    found = (
        await session.execute(
            select(AuthSession.id, AuthSession.user_id)
            .join(AuthRefreshToken, AuthRefreshToken.session_id == AuthSession.id)
            .where(AuthRefreshToken.token_hash == digest(token))
        )
    ).first()
    return None if found is None else (found[0], found[1])


# What each authenticated request asks: one query, in one round trip, outside a
# transaction (it only reads), so that authentication costs as little as it can.
_PERMISSIONS = """ARRAY(
    SELECT DISTINCT permission
    FROM auth_user_roles AS ur
    JOIN auth_roles AS r ON r.id = ur.role_id, unnest(r.permissions) AS permission
    WHERE ur.user_id = u.id
)"""
_USER_OF_SESSION = text(
    f"""SELECT u.id, u.is_superuser, {_PERMISSIONS} AS permissions
    FROM auth_users AS u JOIN auth_sessions AS s ON s.user_id = u.id
    WHERE u.id = :user_id AND u.is_active
      AND s.id = :session_id AND s.revoked_at IS NULL"""
)
_API_KEY = text(
    f"""SELECT k.key_id, k.secret_hash, k.scopes, u.is_superuser,
           {_PERMISSIONS} AS permissions
    FROM auth_api_keys AS k JOIN auth_users AS u ON u.id = k.user_id
    WHERE k.key_id = :key_id AND k.revoked_at IS NULL AND u.is_active"""
)


@dataclass(frozen=True)
class Grant:
    """Who a credential proves, as the authenticator needs it."""

    user_id: int
    superuser: bool
    permissions: frozenset[str]


@dataclass(frozen=True)
class KeyGrant:
    key_id: str
    secret_hash: str
    scopes: frozenset[str]
    owner: Grant


async def _read(
    engine: AsyncEngine, query: TextClause, **params: object
) -> Row[Any] | None:
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return (await connection.execute(query, params)).first()


async def grant_of_session(
    engine: AsyncEngine, user_id: int, session_id: uuid.UUID
) -> Grant | None:
    """The user an access token names, if it is active and the session it was issued
    for has not ended, with its permissions now."""
    row = await _read(engine, _USER_OF_SESSION, user_id=user_id, session_id=session_id)
    if row is None:
        return None
    return Grant(row.id, row.is_superuser, frozenset(row.permissions))


async def grant_of_api_key(engine: AsyncEngine, key_id: str) -> KeyGrant | None:
    """An unrevoked key of an active user, with the owner's permissions now."""
    row = await _read(engine, _API_KEY, key_id=key_id)
    if row is None:
        return None
    return KeyGrant(
        row.key_id,
        row.secret_hash,
        frozenset(row.scopes),
        Grant(0, row.is_superuser, frozenset(row.permissions)),
    )


# --- one-time tokens (reset, verify) --------------------------------------------------


async def new_action_token(
    session: AsyncSession, user_id: int, purpose: str, lifetime: timedelta
) -> str:
    token = new_secret()
    session.add(
        AuthActionToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=digest(token),
            expires_at=now() + lifetime,
        )
    )
    await session.flush()
    return token


async def use_action_token(
    session: AsyncSession, token: str, purpose: str
) -> AuthUser | None:
    """The user a one-time token was made for, spending it; None when it is unknown,
    for another purpose, spent or expired. Atomic: of two uses, one wins."""
    user_id = await session.scalar(
        update(AuthActionToken)
        .where(
            AuthActionToken.token_hash == digest(token),
            AuthActionToken.purpose == purpose,
            AuthActionToken.used_at.is_(None),
            AuthActionToken.expires_at > now(),
        )
        .values(used_at=now())
        .returning(AuthActionToken.user_id)
    )
    if user_id is None:
        return None
    return await session.get(AuthUser, user_id)
