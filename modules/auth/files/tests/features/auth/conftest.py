"""The application with auth, for the auth tests: `api` below.

These tests commit to the test database (the authenticator and the background jobs
open sessions of their own, as in production, so the rolled-back test session would
hide their rows); each test uses addresses of its own, so none sees another's users.
Password hashing is cheap here (AUTH_ARGON2_*): production refuses these values.
"""

import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response

from app.core.config import Settings
from app.core.events import Event
from app.core.features import Feature
from app.features import FEATURES
from app.features.auth import AuthSettings, make_feature
from app.main import create_app

PASSWORD = "correct horse battery staple"
TOKEN_URL = "/api/v1/auth/token"
# A token as the emails carry it: 256 random bits, URL-safe.
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
CHEAP_HASHING: dict[str, Any] = {
    "AUTH_ARGON2_TIME_COST": 1,
    "AUTH_ARGON2_MEMORY_COST": 8 * 1024,
    "AUTH_ARGON2_PARALLELISM": 1,
}


def new_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class FakeMailer:
    """What the email feature puts in `app.state.mailer`, as auth uses it."""

    @dataclass
    class _Settings:
        EMAIL_FROM: str = "noreply@example.com"

    settings: _Settings = field(default_factory=_Settings)
    outbox: list[EmailMessage] = field(default_factory=list)

    async def send(self, message: EmailMessage) -> None:
        self.outbox.append(message)

    def token_for(self, to: str) -> str:
        """The token in the last message to `to`."""
        for message in reversed(self.outbox):
            if message["To"] == to:
                body: str = message.get_content()
                tokens = [line for line in body.splitlines() if TOKEN.fullmatch(line)]
                assert len(tokens) == 1, body
                return tokens[0]
        raise AssertionError(f"no message to {to}")


@dataclass
class Api:
    client: AsyncClient
    app: FastAPI
    events: list[Event]
    mailer: FakeMailer

    def actions(self) -> list[str]:
        return [event.action for event in self.events]

    async def register(self, email: str | None = None, password: str = PASSWORD) -> str:
        email = email or new_email()
        response = await self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.text
        return email

    async def login(self, email: str, password: str = PASSWORD) -> Response:
        return await self.client.post(
            TOKEN_URL, data={"username": email, "password": password}
        )

    async def tokens(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.login(email, password)
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def user(self, label: str = "user") -> tuple[str, dict[str, str]]:
        """A new user's email and bearer headers."""
        email = await self.register(new_email(label))
        tokens = await self.tokens(email)
        return email, bearer(tokens["access_token"])

    async def admin(self) -> dict[str, str]:
        """Bearer headers of the first superuser (AUTH_FIRST_SUPERUSER_*)."""
        settings: AuthSettings = self.app.state.auth.settings
        tokens = await self.tokens(
            settings.AUTH_FIRST_SUPERUSER_EMAIL,
            settings.AUTH_FIRST_SUPERUSER_PASSWORD.get_secret_value(),
        )
        return bearer(tokens["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ApiFactory = Callable[..., AbstractAsyncContextManager[Api]]


@pytest.fixture
def make_api(settings_overrides: dict[str, Any]) -> ApiFactory:
    """`async with make_api(**auth_settings) as api`: the enabled features, auth with
    these settings, a mailer that keeps what it is given (`mail=False`: none), the
    events emitted in `api.events`."""

    @asynccontextmanager
    async def factory(
        *, mail: bool = True, base: dict[str, Any] | None = None, **auth: Any
    ) -> AsyncIterator[Api]:
        auth = {
            "ENVIRONMENT": "test",
            "AUTH_FIRST_SUPERUSER_EMAIL": new_email("admin"),
            "AUTH_FIRST_SUPERUSER_PASSWORD": "admin password, long enough",
            **CHEAP_HASHING,
            **auth,
        }
        events: list[Event] = []

        async def record(event: Event) -> None:
            events.append(event)

        features = [
            make_feature(AuthSettings(**auth)) if f.name == "auth" else f
            for f in FEATURES
        ]
        features.append(Feature(name="recorder", event_listeners=[record]))
        app = create_app(Settings(**(settings_overrides | (base or {}))), features)
        mailer = FakeMailer()
        async with (
            app.router.lifespan_context(app),
            AsyncClient(
                transport=ASGITransport(app=app), base_url="http://testserver"
            ) as client,
        ):
            # Set after the lifespans: the email feature's, when enabled, sets its own
            # (and deletes it when it ends: None, not absent, means no mailer here).
            app.state.mailer = mailer if mail else None
            yield Api(client, app, events, mailer)

    return factory


@pytest.fixture
async def api(make_api: ApiFactory) -> AsyncIterator[Api]:
    async with make_api() as api:
        yield api
