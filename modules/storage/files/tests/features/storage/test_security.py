"""The storage API under attack: stored pages, replayed links, forged hosts, memory."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from httpx import AsyncClient

from app.features.storage import StorageBackend, create_backend, make_feature
from app.features.storage.config import MiB, StorageSettings
from tests.conftest import ClientFactory
from tests.features.storage.conftest import (
    RULES,
    SECRET_KEY,
    drop_bucket,
    s3_test_settings,
)
from tests.server import app_server, assert_peak_growth

API = "/api/v1/storage"
PAGE = b"<html><script>alert(document.cookie)</script></html>"


@pytest.fixture
async def backend_and_client(
    make_client: ClientFactory, storage_settings: StorageSettings
) -> AsyncIterator[tuple[StorageBackend, AsyncClient]]:
    """The API on each backend, and a second handle on the same storage that writes
    behind its back, as another program (or a client of S3 itself) could."""
    feature = make_feature(storage_settings)
    async with (
        create_backend(storage_settings, secret_key=SECRET_KEY) as backend,
        make_client([feature], SECRET_KEY=SECRET_KEY) as client,
    ):
        yield backend, client


def assert_inert(response: httpx.Response) -> None:
    """Headers that stop a browser from rendering the body as a page of this site."""
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy


@pytest.mark.parametrize(
    ("stored_as", "served_as"),
    [
        ("text/html", "text/html"),  # `text/*` is allowed here: sandboxed still
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("application/x-msdownload", "application/octet-stream"),
        ("image/png", "image/png"),
    ],
)
async def test_stored_content_never_runs_as_a_page(
    backend_and_client: tuple[StorageBackend, AsyncClient],
    key: str,
    stored_as: str,
    served_as: str,
) -> None:
    """Whatever type the backend says an object has, it is served with a type from
    the allowed list only, as an attachment, with nosniff and a sandbox policy."""
    backend, client = backend_and_client
    await backend.save_bytes(key, PAGE, content_type=stored_as)
    response = await client.get(f"{API}/files/{key}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == served_as
    assert_inert(response)


async def test_a_failed_local_write_cannot_be_served(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """A key whose metadata the file system refuses (too long a name): 400, and
    nothing to download afterwards (it used to be a 500 that left the file, then
    served as `text/html` from its extension)."""
    settings = StorageSettings(
        STORAGE_BACKEND="local", STORAGE_LOCAL_DIR=tmp_path, **RULES
    )
    key = "a" * 247 + ".html"
    async with make_client([make_feature(settings)], SECRET_KEY=SECRET_KEY) as client:
        put = await client.put(
            f"{API}/files/{key}", content=PAGE, headers={"Content-Type": "text/plain"}
        )
        got = await client.get(f"{API}/files/{key}")
    assert put.status_code == 400, put.text
    assert put.json()["error"]["code"] == "invalid_key"
    assert got.status_code == 404
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".meta",
        ".tmp",
        ".used",
    ]


async def test_s3_presigned_downloads_are_attachments(
    make_client: ClientFactory,
    s3_settings: StorageSettings,
    http: AsyncClient,
    key: str,
) -> None:
    """The presigned URL makes S3 itself answer with a type from the allowed list
    and as an attachment, whatever the object was stored with."""
    async with create_backend(s3_settings, secret_key=SECRET_KEY) as backend:
        await backend.save_bytes(key, PAGE, content_type="image/svg+xml")
    async with make_client([make_feature(s3_settings)]) as client:
        presign = await client.post(f"{API}/presigned/download", json={"key": key})
    assert presign.status_code == 200, presign.text
    got = await http.get(presign.json()["url"])
    assert got.status_code == 200, got.text
    assert got.content == PAGE
    assert got.headers["content-type"] == "application/octet-stream"
    filename = key.rsplit("/", 1)[-1]
    assert got.headers["content-disposition"] == f'attachment; filename="{filename}"'


async def test_a_signed_upload_url_serves_one_put(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    settings = StorageSettings(
        STORAGE_BACKEND="local", STORAGE_LOCAL_DIR=tmp_path, **RULES
    )
    async with make_client([make_feature(settings)], SECRET_KEY=SECRET_KEY) as client:
        presign = await client.post(
            f"{API}/presigned/upload",
            json={"key": "a.png", "content_type": "image/png"},
        )
        url = presign.json()["url"]
        headers = {"Content-Type": "image/png"}
        first = await client.put(url, content=b"first", headers=headers)
        replay = await client.put(url, content=b"evil", headers=headers)
        stored = await client.get(f"{API}/files/a.png")
    assert first.status_code == 201, first.text
    assert replay.status_code == 403
    assert replay.json()["error"]["code"] == "url_used"
    assert stored.content == b"first"


async def test_simultaneous_replays_get_one_put(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    settings = StorageSettings(
        STORAGE_BACKEND="local", STORAGE_LOCAL_DIR=tmp_path, **RULES
    )
    async with make_client([make_feature(settings)], SECRET_KEY=SECRET_KEY) as client:
        presign = await client.post(
            f"{API}/presigned/upload",
            json={"key": "b.png", "content_type": "image/png"},
        )
        url = presign.json()["url"]
        answers = await asyncio.gather(
            *(
                client.put(
                    url, content=b"x" * 1000, headers={"Content-Type": "image/png"}
                )
                for _ in range(10)
            )
        )
    assert sorted(answer.status_code for answer in answers) == [201] + [403] * 9


async def test_urls_point_at_the_public_base_url(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    """A forged Host header does not end up in the URLs handed out."""
    settings = StorageSettings(
        STORAGE_BACKEND="local", STORAGE_LOCAL_DIR=tmp_path, **RULES
    )
    base = "https://files.example.com"
    evil = {"Host": "evil.example"}
    async with make_client(
        [make_feature(settings)], SECRET_KEY=SECRET_KEY, PUBLIC_BASE_URL=base
    ) as client:
        created = await client.post(
            f"{API}/files",
            content=b"hi",
            headers=evil | {"Content-Type": "text/plain"},
        )
        presign = await client.post(
            f"{API}/presigned/upload",
            json={"content_type": "text/plain"},
            headers=evil,
        )
    assert created.status_code == 201, created.text
    assert created.headers["location"].startswith(f"{base}{API}/files/")
    assert created.json()["url"].startswith(f"{base}{API}/files/")
    assert presign.json()["url"].startswith(f"{base}{API}/signed/")


async def test_uploads_are_not_held_to_the_json_body_limit(
    make_client: ClientFactory, storage_settings: StorageSettings, key: str
) -> None:
    """Uploads stream: the storage limit applies to them, not MAX_REQUEST_BODY_SIZE."""
    feature = make_feature(storage_settings)
    data = os.urandom(60_000)
    async with make_client(
        [feature], SECRET_KEY=SECRET_KEY, MAX_REQUEST_BODY_SIZE=4096
    ) as client:
        put = await client.put(
            f"{API}/files/{key}", content=data, headers={"Content-Type": "image/png"}
        )
        presign = await client.post(
            f"{API}/presigned/upload",
            json={"key": key, "content_type": "image/png", "filename": "x" * 5000},
        )
    assert put.status_code == 201, put.text
    assert presign.status_code == 413


async def test_concurrent_s3_uploads_hold_little_memory(tmp_path: Path) -> None:
    """Sixty uploads of 8 MiB at once to the S3 backend: each waits for S3 in a
    spooled temporary file, so the server's peak memory stays far below the 480 MiB
    they weigh (it used to hold each whole, plus a copy)."""
    bucket = f"paxx-test-mem-{uuid.uuid4().hex[:12]}"
    settings = s3_test_settings(bucket)
    size = 8 * MiB
    try:
        with app_server(
            tmp_path,
            STORAGE_BACKEND="s3",
            S3_BUCKET=bucket,
            S3_CREATE_BUCKET="true",
            STORAGE_MAX_UPLOAD_SIZE=str(16 * MiB),
            STORAGE_ALLOWED_CONTENT_TYPES="application/pdf",
        ) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=600) as client:
                warm = await client.put(
                    f"{API}/files/warm.pdf",
                    content=os.urandom(MiB),
                    headers={"Content-Type": "application/pdf"},
                )
                assert warm.status_code == 201, warm.text
                before = server.peak_rss()
                body = os.urandom(size)
                answers = await asyncio.gather(
                    *(
                        client.put(
                            f"{API}/files/mem/{n}.pdf",
                            content=body,
                            headers={"Content-Type": "application/pdf"},
                        )
                        for n in range(60)
                    )
                )
            assert [a.status_code for a in answers] == [201] * 60, answers[0].text
            assert_peak_growth(server, before, 160 * MiB, "60 uploads of 8 MiB to S3")
    finally:
        await drop_bucket(settings)
