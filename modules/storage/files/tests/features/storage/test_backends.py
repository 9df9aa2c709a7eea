"""The `StorageBackend` contract, checked on the local folder and on the S3 server."""

import hashlib
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import AsyncClient

from app.core.errors import ConflictError
from app.features.storage import ObjectNotFoundError, StorageBackend
from app.features.storage.base import (
    InvalidKeyError,
    InvalidSignatureError,
    StorageUnavailableError,
    UploadTooLargeError,
)
from app.features.storage.config import MiB, StorageSettings
from app.features.storage.local import LocalBackend
from app.features.storage.s3 import S3Backend
from tests.features.storage.conftest import SECRET_KEY, drop_bucket, s3_test_settings


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_save_stat_read_delete(backend: StorageBackend, key: str) -> None:
    info = await backend.save_bytes(key, b"hello", content_type="text/plain")
    assert (info.key, info.size, info.content_type) == (key, 5, "text/plain")
    assert info.etag == hashlib.md5(b"hello").hexdigest()

    stat = await backend.stat(key)
    assert (stat.size, stat.content_type, stat.etag) == (5, "text/plain", info.etag)
    assert stat.last_modified is not None
    assert await backend.exists(key)
    assert await backend.read_bytes(key) == b"hello"

    assert await backend.delete(key) is True
    assert not await backend.exists(key)
    assert await backend.delete(key) is False


async def test_missing_objects(backend: StorageBackend, key: str) -> None:
    with pytest.raises(ObjectNotFoundError):
        await backend.stat(key)
    with pytest.raises(ObjectNotFoundError):
        await backend.open(key)
    with pytest.raises(ObjectNotFoundError):
        await backend.read_bytes(key)


async def test_streamed_save_and_download(backend: StorageBackend, key: str) -> None:
    data = os.urandom(300_000)
    info = await backend.save(key, chunked(data, 7_000), content_type="image/png")
    assert info.size == len(data)

    download = await backend.open(key)
    assert download.info.size == len(data)
    assert download.info.content_type == "image/png"
    received = [chunk async for chunk in download.chunks]
    await download.aclose()
    assert len(received) > 1  # streamed, not read whole
    assert b"".join(received) == data


async def test_save_replaces(backend: StorageBackend, key: str) -> None:
    await backend.save_bytes(key, b"old", content_type="text/plain")
    await backend.save_bytes(key, b"new content", content_type="text/csv")
    assert await backend.read_bytes(key) == b"new content"
    assert (await backend.stat(key)).content_type == "text/csv"


async def test_download_closed_early(backend: StorageBackend, key: str) -> None:
    await backend.save_bytes(key, os.urandom(200_000), content_type="text/plain")
    download = await backend.open(key)
    assert await anext(download.chunks)
    await download.aclose()
    await download.aclose()  # twice is fine
    assert await backend.delete(key)


async def test_size_limit_leaves_nothing(backend: StorageBackend, key: str) -> None:
    with pytest.raises(UploadTooLargeError) as raised:
        await backend.save(
            key, chunked(b"x" * 5000, 1000), content_type="text/plain", max_size=4999
        )
    assert raised.value.status_code == 413
    assert not await backend.exists(key)

    # A failed replacement keeps the object that was there.
    await backend.save_bytes(key, b"kept", content_type="text/plain")
    with pytest.raises(UploadTooLargeError):
        await backend.save_bytes(
            key, b"x" * 100, content_type="text/plain", max_size=10
        )
    assert await backend.read_bytes(key) == b"kept"
    # Exactly at the limit is accepted.
    await backend.save_bytes(key, b"y" * 10, content_type="text/plain", max_size=10)
    assert await backend.read_bytes(key) == b"y" * 10


async def test_empty_object(backend: StorageBackend, key: str) -> None:
    info = await backend.save_bytes(key, b"", content_type="text/plain")
    assert info.size == 0
    assert await backend.read_bytes(key) == b""


@pytest.mark.parametrize(
    "bad_key",
    ["", "/abs", "a//b", "../up", "a/../b", ".hidden", "a/.meta/b", "dir/", "sp ace",
     "back\\slash", "k" * 1025],
)  # fmt: skip
async def test_invalid_keys(backend: StorageBackend, bad_key: str) -> None:
    with pytest.raises(InvalidKeyError):
        await backend.save_bytes(bad_key, b"x", content_type="text/plain")
    with pytest.raises(InvalidKeyError):
        await backend.stat(bad_key)
    with pytest.raises(InvalidKeyError):
        await backend.presigned_download_url(bad_key, expires_in=60)


