"""With the email feature enabled, auth's messages reach the development SMTP server
that `paxx-compose up` runs, and the token they carry works.

Auth does not import the email feature, and neither does this test at import time:
it runs only in projects where both are enabled (elsewhere it is reported skipped).
"""

import asyncio
import importlib
from email import message_from_bytes, policy
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from app.features import FEATURES
from tests.features.auth.conftest import TOKEN, ApiFactory, new_email


def _email_modules() -> tuple[ModuleType, ModuleType]:
    if "email" not in [feature.name for feature in FEATURES]:
        pytest.skip("the email feature is not enabled in this project")
    return (
        importlib.import_module("app.features.email"),
        importlib.import_module("tests.features.test_email"),
    )


async def _mail_store(email_tests: ModuleType) -> Any:
    """Where the development SMTP server keeps what it received, found as the email
    feature's own delivery test finds it."""
    where = email_tests.EmailTestSettings()
    maildir = Path(where.EMAIL_TEST_MAILDIR) if where.EMAIL_TEST_MAILDIR else None
    if maildir is not None and not maildir.is_absolute():
        maildir = email_tests.PROJECT_ROOT / maildir
    url = where.EMAIL_TEST_MAILPIT_URL or None
    store = email_tests.DevelopmentMailStore(
        maildir if maildir is not None and maildir.is_dir() else None,
        url if url is not None and await email_tests._answers(url) else None,
    )
    if store.maildir is None and store.mailpit_url is None:
        pytest.skip("no development SMTP server's mail store: run `paxx-compose up`")
    return store


async def test_a_password_reset_is_delivered_by_smtp_and_its_token_works(
    make_api: ApiFactory,
) -> None:
    email, email_tests = _email_modules()
    store = await _mail_store(email_tests)
    smtp = email.get_email_settings().model_copy(update={"EMAIL_BACKEND": "smtp"})
    async with make_api() as api:
        # The email feature's own mailer, sending to the development SMTP server.
        api.app.state.mailer = email.Mailer(smtp)
        address = new_email("smtp")
        await api.register(address)
        asked = await api.client.post(
            "/api/v1/auth/password-reset", json={"email": address}
        )
        assert asked.status_code == 202

        # Registering sent a verification message to the same address: wait for the
        # reset message itself.
        for _ in range(100):
            if raw := await store.find(address, "Subject: Reset your password"):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"no message to {address} reached the SMTP server")
        stored = message_from_bytes(raw, policy=policy.default)
        assert stored["Subject"] == "Reset your password"
        assert stored["To"] == address
        plain = stored.get_body(("plain",))
        assert plain is not None, stored
        text = plain.get_content()
        [token] = [line for line in text.splitlines() if TOKEN.fullmatch(line)]

        confirmed = await api.client.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token, "password": "a password sent by mail"},
        )
        assert confirmed.status_code == 204
        assert (await api.login(address, "a password sent by mail")).status_code == 200
