"""Access tokens (JWT, HS256, the signing key's id in the header) and the random
tokens stored as digests (refresh tokens, API keys, one-time tokens).

Verification names its one algorithm: a token that says `alg: none`, RS256 or
anything else is refused before any key is tried, as is one whose `kid` is not a key
of ours, one that expired, and one that is not an access token.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
ACCESS = "access"
# The kid of the key derived from SECRET_KEY when AUTH_SIGNING_KEYS is empty.
DERIVED_KID = "secret-key"
API_KEY_PREFIX = "ak_"


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (for logs, not clients)."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_id: uuid.UUID
    expires_at: datetime


class KeyRing:
    """Named HMAC keys: the first signs, every one verifies."""

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self.signing_kid = keys[0][0]
        self._keys = {kid: secret.encode() for kid, secret in keys}

    @classmethod
    def derived(cls, secret_key: str) -> "KeyRing":
        """One key derived from SECRET_KEY, so it is not the key that signs URLs."""
        key = hmac.new(secret_key.encode(), b"paxx auth access tokens", "sha256")
        return cls([(DERIVED_KID, key.hexdigest())])

    def issue_access(
        self, user_id: int, session_id: uuid.UUID, lifetime: timedelta
    ) -> tuple[str, datetime]:
        now = datetime.now(UTC)
        expires = now + lifetime
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "typ": ACCESS,
            "iat": now,
            "exp": expires,
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(
            claims,
            self._keys[self.signing_kid],
            algorithm=ALGORITHM,
            headers={"kid": self.signing_kid},
        )
        return token, expires

    def verify_access(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"unreadable token: {exc}") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise InvalidToken(f"no key {header.get('kid')!r}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "iat", "sub", "sid", "typ"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        if claims["typ"] != ACCESS:
            raise InvalidToken("not an access token")
        try:
            return AccessClaims(
                user_id=int(claims["sub"]),
                session_id=uuid.UUID(str(claims["sid"])),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (TypeError, ValueError):
            raise InvalidToken("malformed claims") from None


def new_secret() -> str:
    """A random token: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored of a random token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """`(key_id, secret, the key as shown once)`."""
    key_id = secrets.token_hex(8)
    secret = new_secret()
    return key_id, secret, f"{API_KEY_PREFIX}{key_id}_{secret}"


def split_api_key(key: str) -> tuple[str, str] | None:
    """`(key_id, secret)` of a key in our format, or None."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    key_id, sep, secret = key.removeprefix(API_KEY_PREFIX).partition("_")
    if not sep or len(key_id) != 16 or not secret or len(secret) > 100:
        return None
    return key_id, secret


def same_digest(secret: str, stored: str) -> bool:
    return hmac.compare_digest(digest(secret), stored)