async def test_backend_is_healthy(backend: StorageBackend) -> None:
    await backend.check()


# The local backend


async def test_local_layout_and_cleanup(tmp_path: Path) -> None:
    async with LocalBackend(tmp_path, secret_key=SECRET_KEY) as local:
        await local.save_bytes("a/b/c.txt", b"abc", content_type="text/plain")
        assert (tmp_path / "a" / "b" / "c.txt").read_bytes() == b"abc"
        with pytest.raises(UploadTooLargeError):
            await local.save_bytes(
                "a/big", b"x" * 10, content_type="text/plain", max_size=1
            )
        assert list((tmp_path / ".tmp").iterdir()) == []  # no half-written file

        assert await local.delete("a/b/c.txt")
        # Empty folders go with their last object.
        assert not (tmp_path / "a").exists()
        assert not (tmp_path / ".meta" / "a").exists()


async def test_local_key_clash(tmp_path: Path) -> None:
    async with LocalBackend(tmp_path, secret_key=SECRET_KEY) as local:
        await local.save_bytes("a", b"file", content_type="text/plain")
        with pytest.raises(ConflictError):
            await local.save_bytes("a/b", b"under a file", content_type="text/plain")
        assert await local.read_bytes("a") == b"file"


async def test_local_type_without_metadata(tmp_path: Path) -> None:
    """A file without metadata (put in the folder by hand, or left by a write that
    failed half way) is bytes of no known type: never a type guessed from its name,
    which would serve `x.html` as a page."""
    async with LocalBackend(tmp_path, secret_key=SECRET_KEY) as local:
        (tmp_path / "doc.pdf").write_bytes(b"%PDF-")
        (tmp_path / "page.html").write_bytes(b"<script>alert(1)</script>")
        assert (await local.stat("doc.pdf")).content_type == "application/octet-stream"
        assert (await local.open("page.html")).info.content_type == (
            "application/octet-stream"
        )


@pytest.mark.parametrize(
    "key",
    [
        "a" * 247 + ".html",  # the object's name fits, its metadata's does not
        "x/" + "a" * 300 + "/y.txt",  # a folder name too long
        "a" * 300,
    ],
)
async def test_local_failed_write_leaves_nothing(tmp_path: Path, key: str) -> None:
    """A write the file system refuses is a 400 that leaves no file, no metadata and
    no folder behind (it used to be a 500 that left the data without its type)."""
    async with LocalBackend(tmp_path, secret_key=SECRET_KEY) as local:
        with pytest.raises(InvalidKeyError, match="too long"):
            await local.save_bytes(key, b"<script>", content_type="text/plain")
        with pytest.raises(ObjectNotFoundError):
            await local.stat(key)
    left = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*"))
    assert left == [".meta", ".tmp", ".used"]


async def test_local_failed_replace_keeps_the_old_object(tmp_path: Path) -> None:
    async with LocalBackend(tmp_path, secret_key=SECRET_KEY) as local:
        await local.save_bytes("a/b", b"old", content_type="text/csv")
        (tmp_path / "a" / "b").unlink()
        (tmp_path / "a" / "b").mkdir()  # the bytes cannot go in place now
        (tmp_path / "a" / "b" / "c").write_bytes(b"")
        with pytest.raises(ConflictError):
            await local.save_bytes("a/b", b"new", content_type="text/html")
        meta = (tmp_path / ".meta" / "a" / "b.json").read_text()
        assert "text/csv" in meta and "text/html" not in meta


def signed_query(url: str) -> tuple[int, str]:
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    return int(query["expires"]), query["signature"]


async def test_local_signed_urls(tmp_path: Path) -> None:
    async with LocalBackend(tmp_path, secret_key=SECRET_KEY) as local:
        url = await local.presigned_upload_url(
            "k.png", content_type="image/png", expires_in=60
        )
        assert url.method == "PUT"
        assert url.headers == {"Content-Type": "image/png"}
        assert url.url.startswith("/api/v1/storage/signed/k.png?")
        expires, signature = signed_query(url.url)
        assert expires == int(url.expires_at.timestamp())
        assert 55 <= expires - time.time() <= 61

        local.verify(
            "PUT",
            "k.png",
            expires=expires,
            signature=signature,
            content_type="image/png",
        )
        for method, key, expiry, media in [
            ("GET", "k.png", expires, "image/png"),  # other method
            ("PUT", "k2.png", expires, "image/png"),  # other key
            ("PUT", "k.png", expires + 1, "image/png"),  # other expiry
            ("PUT", "k.png", expires, "text/plain"),  # other type
        ]:
            with pytest.raises(InvalidSignatureError, match="does not match"):
                local.verify(
                    method, key, expires=expiry, signature=signature, content_type=media
                )

        # Another secret key signs differently.
        other = LocalBackend(tmp_path, secret_key="another-secret-key-of-enough-length")
        with pytest.raises(InvalidSignatureError):
            other.verify(
                "PUT",
                "k.png",
                expires=expires,
                signature=signature,
                content_type="image/png",
            )


