"""Email: Jinja2 templates (text and HTML parts) sent over SMTP with aiosmtplib, or
printed to standard output (`EMAIL_BACKEND=console`), or kept in memory (`memory`).

Send from a route with the application's mailer:

    from app.features.email import MailerDep

    @router.post("/signup", status_code=201)
    async def signup(payload: Signup, mailer: MailerDep) -> None:
        await mailer.send_template(
            "welcome", to=payload.email, context={"name": payload.name}
        )

Templates live in `app/features/email/templates/` (see `mailer.py` for their form).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, cast

from fastapi import Depends, FastAPI, Request

from app.core.features import Feature
from app.features.email.backends import (
    ConsoleBackend,
    EmailBackend,
    EmailDeliveryError,
    MemoryBackend,
    SmtpBackend,
    make_backend,
)
from app.features.email.config import EmailSettings, get_email_settings
from app.features.email.mailer import (
    TEMPLATES_DIR,
    EmailTemplateError,
    EmailTemplates,
    Mailer,
    RenderedEmail,
)

__all__ = [
    "TEMPLATES_DIR",
    "ConsoleBackend",
    "EmailBackend",
    "EmailDeliveryError",
    "EmailSettings",
    "EmailTemplateError",
    "EmailTemplates",
    "Mailer",
    "MailerDep",
    "MemoryBackend",
    "RenderedEmail",
    "SmtpBackend",
    "feature",
    "get_email_settings",
    "get_mailer",
    "make_backend",
    "make_feature",
]


def get_mailer(request: Request) -> Mailer:
    """The running application's mailer."""
    return cast(Mailer, request.app.state.mailer)


MailerDep = Annotated[Mailer, Depends(get_mailer)]


def make_feature(
    settings: EmailSettings | None = None, backend: EmailBackend | None = None
) -> Feature:
    """The feature, with `settings` (default: from the environment, read at startup)
    and `backend` (default: the one `EMAIL_BACKEND` names)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.mailer = Mailer(settings or get_email_settings(), backend)
        try:
            yield
        finally:
            del app.state.mailer

    # No readiness check: a mail server being down must not take the API out of
    # rotation. Sending raises `EmailDeliveryError`; retry it from a task queue.
    return Feature(name="email", lifespan=lifespan)


feature = make_feature()
