"""The email feature: templates, backends, and delivery to the real development SMTP
server (`paxx-compose up`), checked in what that server stored: the Maildir of the
aiosmtpd fallback (EMAIL_TEST_MAILDIR) or Mailpit's API (EMAIL_TEST_MAILPIT_URL)."""

import asyncio
import io
import mailbox
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import APIRouter, FastAPI, status
from httpx import ASGITransport, AsyncClient
from jinja2 import UndefinedError
from pydantic import BaseModel

from app.core.config import FeatureSettings
from app.core.features import Feature
from app.features import FEATURES
from app.features.email import (
    ConsoleBackend,
    EmailDeliveryError,
    EmailSettings,
    EmailTemplateError,
    EmailTemplates,
    MailerDep,
    MemoryBackend,
    SmtpBackend,
    get_email_settings,
    make_feature,
)
from app.features.email.mailer import Mailer
from tests.database import PROJECT_ROOT

AppFactory = Callable[..., FastAPI]
CONTEXT = {"name": "Ada <Lovelace> & Co", "app_name": "Shop"}


class EmailTestSettings(FeatureSettings):
    """Where the development server keeps what it received (`paxx-compose env`)."""

    EMAIL_TEST_MAILDIR: str | None = None
    EMAIL_TEST_MAILPIT_URL: str | None = None


def memory_settings(**overrides: Any) -> EmailSettings:
    return EmailSettings(**({"EMAIL_BACKEND": "memory"} | overrides))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    assert part.get_content_type() == f"text/{subtype}"
    return cast(str, part.get_content())


# --- templates ---------------------------------------------------------------------


def test_templates_render_subject_text_and_escaped_html() -> None:
    rendered = EmailTemplates().render("welcome", CONTEXT)
    assert rendered.subject == "Welcome to Shop, Ada <Lovelace> & Co"
    assert rendered.text.startswith("Hello Ada <Lovelace> & Co,\n")
    assert "Sign in" not in rendered.text
    assert rendered.html is not None
    assert "Hello Ada &lt;Lovelace&gt; &amp; Co," in rendered.html
    assert "<title>Welcome to Shop, Ada &lt;Lovelace&gt; &amp; Co</title>" in (
        rendered.html
    )


def test_template_errors(tmp_path: Path) -> None:
    templates = EmailTemplates()
    with pytest.raises(EmailTemplateError, match=r"No email template nope\.txt"):
        templates.render("nope", {})
    with pytest.raises(UndefinedError, match="'name' is undefined"):
        templates.render("welcome", {"app_name": "Shop"})
    (tmp_path / "bare.txt").write_text("No subject here.\n")
    (tmp_path / "plain.txt").write_text('{% set subject = "Hi\n there" %}\nBody\n')
    own = EmailTemplates(tmp_path)
    with pytest.raises(EmailTemplateError, match="sets no subject"):
        own.render("bare", {})
    plain = own.render("plain", {})
    assert (plain.subject, plain.text, plain.html) == ("Hi there", "Body\n", None)


# --- building messages and the development backends --------------------------------


def test_build_message_headers_and_parts() -> None:
    mailer = Mailer(memory_settings(EMAIL_FROM="Shop <shop@example.com>"))
    message = mailer.build(
        "welcome",
        to=["ada@example.com", "Bob <bob@example.com>"],
        cc="carol@example.com",
        bcc=["dave@example.com"],
        reply_to="help@example.com",
        context=CONTEXT | {"login_url": "https://shop.example.com/login?a=1&b=2"},
        headers={"X-Campaign": "welcome"},
    )
    assert message["From"] == "Shop <shop@example.com>"
    assert message["To"] == "ada@example.com, Bob <bob@example.com>"
    assert message["Cc"] == "carol@example.com"
    assert message["Bcc"] == "dave@example.com"
    assert message["Reply-To"] == "help@example.com"
    assert message["X-Campaign"] == "welcome"
    assert message["Message-ID"].endswith("@example.com>")
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message.get_content_type() == "multipart/alternative"
    assert "https://shop.example.com/login?a=1&b=2" in body(message, "plain")
    assert 'href="https://shop.example.com/login?a=1&amp;b=2"' in body(message, "html")


def test_addresses_are_checked() -> None:
    mailer = Mailer(memory_settings())
    with pytest.raises(ValueError, match="one line"):
        mailer.build(
            "welcome", to="a@example.com\r\nBcc: x@example.com", context=CONTEXT
        )
    with pytest.raises(ValueError, match="not an email address"):
        mailer.build("welcome", to="nobody", context=CONTEXT)
    with pytest.raises(ValueError, match="at least one recipient"):
        mailer.build("welcome", to=[], context=CONTEXT)


