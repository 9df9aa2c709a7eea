"""Passwords: what is too weak, and argon2id hashing off the event loop.

The rules follow NIST SP 800-63B: a minimum length, no composition rules, and a refusal
of passwords known to be common. Each rule is also published in the OpenAPI schema
(lengths, a `not` of the repeated-character pattern and of the common list), so that
what the schema calls valid the API accepts; the one rule no schema can say (the
password is the email address) is rare enough for generated requests never to meet.
"""

import asyncio
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12
# Hashing cost grows with the length: a bound keeps a 1 MB "password" from costing more.
MAX_PASSWORD_LENGTH = 128
REPEATED_CHARACTER = r"^(.)\1*$"
_REPEATED = re.compile(REPEATED_CHARACTER, re.DOTALL)
# Passwords of the minimum length or more that lists of leaked passwords rank high.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789123",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "abc123456789",
        "abcdefghijkl",
        "adminadmin123",
        "changeme1234",
        "iloveyou1234",
        "letmein12345",
        "password1234",
        "Password1234",
        "password123!",
        "Password123!",
        "Password@123",
        "passwordpassword",
        "qwerty123456",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwertyuiopasdf",
        "welcome12345",
        "Welcome12345",
        "Welcome@1234",
    }
)
# The same rules, published in the schema of every field that takes a new password.
PASSWORD_SCHEMA: dict[str, Any] = {
    "not": {
        "anyOf": [
            {"pattern": REPEATED_CHARACTER},
            {"enum": sorted(COMMON_PASSWORDS)},
        ]
    }
}


def password_problem(password: str, email: str = "") -> str | None:
    """Why `password` is too weak, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must have at most {MAX_PASSWORD_LENGTH} characters"
    if _REPEATED.fullmatch(password):
        return "must not repeat one character"
    if password in COMMON_PASSWORDS:
        return "is one of the most common passwords"
    if email and password.casefold() == email.casefold():
        return "must not be the email address"
    return None


@dataclass
class Passwords:
    """argon2id with the configured cost; hashing runs in a worker thread, since it
    takes tens of milliseconds of CPU by design."""

    time_cost: int
    memory_cost: int
    parallelism: int
    hasher: PasswordHasher = field(init=False)
    _dummy: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.hasher = PasswordHasher(
            time_cost=self.time_cost,
            memory_cost=self.memory_cost,
            parallelism=self.parallelism,
            type=Type.ID,
        )

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, stored, password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)

    async def verify_nobody(self, password: str) -> None:
        """As long as `verify` takes, for a login whose account does not exist: the
        answer's timing must not tell whether an email is registered."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy, password)
