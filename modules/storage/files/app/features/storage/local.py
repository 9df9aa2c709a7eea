"""The local backend: objects are files under one folder.

`<root>/<key>` holds the bytes, `<root>/.meta/<key>.json` the media type and ETag,
`<root>/.tmp/` uploads in progress (renamed into place when complete, so a reader
never sees half a file), `<root>/.used/` the signed upload URLs already used. Keys
never start a segment with `.`, so these folders cannot clash with objects.

An object's metadata is put in place before its bytes, and a write that fails leaves
neither behind (nor the folders it made): a file without metadata is never taken for
an upload, and its media type is never guessed from its name.

Presigned URLs point back at the application (`/api/v1/storage/signed/<key>`) and
carry an expiry time and an HMAC made with the application's SECRET_KEY; an upload
URL serves one PUT.
"""

import base64
import contextlib
import errno
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import anyio.to_thread

from app.core.config import API_V1_PREFIX
from app.core.errors import ConflictError
from app.features.storage.base import (
    CHUNK_SIZE,
    Download,
    InvalidKeyError,
    InvalidSignatureError,
    ObjectInfo,
    ObjectNotFoundError,
    PresignedUrl,
    StorageBackend,
    StorageUnavailableError,
    upload_too_large,
    validate_key,
)

SIGNED_PATH = f"{API_V1_PREFIX}/storage/signed/"
# Unfinished uploads older than this are removed when the backend starts.
STALE_UPLOAD_SECONDS = 24 * 3600
# What a file without metadata is served as: never a type guessed from its name.
UNKNOWN_TYPE = "application/octet-stream"
# File system errors that mean "no object under this key" (a folder in the way, or a
# name too long to have been stored).
_NO_SUCH_OBJECT = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG}


