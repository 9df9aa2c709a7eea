"""Authentication and authorisation: users, the OAuth2 password flow, JWT access
tokens and rotating refresh tokens, API keys, roles and permissions, password reset
and email verification.

- `routes.py`: the API under /api/v1/auth;
- `principals.py`: the authenticator given to the template's principal seam, so
  `require_permission("items:write")` (app/core/principal.py) and `CurrentPrincipal`
  work on every route; `CurrentUser` for routes that need a user;
- `service.py`: accounts, sessions and tokens, the login backoff;
- `tokens.py`, `passwords.py`: JWT keys and argon2id; `models.py`: the tables;
- `config.py`: the `AUTH_*` settings; `cli.py`: `python -m app.features.auth.cli`.
"""

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware import Middleware

from app.core.features import Feature
from app.features.auth.config import AuthSettings, get_auth_settings
from app.features.auth.models import AuthRole, AuthUser
from app.features.auth.principals import (
    CurrentUser,
    authenticate_request,
    document_security,
    require_user,
)
from app.features.auth.routes import router
from app.features.auth.service import AuthState, auth_state, create_user, user_by_email

__all__ = [
    "AuthRole",
    "AuthSettings",
    "AuthState",
    "AuthUser",
    "CurrentUser",
    "feature",
    "get_auth_settings",
    "make_feature",
    "require_user",
]

logger = logging.getLogger(__name__)


async def ensure_first_superuser(app: FastAPI) -> None:
    """Create AUTH_FIRST_SUPERUSER_EMAIL's account, if set and not there yet."""
    state = auth_state(app)
    email = state.settings.AUTH_FIRST_SUPERUSER_EMAIL
    if not email:
        return
    async with app.state.database.sessionmaker() as session:
        if await user_by_email(session, email) is not None:
            return
        password = state.settings.AUTH_FIRST_SUPERUSER_PASSWORD.get_secret_value()
        await create_user(
            session, state, email, password, superuser=True, verified=True
        )
        await session.commit()
    logger.info("created the first superuser, %s", email.lower())


def make_feature(settings: AuthSettings | None = None) -> Feature:
    """The feature with `settings` (default: read from the environment when the
    application is built)."""

    def install(app: FastAPI) -> Sequence[Middleware]:
        # Called once while `create_app` builds the application (after the routers
        # are mounted): set up what every request needs, whether or not the server
        # sends lifespan events, and document the guarded routes. No middleware.
        app.state.auth = AuthState.create(
            settings or get_auth_settings(), app.state.settings
        )
        document_security(app)
        return []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The dummy hash logins of unknown emails verify: made now, so that the first
        # such login takes no longer than the others.
        await auth_state(app).passwords.verify_nobody("")
        await ensure_first_superuser(app)
        yield

    return Feature(
        name="auth",
        router=router,
        lifespan=lifespan,
        middleware=install,
        authenticator=authenticate_request,
    )


feature = make_feature()
