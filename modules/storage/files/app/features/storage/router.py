"""The storage API under `/api/v1/storage`.

    POST   /files?filename=cat.png    upload the request body under a new key
    PUT    /files/{key}               upload the request body under `key` (replaces)
    GET    /files/{key}               download
    DELETE /files/{key}               delete
    POST   /presigned/upload          a URL a client PUTs one file to directly
    POST   /presigned/download        a URL a client GETs one file from directly

Uploads send the file itself as the request body (not a form), with its media type in
`Content-Type`: `curl -T cat.png -H 'Content-Type: image/png' .../files/cats/1.png`.
The body is streamed to the backend; 413 when it passes STORAGE_MAX_UPLOAD_SIZE, 415
when its type is not in STORAGE_ALLOWED_CONTENT_TYPES.

Downloads are served as attachments with `X-Content-Type-Options: nosniff`, a
sandboxing Content-Security-Policy, and the stored media type only if uploads may
have it (`application/octet-stream` otherwise): a stored file never runs as a page of
this site. Uploads stream their body (no `MAX_REQUEST_BODY_SIZE`; the storage limit
applies while it streams).

These routes have no access control of their own: add a dependency that checks the
caller (`APIRouter(dependencies=[...])`, or per route) before exposing them.
"""

import mimetypes
import re
import uuid
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from app.core.config import API_V1_PREFIX
from app.core.errors import NotFoundError
from app.core.limits import body_limit
from app.core.openapi import error_responses
from app.features.storage.base import (
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    Download,
    ObjectInfo,
    PresignedUrl,
    validate_key,
)
from app.features.storage.local import LocalBackend
from app.features.storage.service import Storage, media_type

# 503 on every route: the storage server may not answer.
router = APIRouter(
    prefix=f"{API_V1_PREFIX}/storage",
    tags=["storage"],
    responses=error_responses(status.HTTP_503_SERVICE_UNAVAILABLE),
)

_BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file itself; its media type in `Content-Type`.",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")
# A key breaking these rules gets a 400 `invalid_key` from `validate_key`.
_KEY_SCHEMA: dict[str, Any] = {"pattern": KEY_PATTERN, "maxLength": MAX_KEY_LENGTH}
Key = Annotated[str, Path(json_schema_extra=_KEY_SCHEMA)]
# Whatever a stored file holds, a browser that opens it runs nothing and loads nothing.
DOWNLOAD_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox"


def get_storage(request: Request) -> Storage:
    """The running application's storage (set up by the feature's lifespan)."""
    storage = getattr(request.app.state, "storage", None)
    if storage is None:
        raise RuntimeError("The storage feature is not started for this application.")
    return cast(Storage, storage)


StorageDep = Annotated[Storage, Depends(get_storage)]


class StoredObject(BaseModel):
    key: str
    size: int
    content_type: str
    etag: str | None
    url: str


class PresignUploadRequest(BaseModel):
    # The key to upload to; empty: a new one is made (like `POST /files`).
    key: Annotated[
        str | None,
        Field(json_schema_extra=_KEY_SCHEMA | {"pattern": f"^$|{KEY_PATTERN}"}),
    ] = None
    content_type: str
    # The file's name, for the extension of a new key.
    filename: str | None = None


class PresignDownloadRequest(BaseModel):
    key: Annotated[str, Field(json_schema_extra=_KEY_SCHEMA)]


class PresignedUrlRead(BaseModel):
    key: str
    url: str
    method: str
    # Send exactly these headers with the request.
    headers: dict[str, str]
    expires_at: datetime