@pytest.mark.parametrize(
    "value",
    [
        "victim@example.com, attacker@evil.example",  # a list: parseaddr kept one
        "victim@example.com; attacker@evil.example",
        "victim@example.com attacker@evil.example",
        "=?utf-8?q?a=0D=0ABcc:_x@evil.com?= <victim@example.com>",  # encoded word
        "=?utf-8?q?x@evil.com?=",
        "Name <victim@example.com>, <attacker@evil.example>",
        "Doe, John <john@example.com>",  # an unquoted comma: two addresses
        "<victim@example.com",
        "victim@example.com\x00",
        "victim@",
        "@example.com",
        "victim@example..com",
    ],
)
def test_only_one_well_formed_address_per_field(value: str) -> None:
    """Anything but exactly one address is refused, not cut down to what
    `parseaddr` salvages (which sent mail to `_x@evil.com?=` in the attack)."""
    mailer = Mailer(memory_settings())
    for field in ("to", "cc", "bcc", "reply_to", "sender"):
        fields: dict[str, Any] = {"to": "a@example.com", field: value}
        with pytest.raises(ValueError):
            mailer.build("welcome", context=CONTEXT, **fields)
    with pytest.raises(ValueError):
        EmailSettings(EMAIL_FROM=value)


@pytest.mark.parametrize(
    ("value", "header"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada Lovelace <ada@example.com> ", "Ada Lovelace <ada@example.com>"),
        ('"Doe, John" <john@example.com>', '"Doe, John" <john@example.com>'),
        ("ADA@EXAMPLE.COM", "ADA@example.com"),
        ("Zoë <zoe@example.com>", "Zoë <zoe@example.com>"),
    ],
)
def test_well_formed_addresses(value: str, header: str) -> None:
    message = Mailer(memory_settings()).build("welcome", to=value, context=CONTEXT)
    assert message["To"] == header
    to = message["To"].addresses
    assert len(to) == 1


async def test_console_backend_prints_instead_of_sending() -> None:
    stream = io.StringIO()
    mailer = Mailer(memory_settings(), ConsoleBackend(stream))
    await mailer.send_template("welcome", to="ada@example.com", context=CONTEXT)
    printed = stream.getvalue()
    assert printed.startswith("----- email (console backend: not sent) -----\n")
    assert "Subject: Welcome to Shop, Ada <Lovelace> & Co\n" in printed
    assert printed.endswith("----- end of email -----\n")


def test_settings() -> None:
    assert EmailSettings(EMAIL_SMTP_USERNAME=" ").EMAIL_SMTP_USERNAME is None
    with pytest.raises(ValueError, match="not an email address"):
        EmailSettings(EMAIL_FROM="noreply")
    with pytest.raises(ValueError, match="production refuses it"):
        EmailSettings(ENVIRONMENT="production", EMAIL_BACKEND="console")
    production = EmailSettings(ENVIRONMENT="production", EMAIL_BACKEND="smtp")
    assert isinstance(Mailer(production).backend, SmtpBackend)


# --- the feature in the application ------------------------------------------------


class Signup(BaseModel):
    email: str
    name: str


def signup_feature() -> Feature:
    """An example route that sends mail through the application's mailer."""
    router = APIRouter(prefix="/api/v1/test-signup")

    @router.post("", status_code=status.HTTP_202_ACCEPTED)
    async def signup(payload: Signup, mailer: MailerDep) -> dict[str, str]:
        message = await mailer.send_template(
            "welcome",
            to=payload.email,
            context={"name": payload.name, "app_name": "Shop"},
        )
        return {"message_id": message["Message-ID"]}

    return Feature(name="test_signup", router=router)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client


async def test_a_route_sends_through_the_app_mailer(make_app: AppFactory) -> None:
    backend = MemoryBackend()
    app = make_app([make_feature(memory_settings(), backend), signup_feature()])
    async with running(app) as client:
        response = await client.post(
            "/api/v1/test-signup", json={"email": "ada@example.com", "name": "Ada"}
        )
    assert response.status_code == 202, response.text
    [message] = backend.outbox
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Welcome to Shop, Ada"
    assert message["Message-ID"] == response.json()["message_id"]
    assert not hasattr(app.state, "mailer")  # gone once the application stopped


def test_the_feature_is_enabled() -> None:
    assert "email" in [feature.name for feature in FEATURES]


# --- delivery to the real development SMTP server -------------------------------------


