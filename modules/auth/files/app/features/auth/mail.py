"""The messages auth sends (password reset, email verification): through the email
feature's mailer when it is enabled (`app.state.mailer`), logged otherwise.

Auth does not import the email feature (it is optional): it builds a plain message and
hands it to whatever `app.state.mailer` is, which needs `send(EmailMessage)` and
`settings.EMAIL_FROM`. Without a mailer the message is logged with its token outside
production, so that development works without a mail server; in production only the
fact that it could not be sent is logged, never the token.
"""

import logging
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette

logger = logging.getLogger(__name__)


def link(base: str, token: str) -> str:
    if not base:
        return ""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode({'token': token})}"


def reset_text(token: str, url: str, minutes: int) -> tuple[str, str]:
    where = f"Open {url}\n\nor use" if url else "Use"
    return (
        "Reset your password",
        f"Someone asked to reset the password of this account.\n\n"
        f"{where} this token within {minutes} minutes:\n\n{token}\n\n"
        "If it was not you, ignore this message: the password stays as it is.\n",
    )


def verify_text(token: str, url: str, hours: int) -> tuple[str, str]:
    where = f"Open {url}\n\nor use" if url else "Use"
    return (
        "Confirm your email address",
        f"{where} this token within {hours} hours to confirm this address:\n\n"
        f"{token}\n",
    )


async def deliver(
    app: Starlette, to: str, subject: str, text: str, *, production: bool
) -> bool:
    """Send (or log) one message; whether a mailer took it."""
    mailer: Any = getattr(app.state, "mailer", None)
    if mailer is None:
        if production:
            logger.error(
                "auth could not send %r: no mailer (enable the email feature)", subject
            )
        else:
            logger.warning(
                "auth: no mailer (the email feature is not enabled); the message "
                "to %s would read:\n%s\n\n%s",
                to,
                subject,
                text,
            )
        return False
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mailer.settings.EMAIL_FROM
    message["To"] = to
    message.set_content(text)
    try:
        await mailer.send(message)
    except Exception:
        logger.exception("auth could not send %r", subject)
        return False
    return True