def _declared_size(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


def new_key(media: str, filename: str | None = None) -> str:
    """A fresh random key, with the extension of `filename` or of the media type."""
    match = _EXTENSION.search(filename or "")
    extension = match[0].lower() if match else mimetypes.guess_extension(media) or ""
    return f"{uuid.uuid4().hex}{extension}"


def _stored(request: Request, info: ObjectInfo) -> StoredObject:
    return StoredObject(
        key=info.key,
        size=info.size,
        content_type=info.content_type,
        etag=info.etag,
        url=str(request.url_for("download_file", key=info.key)),
    )


def _absolute(request: Request, key: str, presigned: PresignedUrl) -> PresignedUrlRead:
    url = presigned.url
    if url.startswith("/"):  # the local backend's URLs point at this application
        url = str(request.base_url).rstrip("/") + url
    return PresignedUrlRead(
        key=key,
        url=url,
        method=presigned.method,
        headers=presigned.headers,
        expires_at=presigned.expires_at,
    )


async def _upload(request: Request, storage: Storage, key: str) -> StoredObject:
    info = await storage.upload(
        key,
        request.stream(),
        content_type=request.headers.get("content-type"),
        size=_declared_size(request),
    )
    return _stored(request, info)


@router.post("/files", status_code=status.HTTP_201_CREATED, openapi_extra=_BINARY_BODY)
@body_limit(None)  # streamed; STORAGE_MAX_UPLOAD_SIZE applies
async def upload_new_file(
    request: Request,
    response: Response,
    storage: StorageDep,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> StoredObject:
    """Store the request body under a new random key (returned)."""
    media = storage.check_content_type(request.headers.get("content-type"))
    stored = await _upload(request, storage, new_key(media, filename))
    response.headers["Location"] = stored.url
    return stored


@router.put(
    "/files/{key:path}", status_code=status.HTTP_201_CREATED, openapi_extra=_BINARY_BODY
)
@body_limit(None)  # streamed; STORAGE_MAX_UPLOAD_SIZE applies
async def upload_file(key: Key, request: Request, storage: StorageDep) -> StoredObject:
    """Store the request body under `key`, replacing what was there."""
    return await _upload(request, storage, key)


def _download_response(storage: Storage, download: Download) -> StreamingResponse:
    info = download.info
    headers = {
        "Content-Length": str(info.size),
        "Content-Disposition": f'attachment; filename="{info.key.rsplit("/", 1)[-1]}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_CONTENT_SECURITY_POLICY,
    }
    if info.etag:
        headers["ETag"] = f'"{info.etag}"'
    return StreamingResponse(
        download.chunks,
        media_type=storage.served_type(info.content_type),
        headers=headers,
        background=BackgroundTask(download.aclose),
    )


@router.get(
    "/files/{key:path}",
    response_class=StreamingResponse,
    responses=error_responses(status.HTTP_400_BAD_REQUEST),
)
async def download_file(key: Key, storage: StorageDep) -> StreamingResponse:
    """The object's bytes, as an attachment, with its media type if uploads may
    have it."""
    return _download_response(storage, await storage.open(validate_key(key)))


@router.delete(
    "/files/{key:path}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(status.HTTP_400_BAD_REQUEST),
)
async def delete_file(key: Key, storage: StorageDep) -> None:
    if not await storage.delete(validate_key(key)):
        raise NotFoundError(f"No object {key!r}.", code="object_not_found")


@router.post("/presigned/upload")
async def presign_upload(
    payload: PresignUploadRequest, request: Request, storage: StorageDep
) -> PresignedUrlRead:
    """A URL to PUT one file to, without going through this API: send the body with
    the returned `headers` before `expires_at`."""
    media = storage.check_content_type(payload.content_type)
    key = validate_key(payload.key) if payload.key else new_key(media, payload.filename)
    presigned = await storage.presigned_upload_url(key, content_type=media)
    return _absolute(request, key, presigned)


@router.post(
    "/presigned/download", responses=error_responses(status.HTTP_404_NOT_FOUND)
)
async def presign_download(
    payload: PresignDownloadRequest, request: Request, storage: StorageDep
) -> PresignedUrlRead:
    """A URL to GET one file from, without going through this API."""
    key = validate_key(payload.key)
    info = await storage.stat(key)  # 404 now rather than from the URL later
    presigned = await storage.presigned_download_url(
        key, content_type=info.content_type
    )
    return _absolute(request, key, presigned)


# The local backend's presigned URLs land here; with S3 they go to S3 itself.


def _local(storage: Storage) -> LocalBackend:
    if not isinstance(storage.backend, LocalBackend):
        raise NotFoundError("Signed URLs are served by the storage server.")
    return storage.backend


@router.put(
    "/signed/{key:path}",
    status_code=status.HTTP_201_CREATED,
    include_in_schema=False,
)
@body_limit(None)  # streamed; STORAGE_MAX_UPLOAD_SIZE applies
async def signed_upload(
    key: str,
    request: Request,
    storage: StorageDep,
    expires: int,
    signature: str,
) -> StoredObject:
    local = _local(storage)
    local.verify(
        "PUT",
        validate_key(key),
        expires=expires,
        signature=signature,
        content_type=media_type(request.headers.get("content-type")) or "",
    )
    async with local.single_use(expires=expires, signature=signature):
        return await _upload(request, storage, key)


@router.get("/signed/{key:path}", include_in_schema=False)
async def signed_download(
    key: str, storage: StorageDep, expires: int, signature: str
) -> StreamingResponse:
    _local(storage).verify(
        "GET", validate_key(key), expires=expires, signature=signature
    )
    return _download_response(storage, await storage.open(key))