class LocalBackend(StorageBackend):
    name = "local"

    def __init__(self, root: Path, *, secret_key: str) -> None:
        self.root = root.resolve()
        self._tmp = self.root / ".tmp"
        self._meta = self.root / ".meta"
        self._used = self.root / ".used"
        self._signing_key = hmac.new(
            secret_key.encode(), b"paxx storage signed URL", hashlib.sha256
        ).digest()

    # Paths

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _meta_path(self, key: str) -> Path:
        return self._meta / f"{key}.json"

    # Lifecycle

    async def start(self) -> None:
        await anyio.to_thread.run_sync(self._prepare)

    def _prepare(self) -> None:
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._meta.mkdir(parents=True, exist_ok=True)
        self._used.mkdir(parents=True, exist_ok=True)
        now = time.time()
        for leftover in self._tmp.iterdir():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < now - STALE_UPLOAD_SECONDS:
                    leftover.unlink()
        for used in self._used.iterdir():  # `<expires>-<digest>`: expired ones go
            with contextlib.suppress(OSError, ValueError):
                if int(used.name.split("-", 1)[0]) < now:
                    used.unlink()

    async def check(self) -> None:
        if not await anyio.to_thread.run_sync(self._writable):
            raise StorageUnavailableError(f"{self.root} is not a writable folder.")

    def _writable(self) -> bool:
        return self._tmp.is_dir() and os.access(self._tmp, os.W_OK)

    # Objects

    async def save(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        max_size: int | None = None,
    ) -> ObjectInfo:
        path = self._path(key)
        tmp = self._tmp / uuid.uuid4().hex
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            async with await anyio.open_file(tmp, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise upload_too_large(max_size)
                    digest.update(chunk)
                    await out.write(chunk)
            etag = digest.hexdigest()
            meta = {"content_type": content_type, "etag": etag}
            await anyio.to_thread.run_sync(self._commit, tmp, key, path, meta)
        finally:
            await anyio.Path(tmp).unlink(missing_ok=True)
        return ObjectInfo(
            key=key,
            size=size,
            content_type=content_type,
            etag=etag,
            last_modified=datetime.now(UTC),
        )

    def _commit(self, tmp: Path, key: str, path: Path, meta: dict[str, str]) -> None:
        """Put the metadata, then the bytes in place; on any failure, put back what
        was there (or nothing) and remove the folders made for it."""
        meta_path = self._meta_path(key)
        meta_tmp = tmp.with_suffix(".json")
        made: list[Path] = []
        previous: bytes | None = None
        meta_placed = False
        try:
            _make_folders(path.parent, self.root, made)
            _make_folders(meta_path.parent, self._meta, made)
            meta_tmp.write_text(json.dumps(meta))
            with contextlib.suppress(FileNotFoundError):
                previous = meta_path.read_bytes()
            os.replace(meta_tmp, meta_path)
            meta_placed = True
            os.replace(tmp, path)
        except OSError as exc:
            if meta_placed:  # the bytes did not follow: the old metadata goes back
                if previous is None:
                    meta_path.unlink(missing_ok=True)
                else:
                    meta_path.write_bytes(previous)
            for folder in reversed(made):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise _write_error(key, exc) from exc
        finally:
            meta_tmp.unlink(missing_ok=True)

    def _read_meta(self, key: str) -> dict[str, Any]:
        try:
            meta = json.loads(self._meta_path(key).read_text())
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def _info(self, key: str, stat: os.stat_result) -> ObjectInfo:
        meta = self._read_meta(key)
        content_type = meta.get("content_type") or UNKNOWN_TYPE
        return ObjectInfo(
            key=key,
            size=stat.st_size,
            content_type=str(content_type),
            etag=meta.get("etag"),
            last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
        )

    def _stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            stat = path.stat()
        except OSError as exc:
            if exc.errno in _NO_SUCH_OBJECT:
                raise ObjectNotFoundError(f"No object {key!r}.") from None
            raise
        if not path.is_file():
            raise ObjectNotFoundError(f"No object {key!r}.")
        return self._info(key, stat)

    async def stat(self, key: str) -> ObjectInfo:
        return await anyio.to_thread.run_sync(self._stat, key)

    async def open(self, key: str) -> Download:
        path = self._path(key)
        try:
            file = await anyio.open_file(path, "rb")
        except OSError as exc:
            if exc.errno in _NO_SUCH_OBJECT:
                raise ObjectNotFoundError(f"No object {key!r}.") from None
            raise
        try:
            # The size of the file opened, even if it is replaced meanwhile.
            stat = await anyio.to_thread.run_sync(os.fstat, file.wrapped.fileno())
            info = await anyio.to_thread.run_sync(self._info, key, stat)
        except BaseException:
            await file.aclose()
            raise

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await file.read(CHUNK_SIZE):
                    yield chunk
            finally:
                await file.aclose()

        return Download(info=info, chunks=chunks(), _close=file.aclose)

    async def delete(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._delete, key)

    def _delete(self, key: str) -> bool:
        path = self._path(key)
        try:
            path.unlink()
        except OSError as exc:
            if exc.errno in _NO_SUCH_OBJECT:
                return False
            raise
        meta_path = self._meta_path(key)
        meta_path.unlink(missing_ok=True)
        self._prune(path.parent, self.root)
        self._prune(meta_path.parent, self._meta)
        return True

    @staticmethod
    def _prune(folder: Path, top: Path) -> None:
        """Remove the empty folders from `folder` up to (not including) `top`."""
        while folder != top and folder.is_relative_to(top):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    # Signed URLs

    def _signature(self, method: str, key: str, expires: int, content_type: str) -> str:
        message = f"{method}\n{key}\n{expires}\n{content_type}".encode()
        digest = hmac.new(self._signing_key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def _signed(
        self, method: str, key: str, expires_in: int, content_type: str = ""
    ) -> PresignedUrl:
        validate_key(key)
        expires = int(time.time()) + expires_in
        signature = self._signature(method, key, expires, content_type)
        url = f"{SIGNED_PATH}{quote(key)}?expires={expires}&signature={signature}"
        headers = {"Content-Type": content_type} if content_type else {}
        return PresignedUrl(
            url=url,
            method=method,
            expires_at=datetime.fromtimestamp(expires, UTC),
            headers=headers,
        )

    def verify(
        self,
        method: str,
        key: str,
        *,
        expires: int,
        signature: str,
        content_type: str = "",
    ) -> None:
        """Raise `InvalidSignatureError` unless the URL was signed by this backend
        for this method, key (and media type) and has not expired yet."""
        expected = self._signature(method, key, expires, content_type)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise InvalidSignatureError("The signature does not match this request.")
        if expires < time.time():
            raise InvalidSignatureError("The link has expired.")

    @contextlib.asynccontextmanager
    async def single_use(self, *, expires: int, signature: str) -> AsyncIterator[None]:
        """Spend a verified upload URL for the block: a second PUT with it, even one
        running at the same time, gets 403. If the block fails (too large, client
        gone) the URL is given back, so the client may try again."""
        digest = hashlib.sha256(signature.encode()).hexdigest()[:32]
        marker = anyio.Path(self._used / f"{expires}-{digest}")
        try:
            await marker.touch(exist_ok=False)
        except FileExistsError:
            raise InvalidSignatureError(
                "This upload link has been used already.", code="url_used"
            ) from None
        try:
            yield
        except BaseException:
            await marker.unlink(missing_ok=True)
            raise

    async def presigned_upload_url(
        self, key: str, *, content_type: str, expires_in: int
    ) -> PresignedUrl:
        return self._signed("PUT", key, expires_in, content_type)

    async def presigned_download_url(
        self,
        key: str,
        *,
        expires_in: int,
        response_content_type: str | None = None,
    ) -> PresignedUrl:
        # The application serves these itself, with the headers of every download.
        return self._signed("GET", key, expires_in)


def _make_folders(folder: Path, top: Path, made: list[Path]) -> None:
    """`mkdir -p folder` below `top`, adding each folder it makes to `made` (so that
    they can be removed again, even when it fails half way)."""
    missing = []
    while folder != top and not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:  # made meanwhile, or a file: the rename will tell
            continue
        made.append(folder)


def _write_error(key: str, exc: OSError) -> Exception:
    """What a failed write means to the client."""
    if exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOTEMPTY):
        return ConflictError(
            f"The key {key!r} clashes with another key: the local backend cannot "
            "store both `a` and `a/b`.",
            code="key_conflict",
        )
    if exc.errno == errno.ENAMETOOLONG:
        return InvalidKeyError(
            "The key is too long for the local backend's file system: keep each "
            "segment under 250 characters."
        )
    return StorageUnavailableError(
        f"The local storage could not write ({exc.strerror})."
    )
