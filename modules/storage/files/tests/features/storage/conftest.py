"""Fixtures for the storage tests, run against both backends for real.

The local backend writes under pytest's `tmp_path`. The S3 backend talks to the
server that S3_ENDPOINT_URL and the S3_* keys name (environment or `.env`: MinIO, or
moto's server, from `paxx-compose up`), in a bucket made for this test session and
emptied and removed at the end.
"""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx import AsyncClient

from app.features.storage import StorageBackend, create_backend, make_feature
from app.features.storage.config import StorageSettings
from app.features.storage.s3 import S3Backend
from tests.conftest import ClientFactory

SECRET_KEY = "storage-tests-secret-key-of-enough-length"
MAX_UPLOAD_SIZE = 64 * 1024
# What the tests' settings accept, whatever the environment says.
RULES: dict[str, Any] = {
    "STORAGE_MAX_UPLOAD_SIZE": MAX_UPLOAD_SIZE,
    "STORAGE_ALLOWED_CONTENT_TYPES": ["image/png", "application/pdf", "text/*"],
    "STORAGE_URL_EXPIRES": 300,
}


async def drop_bucket(settings: StorageSettings) -> None:
    """Remove the bucket with everything in it, unfinished uploads included."""
    async with S3Backend(settings.model_copy(update={"S3_CREATE_BUCKET": False})) as s3:
        client, bucket = s3.client, settings.S3_BUCKET
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        async for page in pages:
            for item in page.get("Contents", []):
                await client.delete_object(Bucket=bucket, Key=item["Key"])
        uploads = await client.list_multipart_uploads(Bucket=bucket)
        for upload in uploads.get("Uploads", []):
            await client.abort_multipart_upload(
                Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        await client.delete_bucket(Bucket=bucket)


def s3_test_settings(bucket: str, **overrides: Any) -> StorageSettings:
    """The S3 connection from the environment, a test bucket and the tests' rules."""
    values: dict[str, Any] = {"STORAGE_BACKEND": "s3", "S3_CREATE_BUCKET": True}
    return StorageSettings(**values | RULES | overrides, S3_BUCKET=bucket)


@pytest.fixture(scope="session")
async def s3_settings() -> AsyncIterator[StorageSettings]:
    settings = s3_test_settings(f"paxx-test-{uuid.uuid4().hex[:16]}")
    yield settings
    await drop_bucket(settings)


@pytest.fixture(params=["local", "s3"])
def storage_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> StorageSettings:
    """Settings for each backend in turn, with the tests' rules."""
    if request.param == "s3":
        settings: StorageSettings = request.getfixturevalue("s3_settings")
        return settings
    return StorageSettings(
        STORAGE_BACKEND="local",
        STORAGE_LOCAL_DIR=tmp_path_factory.mktemp("storage"),
        **RULES,
    )


@pytest.fixture
async def backend(storage_settings: StorageSettings) -> AsyncIterator[StorageBackend]:
    async with create_backend(storage_settings, secret_key=SECRET_KEY) as backend:
        yield backend


@pytest.fixture
def key() -> str:
    """A key no other test uses (the S3 bucket is shared by the session)."""
    return f"tests/{uuid.uuid4().hex}/file.txt"


@pytest.fixture
async def storage_client(
    make_client: ClientFactory, storage_settings: StorageSettings
) -> AsyncIterator[AsyncClient]:
    """The application with only the storage feature, on each backend in turn."""
    feature = make_feature(storage_settings)
    async with make_client([feature], SECRET_KEY=SECRET_KEY) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[AsyncClient]:
    """A real HTTP client, for presigned URLs that point at the S3 server."""
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        yield client
