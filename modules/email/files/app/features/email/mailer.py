"""Messages from Jinja2 templates, handed to a backend.

An email is a pair of templates in `app/features/email/templates/`:

    <name>.txt    the plain text part; sets the subject on its first line:
                  {% set subject = "Welcome, " ~ name %}
    <name>.html   the HTML part (optional; HTML-escaped, may extend `_base.html`)

Both get the same context, and the HTML part also `subject`. A variable missing from
the context is an error, not an empty string.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from app.features.email.backends import EmailBackend, make_backend
from app.features.email.config import EmailSettings, parse_address

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

logger = logging.getLogger(__name__)

Addresses = str | Sequence[str]


class EmailTemplateError(ValueError):
    """An email template is missing or does not say its subject."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


class EmailTemplates:
    """The email templates of a folder, rendered with Jinja2."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self.environment = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(["html", "htm", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, name: str, context: Mapping[str, Any]) -> RenderedEmail:
        try:
            text_template = self.environment.get_template(f"{name}.txt")
        except TemplateNotFound:
            raise EmailTemplateError(
                f"No email template {name}.txt (the text part, which sets the subject)"
            ) from None
        module = text_template.make_module(dict(context))
        subject = getattr(module, "subject", None)
        if not isinstance(subject, str) or not subject.strip():
            raise EmailTemplateError(
                f'{name}.txt sets no subject: start it with {{% set subject = "…" %}}'
            )
        # A header is one line: collapse whatever whitespace the template left.
        subject = " ".join(subject.split())
        try:
            html_template = self.environment.get_template(f"{name}.html")
        except TemplateNotFound:
            html = None
        else:
            html = html_template.render({**context, "subject": subject})
        return RenderedEmail(subject, str(module), html)


def _address(value: str, what: str) -> Address:
    return parse_address(value, what)


def _addresses(value: Addresses, what: str) -> list[Address]:
    """One address per item; a string is one address, never a comma list."""
    items = [value] if isinstance(value, str) else list(value)
    return [parse_address(item, what) for item in items]


class Mailer:
    """Builds messages from templates and sends them through the configured backend.

    `app.state.mailer` while the application runs (`MailerDep` in a route); elsewhere
    (a worker, a script) create one: `Mailer(get_email_settings())`.
    """

    def __init__(
        self,
        settings: EmailSettings,
        backend: EmailBackend | None = None,
        templates: EmailTemplates | None = None,
    ) -> None:
        self.settings = settings
        self.backend = backend or make_backend(settings)
        self.templates = templates or EmailTemplates()

    def build(
        self,
        template: str,
        /,
        *,
        to: Addresses,
        context: Mapping[str, Any] | None = None,
        cc: Addresses = (),
        bcc: Addresses = (),
        reply_to: str | None = None,
        sender: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> EmailMessage:
        """The message `template` renders with `context`, not sent yet."""
        rendered = self.templates.render(template, context or {})
        sender_address = _address(sender or self.settings.EMAIL_FROM, "sender")
        recipients = _addresses(to, "recipient")
        if not recipients:
            raise ValueError("an email needs at least one recipient in `to`")

        message = EmailMessage()
        message["Subject"] = rendered.subject
        message["From"] = sender_address
        message["To"] = recipients
        if cc:
            message["Cc"] = _addresses(cc, "cc")
        if bcc:
            message["Bcc"] = _addresses(bcc, "bcc")
        if reply_to:
            message["Reply-To"] = _address(reply_to, "reply_to")
        message["Date"] = format_datetime(datetime.now(UTC))
        # The sender's domain, not the host's name: `make_msgid()` alone asks DNS.
        message["Message-ID"] = make_msgid(domain=sender_address.domain)
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(rendered.text)
        if rendered.html is not None:
            message.add_alternative(rendered.html, subtype="html")
        return message

    async def send(self, message: EmailMessage) -> None:
        await self.backend.send(message)
        logger.info(
            "email sent",
            extra={
                "email_message_id": message["Message-ID"],
                "email_backend": self.settings.EMAIL_BACKEND,
            },
        )

    async def send_template(
        self,
        template: str,
        /,
        *,
        to: Addresses,
        context: Mapping[str, Any] | None = None,
        cc: Addresses = (),
        bcc: Addresses = (),
        reply_to: str | None = None,
        sender: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> EmailMessage:
        """Render `template` with `context` and send it; returns the message sent."""
        message = self.build(
            template,
            to=to,
            context=context,
            cc=cc,
            bcc=bcc,
            reply_to=reply_to,
            sender=sender,
            headers=headers,
        )
        await self.send(message)
        return message
