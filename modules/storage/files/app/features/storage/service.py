"""`Storage`: the backend plus the rules uploads must follow (size, media type).

Routes and your own code get it with the `StorageDep` dependency:

    from app.features.storage import StorageDep

    @router.post("/avatars/{user_id}")
    async def set_avatar(user_id: int, request: Request, storage: StorageDep) -> ...:
        info = await storage.upload(
            f"avatars/{user_id}", request.stream(),
            content_type=request.headers.get("content-type"),
        )
"""

from collections.abc import AsyncIterable
from dataclasses import dataclass

from app.features.storage.base import (
    Download,
    ObjectInfo,
    PresignedUrl,
    StorageBackend,
    UnsupportedContentTypeError,
    upload_too_large,
    validate_key,
)
from app.features.storage.config import StorageSettings
from app.features.storage.local import UNKNOWN_TYPE, LocalBackend
from app.features.storage.s3 import S3Backend


def create_backend(settings: StorageSettings, *, secret_key: str) -> StorageBackend:
    """The backend STORAGE_BACKEND names, not started yet. `secret_key` signs the
    local backend's URLs."""
    if settings.STORAGE_BACKEND == "s3":
        return S3Backend(settings)
    return LocalBackend(settings.STORAGE_LOCAL_DIR, secret_key=secret_key)


def media_type(content_type: str | None) -> str | None:
    """`Image/PNG; charset=x` -> `image/png`; None when there is none."""
    if content_type is None:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media or None


def content_type_allowed(media: str, allowed: list[str]) -> bool:
    """Whether `media` (`image/png`) matches one of `allowed` (`image/*`, `*/*`)."""
    kind = media.split("/", 1)[0]
    return any(
        pattern in ("*/*", media) or pattern == f"{kind}/*" for pattern in allowed
    )


@dataclass
class Storage:
    backend: StorageBackend
    settings: StorageSettings

    def check_content_type(self, content_type: str | None) -> str:
        """The media type of `content_type` if uploads may have it, else 415."""
        media = media_type(content_type)
        allowed = self.settings.STORAGE_ALLOWED_CONTENT_TYPES
        if media is None or "/" not in media:
            raise UnsupportedContentTypeError(
                "Send the file's media type in the Content-Type header.",
                details={"allowed": allowed},
            )
        if not content_type_allowed(media, allowed):
            raise UnsupportedContentTypeError(
                f"Files of type {media!r} are not accepted.",
                details={"allowed": allowed},
            )
        return media

    def served_type(self, content_type: str) -> str:
        """The type a stored object is served with: its own if uploads may have it,
        `application/octet-stream` otherwise, whatever the backend reports (a file
        without metadata, an object put on S3 behind the API's back)."""
        media = media_type(content_type)
        if media is None or "/" not in media:
            return UNKNOWN_TYPE
        allowed = self.settings.STORAGE_ALLOWED_CONTENT_TYPES
        return media if content_type_allowed(media, allowed) else UNKNOWN_TYPE

    def check_size(self, size: int | None) -> None:
        """413 when a declared size (Content-Length) is already over the limit."""
        limit = self.settings.STORAGE_MAX_UPLOAD_SIZE
        if size is not None and size > limit:
            raise upload_too_large(limit)

    async def upload(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str | None,
        size: int | None = None,
    ) -> ObjectInfo:
        """Check the media type and declared size, then stream `chunks` to the
        backend, stopping with 413 as soon as they pass the size limit."""
        validate_key(key)
        media = self.check_content_type(content_type)
        self.check_size(size)
        return await self.backend.save(
            key,
            chunks,
            content_type=media,
            max_size=self.settings.STORAGE_MAX_UPLOAD_SIZE,
        )

    async def open(self, key: str) -> Download:
        return await self.backend.open(key)

    async def stat(self, key: str) -> ObjectInfo:
        return await self.backend.stat(key)

    async def delete(self, key: str) -> bool:
        return await self.backend.delete(key)

    async def presigned_upload_url(
        self, key: str, *, content_type: str | None, expires_in: int | None = None
    ) -> PresignedUrl:
        """A URL for one upload with this media type (checked here). S3 cannot limit
        the size of a presigned PUT; the local backend's signed URL can and does."""
        media = self.check_content_type(content_type)
        return await self.backend.presigned_upload_url(
            key,
            content_type=media,
            expires_in=expires_in or self.settings.STORAGE_URL_EXPIRES,
        )

    async def presigned_download_url(
        self,
        key: str,
        *,
        content_type: str | None = None,
        expires_in: int | None = None,
    ) -> PresignedUrl:
        """A URL to download the object as an attachment; `content_type` is the type
        it was stored with (from `stat`), served only if uploads may have it."""
        return await self.backend.presigned_download_url(
            key,
            expires_in=expires_in or self.settings.STORAGE_URL_EXPIRES,
            response_content_type=self.served_type(content_type or UNKNOWN_TYPE),
        )
