"""The `StorageBackend` interface, what it returns, and the errors it raises.

A backend stores objects (bytes with a media type) under keys like `avatars/42.png`.
Keys are checked the same way by every backend, so code written against the local
backend works unchanged on S3:

* one or more segments separated by `/`, at most 1024 characters in all;
* each segment made of letters, digits, `.`, `_` and `-`, not starting with `.`
  (so no `..`, no hidden files, no empty segments).
"""

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Self

from app.core.errors import AppError, NotFoundError

MAX_KEY_LENGTH = 1024
CHUNK_SIZE = 64 * 1024

_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
# The same rules as a pattern, for the OpenAPI document (`validate_key` checks them).
KEY_PATTERN = rf"^{_SEGMENT.pattern}(/{_SEGMENT.pattern})*$"


class InvalidKeyError(AppError):
    status_code = 400
    code = "invalid_key"


class ObjectNotFoundError(NotFoundError):
    code = "object_not_found"


class UploadTooLargeError(AppError):
    status_code = 413


class UnsupportedContentTypeError(AppError):
    status_code = 415


class InvalidSignatureError(AppError):
    """A signed local URL that is forged, altered or expired."""

    status_code = 403
    code = "invalid_signature"


class StorageUnavailableError(AppError):
    """The storage server cannot be reached or answered with an error."""

    status_code = 503
    code = "storage_unavailable"


def upload_too_large(max_size: int) -> UploadTooLargeError:
    return UploadTooLargeError(
        f"The upload is larger than the limit of {max_size} bytes.",
        details={"max_size": max_size},
    )


def validate_key(key: str) -> str:
    """Return `key` if every backend accepts it, else raise `InvalidKeyError`."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"A key has 1 to {MAX_KEY_LENGTH} characters.")
    if not all(_SEGMENT.fullmatch(segment) for segment in key.split("/")):
        raise InvalidKeyError(
            "A key is made of segments separated by `/`, each of letters, digits, "
            "`.`, `_` and `-`, not starting with `.`."
        )
    return key


@dataclass(frozen=True)
class ObjectInfo:
    """What a backend knows about a stored object."""

    key: str
    size: int
    content_type: str
    etag: str | None = None
    last_modified: datetime | None = None


@dataclass
class Download:
    """An object being read. Iterate `chunks` once; `aclose` releases the connection
    or file early (it is safe to call more than once)."""

    info: ObjectInfo
    chunks: AsyncIterator[bytes]
    _close: Callable[[], Awaitable[None]] | None = None

    async def aclose(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            await close()


@dataclass(frozen=True)
class PresignedUrl:
    """A URL that lets a client upload or download one object without credentials.

    Send exactly `headers` with the request (for uploads: the `Content-Type` the URL
    was signed for). The local backend's URLs are relative to the application
    (`/api/v1/storage/signed/...`); S3's are absolute.
    """

    url: str
    method: str
    expires_at: datetime
    headers: dict[str, str] = field(default_factory=dict)


class StorageBackend(ABC):
    """Where objects live. Use it as `async with backend:` (or call `start` and
    `close`) and share one instance per application."""

    name: str

    async def start(self) -> None:
        """Connect and prepare (create the bucket, the folder). Idempotent."""
        return None

    async def close(self) -> None:
        """Release connections."""
        return None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def check(self) -> None:
        """Return when the storage is usable; raise when it is not (health check)."""

    @abstractmethod
    async def save(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        max_size: int | None = None,
    ) -> ObjectInfo:
        """Store the bytes of `chunks` under `key`, replacing any object there.

        The body is streamed, never held whole in memory. When it grows past
        `max_size` bytes, raise `UploadTooLargeError` and leave nothing behind (an
        existing object under `key` is kept).
        """

    @abstractmethod
    async def stat(self, key: str) -> ObjectInfo:
        """The object's size and type; `ObjectNotFoundError` when there is none."""

    @abstractmethod
    async def open(self, key: str) -> Download:
        """Start reading the object; `ObjectNotFoundError` when there is none."""

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove the object; False when there was none."""

    @abstractmethod
    async def presigned_upload_url(
        self, key: str, *, content_type: str, expires_in: int
    ) -> PresignedUrl:
        """A URL that accepts a `PUT` of the object with this `Content-Type` until it
        expires: once on the local backend, as often as the client likes on S3 (which
        cannot spend a URL): keep STORAGE_URL_EXPIRES short."""

    @abstractmethod
    async def presigned_download_url(
        self,
        key: str,
        *,
        expires_in: int,
        response_content_type: str | None = None,
    ) -> PresignedUrl:
        """A URL that answers a `GET` with the object, as an attachment, with
        `response_content_type` (when given) whatever type the object was stored
        with."""

    async def save_bytes(
        self, key: str, data: bytes, *, content_type: str, max_size: int | None = None
    ) -> ObjectInfo:
        """`save` for data already in memory."""

        async def one_chunk() -> AsyncIterator[bytes]:
            yield data

        return await self.save(
            key, one_chunk(), content_type=content_type, max_size=max_size
        )

    async def read_bytes(self, key: str) -> bytes:
        """The whole object in memory: only for objects known to be small."""
        download = await self.open(key)
        try:
            return b"".join([chunk async for chunk in download.chunks])
        finally:
            await download.aclose()

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except ObjectNotFoundError:
            return False
        return True
