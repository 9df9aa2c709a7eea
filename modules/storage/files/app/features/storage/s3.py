"""The S3 backend: objects in one bucket of Amazon S3 or any server speaking its API
(MinIO, Ceph, Garage, Cloudflare R2, moto's server for tests).

It uses aiobotocore, botocore's asyncio flavour: every call is awaited. Uploads are
streamed: up to `part_size` bytes are gathered in a spooled temporary file (the first
`SPOOL_IN_MEMORY` bytes in memory, the rest on disk, so an upload costs the process a
fixed amount of memory however large it is and however many run at once) and sent
with one `PutObject`; larger bodies become a multipart upload, part by part, aborted
if the body turns out too large or the client goes away.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

import anyio
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import BotoCoreError, ClientError

from app.features.storage.base import (
    CHUNK_SIZE,
    Download,
    ObjectInfo,
    ObjectNotFoundError,
    PresignedUrl,
    StorageBackend,
    StorageUnavailableError,
    upload_too_large,
    validate_key,
)
from app.features.storage.config import MiB, StorageSettings

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

logger = logging.getLogger(__name__)

_MISSING = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}
# Bytes of an upload's current part kept in memory; the rest of the part waits in a
# temporary file (TMPDIR) until it is sent.
SPOOL_IN_MEMORY = 256 * 1024


def _is_missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


@cache
def _session() -> AioSession:
    """One botocore session per process: it caches the (large) S3 service model."""
    return get_session()


@contextmanager
def _translate_errors(key: str | None = None) -> Iterator[None]:
    """S3's 404 -> `ObjectNotFoundError`; unreachable server -> 503."""
    try:
        yield
    except ClientError as exc:
        if key is not None and _is_missing(exc):
            raise ObjectNotFoundError(f"No object {key!r}.") from None
        raise
    except BotoCoreError as exc:
        raise StorageUnavailableError("The storage server cannot be reached.") from exc


