"""The storage API, on each backend: uploads, downloads, deletes, presigned URLs."""

import os
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient

from app.features import FEATURES
from app.features.storage import make_feature
from app.features.storage.config import StorageSettings
from tests.conftest import ClientFactory
from tests.features.storage.conftest import MAX_UPLOAD_SIZE, RULES, SECRET_KEY

API = "/api/v1/storage"


def client_for(url: str, app: AsyncClient, http: AsyncClient) -> AsyncClient:
    """The app's own client for its URLs (local backend), a real one for S3's."""
    return app if url.startswith(str(app.base_url)) else http


async def body(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    """A request body sent in chunks, with no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_upload_download_delete(storage_client: AsyncClient, key: str) -> None:
    data = os.urandom(20_000)
    put = await storage_client.put(
        f"{API}/files/{key}", content=data, headers={"Content-Type": "image/png"}
    )
    assert put.status_code == 201, put.text
    stored = put.json()
    assert stored["key"] == key
    assert stored["size"] == len(data)
    assert stored["content_type"] == "image/png"
    assert stored["url"] == f"http://testserver{API}/files/{key}"

    got = await storage_client.get(f"{API}/files/{key}")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["content-disposition"] == 'attachment; filename="file.txt"'
    assert got.headers["etag"] == f'"{stored["etag"]}"'

    deleted = await storage_client.delete(f"{API}/files/{key}")
    assert deleted.status_code == 204
    missing = await storage_client.get(f"{API}/files/{key}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "object_not_found"
    again = await storage_client.delete(f"{API}/files/{key}")
    assert again.status_code == 404


async def test_upload_under_a_new_key(storage_client: AsyncClient) -> None:
    response = await storage_client.post(
        f"{API}/files",
        params={"filename": "Report.PDF"},
        content=b"%PDF-1.7",
        headers={"Content-Type": "application/pdf"},
    )
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["key"].endswith(".pdf")
    assert response.headers["location"] == stored["url"]
    got = await storage_client.get(stored["url"])
    assert got.content == b"%PDF-1.7"

    # Without a file name, the extension comes from the media type.
    plain = await storage_client.post(
        f"{API}/files", content=b"hi", headers={"Content-Type": "text/plain"}
    )
    assert plain.json()["key"].endswith(".txt")


async def test_streamed_upload(storage_client: AsyncClient, key: str) -> None:
    data = os.urandom(MAX_UPLOAD_SIZE)  # exactly the limit
    response = await storage_client.put(
        f"{API}/files/{key}", content=body(data), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(data)
    assert (await storage_client.get(f"{API}/files/{key}")).content == data


async def test_too_large_by_content_length(
    storage_client: AsyncClient, key: str
) -> None:
    response = await storage_client.put(
        f"{API}/files/{key}",
        content=b"x" * (MAX_UPLOAD_SIZE + 1),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"max_size": MAX_UPLOAD_SIZE}
    assert (await storage_client.get(f"{API}/files/{key}")).status_code == 404


async def test_too_large_while_streaming(storage_client: AsyncClient, key: str) -> None:
    """Without a Content-Length, the upload stops once the limit is passed."""
    response = await storage_client.put(
        f"{API}/files/{key}",
        content=body(b"x" * (MAX_UPLOAD_SIZE * 2)),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 413
    assert (await storage_client.get(f"{API}/files/{key}")).status_code == 404


@pytest.mark.parametrize(
    "content_type", ["image/svg+xml", "application/x-msdownload", "", "nonsense"]
)
async def test_unsupported_content_type(
    storage_client: AsyncClient, key: str, content_type: str
) -> None:
    response = await storage_client.put(
        f"{API}/files/{key}", content=b"<svg/>", headers={"Content-Type": content_type}
    )
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["details"]["allowed"] == ["image/png", "application/pdf", "text/*"]
    assert (await storage_client.get(f"{API}/files/{key}")).status_code == 404


async def test_content_type_is_normalised(
    storage_client: AsyncClient, key: str
) -> None:
    """Parameters and case do not matter; `text/*` admits any text type."""
    response = await storage_client.put(
        f"{API}/files/{key}",
        content=b"a,b",
        headers={"Content-Type": "Text/CSV; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "text/csv"


async def test_invalid_key(storage_client: AsyncClient) -> None:
    response = await storage_client.put(
        f"{API}/files/a/.hidden", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_key"


async def test_presigned_round_trip(
    storage_client: AsyncClient, http: AsyncClient, key: str
) -> None:
    """PUT the file to a presigned URL, then GET it from another one."""
    data = os.urandom(30_000)
    presign = await storage_client.post(
        f"{API}/presigned/upload", json={"key": key, "content_type": "image/png"}
    )
    assert presign.status_code == 200, presign.text
    upload = presign.json()
    assert upload["key"] == key
    assert upload["method"] == "PUT"
    assert upload["headers"] == {"Content-Type": "image/png"}
    client = client_for(upload["url"], storage_client, http)
    put = await client.put(upload["url"], content=data, headers=upload["headers"])
    assert put.status_code in {200, 201}, put.text

    presign = await storage_client.post(f"{API}/presigned/download", json={"key": key})
    assert presign.status_code == 200, presign.text
    download = presign.json()
    assert download["method"] == "GET"
    got = await client_for(download["url"], storage_client, http).get(download["url"])
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"

    # The API sees the same object.
    assert (await storage_client.get(f"{API}/files/{key}")).content == data


async def test_presigned_upload_under_a_new_key(storage_client: AsyncClient) -> None:
    presign = await storage_client.post(
        f"{API}/presigned/upload",
        json={"content_type": "application/pdf", "filename": "scan.pdf"},
    )
    assert presign.status_code == 200, presign.text
    assert presign.json()["key"].endswith(".pdf")


async def test_presigned_refusals(storage_client: AsyncClient, key: str) -> None:
    refused = await storage_client.post(
        f"{API}/presigned/upload", json={"key": key, "content_type": "video/mp4"}
    )
    assert refused.status_code == 415
    missing = await storage_client.post(f"{API}/presigned/download", json={"key": key})
    assert missing.status_code == 404
    bad_key = await storage_client.post(
        f"{API}/presigned/download", json={"key": "../etc/passwd"}
    )
    assert bad_key.status_code == 400


async def test_readiness_checks_storage(storage_client: AsyncClient) -> None:
    response = await storage_client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["storage"] == "ok"


async def test_openapi_documents_the_routes(storage_client: AsyncClient) -> None:
    paths = (await storage_client.get("/openapi.json")).json()["paths"]
    assert f"{API}/files/{{key}}" in paths
    assert f"{API}/presigned/upload" in paths
    assert not any("/signed/" in path for path in paths)


def test_the_feature_is_registered() -> None:
    assert "storage" in [feature.name for feature in FEATURES]


# Signed URLs of the local backend, served by the application itself


@pytest.fixture
async def local_client(
    make_client: ClientFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncClient]:
    settings = StorageSettings(
        STORAGE_BACKEND="local", STORAGE_LOCAL_DIR=tmp_path_factory.mktemp("s"), **RULES
    )
    async with make_client([make_feature(settings)], SECRET_KEY=SECRET_KEY) as client:
        yield client


async def presign(client: AsyncClient, kind: str, **payload: str) -> str:
    response = await client.post(f"{API}/presigned/{kind}", json=payload)
    assert response.status_code == 200, response.text
    url: str = response.json()["url"]
    return url


async def test_local_signed_url_checks(local_client: AsyncClient) -> None:
    url = await presign(local_client, "upload", key="a.png", content_type="image/png")

    wrong_type = await local_client.put(
        url, content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 403
    assert wrong_type.json()["error"]["code"] == "invalid_signature"

    tampered = url[:-2] + ("AA" if not url.endswith("AA") else "BB")
    forged = await local_client.put(
        tampered, content=b"x", headers={"Content-Type": "image/png"}
    )
    assert forged.status_code == 403

    other_key = url.replace("/a.png?", "/b.png?")
    moved = await local_client.put(
        other_key, content=b"x", headers={"Content-Type": "image/png"}
    )
    assert moved.status_code == 403

    too_large = await local_client.put(
        url,
        content=b"x" * (MAX_UPLOAD_SIZE + 1),
        headers={"Content-Type": "image/png"},
    )
    assert too_large.status_code == 413

    ok = await local_client.put(
        url, content=b"png", headers={"Content-Type": "image/png"}
    )
    assert ok.status_code == 201

    download = await presign(local_client, "download", key="a.png")
    assert (await local_client.get(download)).content == b"png"
    # A download URL does not allow uploads, nor the other way round.
    as_upload = await local_client.put(
        download, content=b"x", headers={"Content-Type": "image/png"}
    )
    assert as_upload.status_code == 403
    assert (await local_client.get(url)).status_code == 403
    missing_signature = await local_client.get(f"{API}/signed/a.png")
    assert missing_signature.status_code == 422


async def test_signed_routes_are_local_only(
    make_client: ClientFactory, s3_settings: StorageSettings
) -> None:
    async with make_client([make_feature(s3_settings)]) as client:
        response = await client.get(f"{API}/signed/a.png?expires=1&signature=x")
    assert response.status_code == 404