async def test_local_signed_url_expires(tmp_path: Path) -> None:
    local = LocalBackend(tmp_path, secret_key=SECRET_KEY)
    url = await local.presigned_download_url("k.png", expires_in=-1)
    expires, signature = signed_query(url.url)
    with pytest.raises(InvalidSignatureError, match="expired"):
        local.verify("GET", "k.png", expires=expires, signature=signature)


async def test_local_unwritable_folder_is_unhealthy(tmp_path: Path) -> None:
    local = LocalBackend(tmp_path / "never-started", secret_key=SECRET_KEY)
    with pytest.raises(StorageUnavailableError):
        await local.check()


# The S3 backend


async def test_s3_presigned_round_trip(
    s3_settings: StorageSettings, http: AsyncClient, key: str
) -> None:
    """PUT through a presigned URL, GET through another: straight to the S3 server."""
    data = os.urandom(50_000)
    async with S3Backend(s3_settings) as s3:
        upload = await s3.presigned_upload_url(
            key, content_type="image/png", expires_in=60
        )
        assert upload.method == "PUT"
        put = await http.put(upload.url, content=data, headers=upload.headers)
        assert put.status_code == 200, put.text

        assert (await s3.stat(key)).content_type == "image/png"

        download = await s3.presigned_download_url(key, expires_in=60)
        got = await http.get(download.url)
        assert got.status_code == 200, got.text
        assert got.content == data
        assert got.headers["content-type"] == "image/png"


async def test_s3_multipart_upload(s3_settings: StorageSettings, key: str) -> None:
    """Bodies larger than a part go up part by part and come back whole."""
    data = os.urandom(11 * MiB + 123)
    async with S3Backend(s3_settings, part_size=5 * MiB) as s3:
        info = await s3.save(key, chunked(data, MiB), content_type="application/pdf")
        assert info.size == len(data)
        stat = await s3.stat(key)
        assert (stat.size, stat.content_type) == (len(data), "application/pdf")
        read = await s3.read_bytes(key)
        assert hashlib.sha256(read).digest() == hashlib.sha256(data).digest()


async def test_s3_too_large_multipart_is_aborted(
    s3_settings: StorageSettings, key: str
) -> None:
    async with S3Backend(s3_settings, part_size=5 * MiB) as s3:
        with pytest.raises(UploadTooLargeError):
            await s3.save(
                key,
                chunked(os.urandom(7 * MiB), MiB),
                content_type="text/plain",
                max_size=6 * MiB,
            )
        assert not await s3.exists(key)
        uploads = await s3.client.list_multipart_uploads(Bucket=s3.bucket)
        assert [u for u in uploads.get("Uploads", []) if u["Key"] == key] == []


async def test_s3_creates_its_bucket() -> None:
    settings = s3_test_settings(f"paxx-test-new-{os.urandom(6).hex()}")
    try:
        async with S3Backend(settings) as s3:
            await s3.check()  # made at startup
            await s3.save_bytes("k", b"v", content_type="text/plain")
            assert await s3.read_bytes("k") == b"v"
    finally:
        await drop_bucket(settings)


async def test_s3_missing_bucket_without_create() -> None:
    settings = s3_test_settings(
        f"paxx-test-none-{os.urandom(6).hex()}", S3_CREATE_BUCKET=False
    )
    async with S3Backend(settings) as s3:
        with pytest.raises(StorageUnavailableError, match="does not exist"):
            await s3.save_bytes("k", b"v", content_type="text/plain")
        with pytest.raises(Exception):  # noqa: B017 - whatever the client raises
            await s3.check()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_s3_unreachable_server(s3_settings: StorageSettings) -> None:
    """The app starts while S3 is down; requests then answer 503."""
    settings = s3_settings.model_copy(
        update={"S3_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}"}
    )
    async with S3Backend(settings, max_attempts=1) as s3:  # does not raise
        with pytest.raises(StorageUnavailableError) as raised:
            await s3.stat("k")
        assert raised.value.status_code == 503
