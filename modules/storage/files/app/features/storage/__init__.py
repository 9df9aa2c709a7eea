"""File storage: uploads, downloads and presigned URLs on a local folder or S3.

The backend is chosen by STORAGE_BACKEND (`local` or `s3`, see `config.py`); both
implement `StorageBackend` (`base.py`). While the application runs, `Storage` (the
backend plus the upload rules) is `app.state.storage`; routes get it with
`StorageDep`. The API is in `router.py`; the readiness probe `storage` checks that
the folder is writable or the bucket reachable.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

from fastapi import FastAPI

from app.core.config import Settings
from app.core.features import Feature
from app.features.storage.base import (
    Download,
    ObjectInfo,
    ObjectNotFoundError,
    PresignedUrl,
    StorageBackend,
)
from app.features.storage.config import StorageSettings, get_storage_settings
from app.features.storage.router import StorageDep, get_storage, router
from app.features.storage.service import Storage, create_backend

__all__ = [
    "Download",
    "ObjectInfo",
    "ObjectNotFoundError",
    "PresignedUrl",
    "Storage",
    "StorageBackend",
    "StorageDep",
    "StorageSettings",
    "create_backend",
    "feature",
    "get_storage",
    "make_feature",
]


@dataclass
class _Running:
    storage: Storage | None = None


def make_feature(settings: StorageSettings | None = None) -> Feature:
    """The storage feature, with `settings` (default: read from the environment
    when the application starts)."""
    running = _Running()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        storage_settings = settings or get_storage_settings()
        app_settings = cast(Settings, app.state.settings)
        backend = create_backend(
            storage_settings, secret_key=app_settings.SECRET_KEY.get_secret_value()
        )
        async with backend:
            app.state.storage = running.storage = Storage(backend, storage_settings)
            try:
                yield
            finally:
                running.storage = None

    async def check() -> None:
        if running.storage is None:
            raise RuntimeError("The storage feature is not started.")
        await running.storage.backend.check()

    return Feature(
        name="storage",
        router=router,
        lifespan=lifespan,
        health_checks={"storage": check},
    )


feature = make_feature()
