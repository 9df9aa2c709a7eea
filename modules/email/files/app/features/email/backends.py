"""Where messages go: an SMTP server, standard output, or a list in memory."""

import sys
from email.message import EmailMessage
from typing import Protocol, TextIO

import aiosmtplib

from app.features.email.config import EmailSettings


class EmailDeliveryError(RuntimeError):
    """The message could not be handed to the mail server; the text says why."""


class EmailBackend(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Deliver `message` to every address in its To, Cc and Bcc headers."""
        ...


class SmtpBackend:
    """Sends each message over its own SMTP connection (aiosmtplib).

    Recipients are taken from the To, Cc and Bcc headers; the Bcc header itself is
    not transmitted.
    """

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        settings = self.settings
        password = settings.EMAIL_SMTP_PASSWORD
        start_tls = {"none": False, "auto": None, "starttls": True, "tls": False}
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.EMAIL_SMTP_HOST,
                port=settings.EMAIL_SMTP_PORT,
                username=settings.EMAIL_SMTP_USERNAME,
                password=password.get_secret_value() if password else None,
                use_tls=settings.EMAIL_SMTP_SECURITY == "tls",
                start_tls=start_tls[settings.EMAIL_SMTP_SECURITY],
                timeout=settings.EMAIL_SMTP_TIMEOUT,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise EmailDeliveryError(
                f"Could not send email through {settings.EMAIL_SMTP_HOST}:"
                f"{settings.EMAIL_SMTP_PORT} ({type(exc).__name__}: {exc}). "
                "Check EMAIL_SMTP_* (in development: is `paxx-compose up` running?)"
            ) from exc


class ConsoleBackend:
    """Writes each message to a stream (standard output) instead of sending it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def send(self, message: EmailMessage) -> None:
        stream = self.stream or sys.stdout  # looked up late: tests may swap it
        # One write, with no await around it: messages never interleave.
        stream.write(
            "----- email (console backend: not sent) -----\n"
            f"{message.as_string()}\n----- end of email -----\n"
        )
        stream.flush()


class MemoryBackend:
    """Keeps each message in `outbox`, for tests."""

    def __init__(self) -> None:
        self.outbox: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.outbox.append(message)


def make_backend(settings: EmailSettings) -> EmailBackend:
    if settings.EMAIL_BACKEND == "smtp":
        return SmtpBackend(settings)
    if settings.EMAIL_BACKEND == "console":
        return ConsoleBackend()
    return MemoryBackend()
