"""The auth API, under /api/v1/auth: accounts, the OAuth2 password flow, refresh and
logout, password reset, email verification, API keys, roles.

Messages never tell whether an email is registered, except registration's 409 (an
address cannot be registered twice; rate-limit registration, see the readme).
"""

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Path, Request, Response, status
from sqlalchemy import select
from starlette.applications import Starlette

from app.api.deps import SessionDep
from app.core.config import API_V1_PREFIX
from app.core.errors import AppError, ConflictError, NotFoundError
from app.core.events import Event, emit
from app.core.openapi import error_responses
from app.core.principal import Principal
from app.features.auth import mail, social
from app.features.auth.models import AuthApiKey, AuthRole, AuthUser
from app.features.auth.principals import (
    CurrentUser,
    require_admin,
    unauthorized,
)
from app.features.auth.schemas import (
    Accepted,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    Registration,
    RoleCreate,
    RoleRead,
    TokenConfirm,
    TokenPair,
    UserRead,
    UserRoles,
)
from app.features.auth.service import (
    RESET,
    VERIFY,
    IssuedTokens,
    RefreshRefused,
    auth_state,
    clear_failures,
    create_user,
    locked_for,
    new_action_token,
    now,
    record_failure,
    retry_after,
    revoke_all_sessions,
    revoke_session,
    rotate,
    session_of_refresh,
    start_session,
    use_action_token,
    user_by_email,
)
from app.features.auth.tokens import digest, new_api_key
from app.schemas.common import NO_NUL_PATTERN

logger = logging.getLogger(__name__)

router = APIRouter(prefix=f"{API_V1_PREFIX}/auth", tags=["auth"])
router.include_router(social.router)

AUTHENTICATED = error_responses(401, 403)
ADMIN = require_admin()
LOGIN_FAILED = "Incorrect email or password."


class TooManyAttempts(AppError):
    status_code = 429
    code = "too_many_requests"


class InvalidActionToken(AppError):
    status_code = 404
    code = "invalid_token"


def user_read(user: AuthUser) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        is_active=user.is_active,
        is_superuser=user.is_superuser,
        email_verified=user.email_verified_at is not None,
        roles=[role.name for role in user.roles],
        permissions=sorted(user.permissions),
        created_at=user.created_at,
    )


def token_pair(issued: IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
    )


def no_store(response: Response) -> None:
    # Tokens must not be kept by caches (RFC 6749 §5.1).
    response.headers["Cache-Control"] = "no-store"


# --- accounts ----------------------------------------------------------------------


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 409),
)
async def register(
    request: Request,
    body: Registration,
    session: SessionDep,
    background: BackgroundTasks,
) -> UserRead:
    """Create an account. 409 when the email is taken; 403 when registration is
    closed (AUTH_REGISTRATION_OPEN=false). A verification email follows."""
    state = auth_state(request.app)
    if not state.settings.AUTH_REGISTRATION_OPEN:
        raise AppError("Registration is closed.", status_code=403)
    if await user_by_email(session, body.email) is not None:
        raise ConflictError("This email is already registered.")
    user = await create_user(session, state, body.email, body.password)
    await session.commit()
    await emit(request.app, Event("auth.registered", actor=user.principal_id))
    background.add_task(send_verification, request.app, user.id)
    return user_read(user)


@router.get("/me", responses=AUTHENTICATED)
async def read_me(user: CurrentUser) -> UserRead:
    """The account of the access token."""
    return user_read(user)


# --- the OAuth2 password flow, refresh, logout ----------------------------------------