class S3Backend(StorageBackend):
    name = "s3"

    # S3 wants every part of a multipart upload but the last to be at least 5 MiB.
    MIN_PART_SIZE = 5 * MiB

    def __init__(
        self,
        settings: StorageSettings,
        *,
        part_size: int = 8 * MiB,
        max_attempts: int = 3,
    ) -> None:
        if part_size < self.MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {self.MIN_PART_SIZE} bytes")
        self.settings = settings
        self.bucket = settings.S3_BUCKET
        self.part_size = part_size
        self.max_attempts = max_attempts
        self._stack: AsyncExitStack | None = None
        self._client: S3Client | None = None
        self._presigner: S3Client | None = None
        self._bucket_ready = False
        self._bucket_lock = asyncio.Lock()

    # Lifecycle

    async def start(self) -> None:
        if self._stack is not None:
            return
        settings = self.settings
        secret = settings.S3_SECRET_ACCESS_KEY
        session = _session()
        config = AioConfig(
            region_name=settings.S3_REGION,
            signature_version="s3v4",
            s3={"addressing_style": settings.addressing_style},
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": self.max_attempts, "mode": "standard"},
        )

        access_key = settings.S3_ACCESS_KEY_ID
        secret_key = secret.get_secret_value() if secret else None
        async with AsyncExitStack() as stack:
            self._client = await stack.enter_async_context(
                session.create_client(
                    "s3",
                    endpoint_url=settings.S3_ENDPOINT_URL,
                    aws_access_key_id=access_key,
                    aws_secret_access_key=secret_key,
                    config=config,
                )
            )
            public = settings.S3_PUBLIC_ENDPOINT_URL
            if public and public != settings.S3_ENDPOINT_URL:
                # Signing needs no connection: this client only makes URLs.
                self._presigner = await stack.enter_async_context(
                    session.create_client(
                        "s3",
                        endpoint_url=public,
                        aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key,
                        config=config,
                    )
                )
            else:
                self._presigner = self._client
            self._stack = stack.pop_all()
        try:
            await self._ensure_bucket()
        except (ClientError, BotoCoreError) as exc:
            # Start anyway: the readiness probe says the storage is down, and the
            # bucket is made on first use once the server answers.
            logger.warning(
                "S3 bucket %r is not usable yet (%s); will retry on first use",
                self.bucket,
                exc,
            )

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        self._client = self._presigner = None
        self._bucket_ready = False
        if stack is not None:
            await stack.aclose()

    @property
    def client(self) -> S3Client:
        if self._client is None:
            raise RuntimeError("The S3 backend is not started: use `async with`.")
        return self._client

    async def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        async with self._bucket_lock:
            if self._bucket_ready:
                return
            try:
                await self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if not (_is_missing(exc) and self.settings.S3_CREATE_BUCKET):
                    raise
                await self._create_bucket()
            self._bucket_ready = True

    async def _create_bucket(self) -> None:
        region = self.settings.S3_REGION
        try:
            if region == "us-east-1":
                await self.client.create_bucket(Bucket=self.bucket)
            else:
                await self.client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                )
        except ClientError as exc:
            # Another instance of the app made it meanwhile.
            if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise
        else:
            logger.info("Created S3 bucket %r", self.bucket)

    async def _ready(self) -> S3Client:
        """The client, once the bucket is known to exist (made if need be)."""
        try:
            with _translate_errors():
                await self._ensure_bucket()
        except ClientError as exc:
            if _is_missing(exc):
                message = (
                    f"The bucket {self.bucket!r} does not exist: create it, or set "
                    "S3_CREATE_BUCKET=true."
                )
            else:  # wrong keys (403), a bucket someone else owns ...
                code = exc.response.get("Error", {}).get("Code")
                message = f"The bucket {self.bucket!r} is not usable ({code})."
            raise StorageUnavailableError(message) from exc
        return self.client

    async def check(self) -> None:
        await self.client.head_bucket(Bucket=self.bucket)
        self._bucket_ready = True

    # Objects

    async def save(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        max_size: int | None = None,
    ) -> ObjectInfo:
        validate_key(key)
        client = await self._ready()
        spool = anyio.wrap_file(tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY))
        buffered = size = 0
        upload_id: str | None = None
        parts: list[CompletedPartTypeDef] = []

        async def send_part() -> None:
            """Send what the spool holds as the next part, then empty it."""
            nonlocal buffered
            assert upload_id is not None
            number = len(parts) + 1
            await spool.seek(0)
            response = await client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=spool.wrapped,
                ContentLength=buffered,
            )
            parts.append({"ETag": response["ETag"], "PartNumber": number})
            await spool.seek(0)
            await spool.truncate()
            buffered = 0

        try:
            with _translate_errors():
                async for chunk in chunks:
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise upload_too_large(max_size)
                    rest = memoryview(chunk)
                    while rest:
                        taken = rest[: self.part_size - buffered]
                        await spool.write(taken)
                        buffered += len(taken)
                        rest = rest[len(taken) :]
                        if buffered == self.part_size:
                            if upload_id is None:
                                created = await client.create_multipart_upload(
                                    Bucket=self.bucket,
                                    Key=key,
                                    ContentType=content_type,
                                )
                                upload_id = created["UploadId"]
                            await send_part()
                if upload_id is None:
                    await spool.seek(0)
                    put = await client.put_object(
                        Bucket=self.bucket,
                        Key=key,
                        Body=spool.wrapped,
                        ContentLength=buffered,
                        ContentType=content_type,
                    )
                    etag = put["ETag"]
                else:
                    if buffered:
                        await send_part()
                    done = await client.complete_multipart_upload(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        MultipartUpload={"Parts": parts},
                    )
                    etag = done.get("ETag", "")
                    upload_id = None
        finally:
            if upload_id is not None:
                await self._abort(key, upload_id)
            with anyio.CancelScope(shield=True):
                await spool.aclose()
        return ObjectInfo(
            key=key,
            size=size,
            content_type=content_type,
            etag=etag.strip('"') or None,
            last_modified=datetime.now(UTC),
        )

    async def _abort(self, key: str, upload_id: str) -> None:
        # Shielded: it must run even when the request was cancelled.
        with anyio.CancelScope(shield=True):
            try:
                await self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id
                )
            except (ClientError, BotoCoreError):
                logger.warning(
                    "Could not abort multipart upload %s of %r", upload_id, key
                )

    async def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        client = await self._ready()
        with _translate_errors(key):
            head = await client.head_object(Bucket=self.bucket, Key=key)
        return ObjectInfo(
            key=key,
            size=head["ContentLength"],
            content_type=head.get("ContentType") or "application/octet-stream",
            etag=head.get("ETag", "").strip('"') or None,
            last_modified=head.get("LastModified"),
        )

    async def open(self, key: str) -> Download:
        validate_key(key)
        client = await self._ready()
        with _translate_errors(key):
            response = await client.get_object(Bucket=self.bucket, Key=key)
        body = response["Body"]
        info = ObjectInfo(
            key=key,
            size=response["ContentLength"],
            content_type=response.get("ContentType") or "application/octet-stream",
            etag=response.get("ETag", "").strip('"') or None,
            last_modified=response.get("LastModified"),
        )

        async def chunks() -> AsyncIterator[bytes]:
            async with body:
                with _translate_errors(key):
                    async for chunk in body.iter_chunks(CHUNK_SIZE):
                        yield chunk

        async def close() -> None:
            body.close()

        return Download(info=info, chunks=chunks(), _close=close)

    async def delete(self, key: str) -> bool:
        validate_key(key)
        client = await self._ready()
        with _translate_errors():
            try:
                await client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _is_missing(exc):
                    return False
                raise
            await client.delete_object(Bucket=self.bucket, Key=key)
        return True

    # Presigned URLs (signed locally: no request to the server)

    def _presigner_client(self) -> S3Client:
        if self._presigner is None:
            raise RuntimeError("The S3 backend is not started: use `async with`.")
        return self._presigner

    async def presigned_upload_url(
        self, key: str, *, content_type: str, expires_in: int
    ) -> PresignedUrl:
        validate_key(key)
        await self._ready()
        url = await self._presigner_client().generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in,
        )
        return PresignedUrl(
            url=url,
            method="PUT",
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
            headers={"Content-Type": content_type},
        )

    async def presigned_download_url(
        self,
        key: str,
        *,
        expires_in: int,
        response_content_type: str | None = None,
    ) -> PresignedUrl:
        validate_key(key)
        await self._ready()
        # Signed into the URL: S3 answers with these headers, not the stored ones, so
        # a browser downloads the file rather than render it on S3's origin.
        filename = key.rsplit("/", 1)[-1]
        params: dict[str, str] = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        }
        if response_content_type is not None:
            params["ResponseContentType"] = response_content_type
        url = await self._presigner_client().generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_in
        )
        return PresignedUrl(
            url=url,
            method="GET",
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        )