@dataclass(frozen=True)
class DevelopmentMailStore:
    """What the development SMTP server received: the aiosmtpd fallback's Maildir,
    or Mailpit's API."""

    maildir: Path | None
    mailpit_url: str | None

    async def find(self, token: str, *also: str) -> bytes | None:
        """The raw message holding `token` (in its subject or an address) and each of
        `also`, if stored yet."""
        wanted = [text.encode() for text in (token, *also)]
        if self.maildir is not None:
            box = mailbox.Maildir(self.maildir, create=False)
            for key in box.keys():
                raw = box.get_bytes(key)
                if all(text in raw for text in wanted):
                    return raw
        if self.mailpit_url is not None:
            async with httpx.AsyncClient(base_url=self.mailpit_url, timeout=5) as api:
                found = await api.get("/api/v1/search", params={"query": token})
                found.raise_for_status()
                for summary in found.json().get("messages") or []:
                    raw_response = await api.get(f"/api/v1/message/{summary['ID']}/raw")
                    raw_response.raise_for_status()
                    if all(text in raw_response.content for text in wanted):
                        return raw_response.content
        return None


async def _answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=url, timeout=2) as api:
            return (await api.get("/api/v1/info")).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def mail_store() -> DevelopmentMailStore:
    """Where to look for delivered messages; skips when there is nowhere (then
    EMAIL_SMTP_* may well be a real server, which the test must not mail)."""
    where = EmailTestSettings()
    maildir = Path(where.EMAIL_TEST_MAILDIR) if where.EMAIL_TEST_MAILDIR else None
    if maildir is not None and not maildir.is_absolute():
        maildir = PROJECT_ROOT / maildir
    url = where.EMAIL_TEST_MAILPIT_URL or None
    store = DevelopmentMailStore(
        maildir if maildir is not None and maildir.is_dir() else None,
        url if url is not None and await _answers(url) else None,
    )
    if store.maildir is None and store.mailpit_url is None:
        pytest.skip(
            "nowhere to read what the development SMTP server received: the "
            f"Maildir EMAIL_TEST_MAILDIR ({maildir}) does not exist and Mailpit's "
            f"API EMAIL_TEST_MAILPIT_URL ({url}) does not answer; run "
            '`paxx-compose up` (and `eval "$(paxx-compose env)"`)'
        )
    return store


async def test_smtp_delivery_to_the_development_server(
    mail_store: DevelopmentMailStore,
) -> None:
    settings = get_email_settings().model_copy(
        update={"EMAIL_BACKEND": "smtp", "EMAIL_FROM": "Shop <shop@example.com>"}
    )
    token = uuid.uuid4().hex
    to, cc, bcc = "ada@example.com", "carol@example.com", "dave@example.com"
    sent = await Mailer(settings).send_template(
        "welcome",
        to=to,
        cc=cc,
        bcc=bcc,
        context=CONTEXT | {"name": f"Ada {token}"},
        headers={"X-Test-Token": token},
    )

    for _ in range(50):
        if raw := await mail_store.find(token):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail(f"the SMTP server accepted message {token} but did not store it")
    stored = message_from_bytes(raw, policy=policy.default)

    assert stored["Subject"] == f"Welcome to Shop, Ada {token}"
    assert stored["From"] == "Shop <shop@example.com>"
    assert [address for _, address in getaddresses([stored["To"]])] == [to]
    assert [address for _, address in getaddresses([stored["Cc"]])] == [cc]
    assert stored["Bcc"] is None  # a blind copy is delivered, never shown
    assert stored["Message-ID"] == sent["Message-ID"]
    assert stored["X-Test-Token"] == token
    if stored["X-RcptTo"] is not None:  # aiosmtpd records the envelope
        envelope = {address for _, address in getaddresses([stored["X-RcptTo"]])}
        assert envelope == {to, cc, bcc}
    assert stored.get_content_type() == "multipart/alternative"
    text, html = body(stored, "plain"), body(stored, "html")
    assert text.startswith(f"Hello Ada {token},\n")
    assert "your account at Shop is ready." in text
    assert f"<p>Hello Ada {token},</p>" in html
    assert "<strong>Shop</strong>" in html


async def test_smtp_errors_name_the_server() -> None:
    port = closed_port()
    settings = memory_settings(
        EMAIL_BACKEND="smtp", EMAIL_SMTP_PORT=port, EMAIL_SMTP_TIMEOUT=2
    )
    with pytest.raises(EmailDeliveryError, match=f"127.0.0.1:{port}"):
        await Mailer(settings).send_template(
            "welcome", to="ada@example.com", context=CONTEXT
        )