@router.post("/token", responses=error_responses(401, 403, 429))
async def login(
    request: Request,
    response: Response,
    session: SessionDep,
    username: Annotated[
        str, Form(max_length=254, pattern=NO_NUL_PATTERN, description="The email")
    ],
    password: Annotated[str, Form(min_length=1, max_length=128)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> TokenPair:
    """The OAuth2 password flow (a form: `username` is the email). 401 for a wrong
    email or password, alike; 429 with Retry-After while the account backs off after
    failed tries; 403 when the email must be verified first."""
    state = auth_state(request.app)
    email = username.lower()
    wait = await locked_for(session, email)
    if wait > 0:
        raise TooManyAttempts(
            "Too many failed logins: try again later.",
            headers={"Retry-After": retry_after(wait)},
        )
    user = await user_by_email(session, email)
    if user is None:
        await state.passwords.verify_nobody(password)
        valid = False
    else:
        valid = await state.passwords.verify(user.password_hash, password)
    if user is None or not valid or not user.is_active:
        await record_failure(session, state, email)
        await session.commit()
        await emit(
            request.app,
            Event(
                "auth.login_failed",
                target=user.principal_id if user else None,
                data={"email_known": user is not None},
            ),
        )
        raise unauthorized(LOGIN_FAILED, error=None)
    if state.settings.AUTH_REQUIRE_VERIFIED_EMAIL and user.email_verified_at is None:
        raise AppError("Verify your email address first.", status_code=403)
    await clear_failures(session, email)
    if state.passwords.needs_rehash(user.password_hash):
        user.password_hash = await state.passwords.hash(password)
    issued = await start_session(session, state, user)
    await session.commit()
    await emit(
        request.app,
        Event(
            "auth.login",
            actor=user.principal_id,
            target=user.principal_id,
            data={"session": str(issued.session_id)},
        ),
    )
    no_store(response)
    return token_pair(issued)


@router.post("/refresh", responses=error_responses(401))
async def refresh(
    request: Request, body: RefreshRequest, session: SessionDep, response: Response
) -> TokenPair:
    """A new access token and refresh token for a refresh token, which is spent. A
    spent refresh token used again ends its whole session (a 401 here, and for every
    token of that session)."""
    state = auth_state(request.app)
    try:
        issued = await rotate(session, state, body.refresh_token)
    except RefreshRefused as exc:
        if exc.reused:
            await emit(
                request.app,
                Event(
                    "auth.refresh_reuse_detected",
                    target=f"user:{exc.user_id}",
                    data={"session_revoked": True},
                ),
            )
        raise unauthorized("The refresh token is invalid or has expired.") from None
    await session.commit()
    no_store(response)
    return token_pair(issued)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, body: RefreshRequest, session: SessionDep) -> None:
    """End the session of a refresh token: it and every token of the session stop
    working. An unknown token changes nothing (and gets the same answer)."""
    found = await session_of_refresh(session, body.refresh_token)
    if found is None:
        return
    session_id, user_id = found
    await revoke_session(session, session_id)
    await session.commit()
    await emit(
        request.app,
        Event(
            "auth.logout",
            actor=f"user:{user_id}",
            target=f"user:{user_id}",
            data={"session": str(session_id)},
        ),
    )


# --- password reset, email verification ---------------------------------------------


async def send_reset(app: Starlette, email: str) -> None:
    """After the response: the answer must not depend on whether the email exists."""
    state = auth_state(app)
    async with app.state.database.sessionmaker() as session:
        user = await user_by_email(session, email)
        if user is None or not user.is_active:
            return
        minutes = state.settings.AUTH_PASSWORD_RESET_MINUTES
        token = await new_action_token(
            session, user.id, RESET, timedelta(minutes=minutes)
        )
        await session.commit()
    url = mail.link(state.settings.AUTH_PASSWORD_RESET_URL, token)
    subject, text = mail.reset_text(token, url, minutes)
    await mail.deliver(app, user.email, subject, text, production=state.production)


async def send_verification(app: Starlette, user_id: int) -> None:
    state = auth_state(app)
    async with app.state.database.sessionmaker() as session:
        user = await session.get(AuthUser, user_id)
        if user is None or user.email_verified_at is not None:
            return
        hours = state.settings.AUTH_VERIFY_EMAIL_HOURS
        token = await new_action_token(session, user.id, VERIFY, timedelta(hours=hours))
        await session.commit()
    url = mail.link(state.settings.AUTH_VERIFY_EMAIL_URL, token)
    subject, text = mail.verify_text(token, url, hours)
    await mail.deliver(app, user.email, subject, text, production=state.production)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(
    request: Request, body: PasswordResetRequest, background: BackgroundTasks
) -> Accepted:
    """Email a reset token to the address, if an account has it. The answer is the
    same either way, and as quick: the lookup happens after it."""
    background.add_task(send_reset, request.app, body.email)
    return Accepted(detail="If an account has this email, a reset token is on its way.")


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
async def confirm_password_reset(
    request: Request, body: PasswordResetConfirm, session: SessionDep
) -> None:
    """Set a new password with a reset token (single use). Every session of the
    account ends. 404 for an unknown, spent or expired token."""
    state = auth_state(request.app)
    user = await use_action_token(session, body.token, RESET)
    if user is None:
        raise InvalidActionToken("The token is unknown, used or expired.")
    user.password_hash = await state.passwords.hash(body.password)
    await revoke_all_sessions(session, user.id)
    await clear_failures(session, user.email)
    await session.commit()
    await emit(
        request.app,
        Event("auth.password_reset", actor=user.principal_id, target=user.principal_id),
    )


@router.post(
    "/verify-email", status_code=status.HTTP_202_ACCEPTED, responses=AUTHENTICATED
)
async def resend_verification(
    request: Request, user: CurrentUser, background: BackgroundTasks
) -> Accepted:
    """Send the verification email again."""
    background.add_task(send_verification, request.app, user.id)
    return Accepted(detail="A verification token is on its way, unless verified.")


@router.post(
    "/verify-email/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
async def confirm_email(
    request: Request, body: TokenConfirm, session: SessionDep
) -> None:
    """Mark the address verified with its token (single use)."""
    user = await use_action_token(session, body.token, VERIFY)
    if user is None:
        raise InvalidActionToken("The token is unknown, used or expired.")
    if user.email_verified_at is None:
        user.email_verified_at = now()
    await session.commit()
    await emit(
        request.app,
        Event("auth.email_verified", actor=user.principal_id, target=user.principal_id),
    )


# --- API keys ------------------------------------------------------------------------


def key_read(key: AuthApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.key_id,
        name=key.name,
        scopes=list(key.scopes),
        created_at=key.created_at,
        revoked=key.revoked_at is not None,
    )


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, responses=AUTHENTICATED)
async def create_api_key(
    request: Request, body: ApiKeyCreate, user: CurrentUser, session: SessionDep
) -> ApiKeyCreated:
    """A key for a machine client, with scopes the user holds (403 otherwise). The
    key is in this answer only: store it now."""
    scopes = sorted(set(body.scopes))
    if not user.is_superuser:
        missing = sorted(set(scopes) - user.permissions)
        if missing:
            raise AppError(
                "A key cannot have permissions its owner lacks: " + ", ".join(missing),
                status_code=403,
            )
    key_id, secret, shown = new_api_key()
    key = AuthApiKey(
        key_id=key_id,
        secret_hash=digest(secret),
        user_id=user.id,
        name=body.name,
        scopes=scopes,
        created_at=now(),
    )
    session.add(key)
    await session.commit()
    await emit(
        request.app,
        Event(
            "auth.api_key_created",
            actor=user.principal_id,
            target=f"api_key:{key_id}",
            data={"scopes": scopes},
        ),
    )
    return ApiKeyCreated(**key_read(key).model_dump(), key=shown)


@router.get("/api-keys", responses=AUTHENTICATED)
async def list_api_keys(user: CurrentUser, session: SessionDep) -> list[ApiKeyRead]:
    """The user's keys (never the keys themselves), newest first."""
    keys = await session.scalars(
        select(AuthApiKey)
        .where(AuthApiKey.user_id == user.id)
        .order_by(AuthApiKey.created_at.desc(), AuthApiKey.id.desc())
    )
    return [key_read(key) for key in keys]


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=AUTHENTICATED,
)
async def revoke_api_key(
    request: Request,
    key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")],
    user: CurrentUser,
    session: SessionDep,
) -> None:
    """Revoke one of the user's keys: it stops working at once."""
    key = await session.scalar(
        select(AuthApiKey).where(
            AuthApiKey.key_id == key_id, AuthApiKey.user_id == user.id
        )
    )
    if key is None:
        raise NotFoundError("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = now()
        await session.commit()
        await emit(
            request.app,
            Event(
                "auth.api_key_revoked",
                actor=user.principal_id,
                target=f"api_key:{key_id}",
            ),
        )


# --- roles (permission auth:admin) ----------------------------------------------------


def role_read(role: AuthRole) -> RoleRead:
    return RoleRead(
        name=role.name, description=role.description, permissions=role.permissions
    )


@router.get("/roles", dependencies=[ADMIN], responses=AUTHENTICATED)
async def list_roles(session: SessionDep) -> list[RoleRead]:
    roles = await session.scalars(select(AuthRole).order_by(AuthRole.name))
    return [role_read(role) for role in roles]


@router.post(
    "/roles",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409),
)
async def create_role(
    request: Request,
    body: RoleCreate,
    session: SessionDep,
    admin: Annotated[Principal, ADMIN],
) -> RoleRead:
    """A role: a name for a set of permissions. 409 when the name is taken."""
    if await session.scalar(select(AuthRole).where(AuthRole.name == body.name)):
        raise ConflictError("A role has this name already.")
    role = AuthRole(
        name=body.name,
        description=body.description,
        permissions=sorted(set(body.permissions)),
    )
    session.add(role)
    await session.commit()
    await emit(
        request.app,
        Event(
            "auth.role_created",
            actor=admin.id,
            target=f"role:{role.name}",
            data={"permissions": role.permissions},
        ),
    )
    return role_read(role)


@router.put("/users/{user_id}/roles", responses=AUTHENTICATED)
async def set_user_roles(
    request: Request,
    user_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: UserRoles,
    session: SessionDep,
    admin: Annotated[Principal, ADMIN],
) -> UserRead:
    """Give a user exactly these roles. 404 for an unknown user or role."""
    user = await session.get(AuthUser, user_id)
    if user is None:
        raise NotFoundError("No such user.")
    names = sorted(set(body.roles))
    roles = list(
        await session.scalars(select(AuthRole).where(AuthRole.name.in_(names)))
    )
    unknown = sorted(set(names) - {role.name for role in roles})
    if unknown:
        raise NotFoundError("No such role: " + ", ".join(unknown))
    before = [role.name for role in user.roles]
    user.roles = sorted(roles, key=lambda role: role.name)
    await session.commit()
    await emit(
        request.app,
        Event(
            "auth.roles_changed",
            actor=admin.id,
            target=user.principal_id,
            data={"before": before, "after": names},
        ),
    )
    return user_read(user)
