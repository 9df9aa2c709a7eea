"""Account commands, run in the project's environment:

    uv run python -m app.features.auth.cli create-superuser admin@example.com

The password is read from AUTH_SUPERUSER_PASSWORD when set (scripts), else asked for
twice without echo. An existing account with that email becomes a superuser, its
password unchanged.
"""

import argparse
import asyncio
import getpass
import os
import re
import sys

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.core.config import get_settings
from app.features.auth.config import get_auth_settings
from app.features.auth.passwords import password_problem
from app.features.auth.schemas import EMAIL_PATTERN
from app.features.auth.service import AuthState, create_user, user_by_email


def _password(email: str) -> str:
    password = os.environ.get("AUTH_SUPERUSER_PASSWORD")
    if password is None:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise SystemExit("error: the two passwords differ")
    problem = password_problem(password, email)
    if problem is not None:
        raise SystemExit(f"error: the password {problem}")
    return password


async def create_superuser(email: str, password: str | None) -> str:
    if not re.fullmatch(EMAIL_PATTERN, email):
        raise SystemExit(f"error: {email!r} is not an email address")
    settings = get_settings()
    state = AuthState.create(get_auth_settings(), settings)
    engine = create_async_engine(settings.DATABASE_URL)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            user = await user_by_email(session, email)
            if user is not None:
                user.is_superuser = True
                await session.commit()
                return f"{user.email} is now a superuser"
            await create_user(
                session,
                state,
                email,
                password or _password(email),
                superuser=True,
                verified=True,
            )
            await session.commit()
            return f"created the superuser {email.lower()}"
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.features.auth.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-superuser", help="create or promote a user")
    create.add_argument("email")
    args = parser.parse_args(argv)
    if args.command == "create-superuser":
        print(asyncio.run(create_superuser(args.email, None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
