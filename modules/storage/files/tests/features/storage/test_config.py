"""Storage settings: parsing and the errors a wrong value gives."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import ConfigurationError, load_settings
from app.features.storage.config import StorageSettings
from app.features.storage.service import content_type_allowed, media_type


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1048576),
        ("10MiB", 10 * 1024**2),
        ("10 mib", 10 * 1024**2),
        ("10M", 10 * 1024**2),
        ("10MB", 10 * 1000**2),
        ("512KiB", 512 * 1024),
        ("2GB", 2 * 1000**3),
        ("1g", 1024**3),
    ],
)
def test_sizes(text: str, size: int) -> None:
    settings = StorageSettings(STORAGE_MAX_UPLOAD_SIZE=text)
    assert settings.STORAGE_MAX_UPLOAD_SIZE == size


@pytest.mark.parametrize("text", ["ten", "10 TB", "-5", "0", "1.5MiB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValidationError, match="STORAGE_MAX_UPLOAD_SIZE"):
        StorageSettings(STORAGE_MAX_UPLOAD_SIZE=text)


def test_content_types_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_ALLOWED_CONTENT_TYPES", " Image/*, application/PDF ,")
    assert StorageSettings().STORAGE_ALLOWED_CONTENT_TYPES == [
        "image/*",
        "application/pdf",
    ]
    monkeypatch.setenv("STORAGE_ALLOWED_CONTENT_TYPES", '["text/csv", "*/*"]')
    assert StorageSettings().STORAGE_ALLOWED_CONTENT_TYPES == ["text/csv", "*/*"]


@pytest.mark.parametrize("value", ["png", "image/", "*/png", ""])
def test_bad_content_types(value: str) -> None:
    with pytest.raises(ValidationError, match="STORAGE_ALLOWED_CONTENT_TYPES"):
        StorageSettings(STORAGE_ALLOWED_CONTENT_TYPES=[value] if value else [])


def test_media_type_matching() -> None:
    assert media_type("Image/PNG; charset=binary") == "image/png"
    assert media_type(None) is None
    assert media_type(" ; x=y") is None
    allowed = ["image/*", "application/pdf"]
    assert content_type_allowed("image/webp", allowed)
    assert content_type_allowed("application/pdf", allowed)
    assert not content_type_allowed("application/pdfx", allowed)
    assert not content_type_allowed("text/plain", allowed)
    assert content_type_allowed("video/mp4", ["*/*"])


def test_s3_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("S3_ENDPOINT_URL", "S3_PUBLIC_ENDPOINT_URL", "S3_ADDRESSING_STYLE"):
        monkeypatch.setenv(name, "")
    settings = StorageSettings(
        S3_ACCESS_KEY_ID="",
        S3_SECRET_ACCESS_KEY="",
    )
    assert settings.S3_ENDPOINT_URL is None
    assert settings.S3_ACCESS_KEY_ID is None
    assert settings.S3_SECRET_ACCESS_KEY is None
    assert settings.addressing_style == "auto"

    minio = StorageSettings(S3_ENDPOINT_URL="http://127.0.0.1:61900/")
    assert minio.S3_ENDPOINT_URL == "http://127.0.0.1:61900"
    assert minio.addressing_style == "path"
    virtual = StorageSettings(
        S3_ENDPOINT_URL="https://s3.example.com", S3_ADDRESSING_STYLE="virtual"
    )
    assert virtual.addressing_style == "virtual"


@pytest.mark.parametrize(
    "values",
    [
        {"S3_ENDPOINT_URL": "127.0.0.1:9000"},
        {"S3_BUCKET": "Uploads"},
        {"S3_BUCKET": "ab"},
        {"S3_BUCKET": "under_score"},
        {"S3_BUCKET": "a..b"},
        {"S3_ACCESS_KEY_ID": "key", "S3_SECRET_ACCESS_KEY": ""},
        {"STORAGE_BACKEND": "ftp"},
        {"STORAGE_URL_EXPIRES": 8 * 24 * 3600},
    ],
)
def test_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        StorageSettings(**values)  # type: ignore[arg-type]


def test_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_BACKEND", "ftp")
    with pytest.raises(ConfigurationError, match="STORAGE_BACKEND"):
        load_settings(StorageSettings)


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without any variable or `.env`: the local backend, 10 MiB, common types."""
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in list(StorageSettings.model_fields):
        monkeypatch.delenv(name, raising=False)
    settings = StorageSettings()
    assert settings.STORAGE_BACKEND == "local"
    assert settings.STORAGE_LOCAL_DIR == Path("uploads")
    assert settings.STORAGE_MAX_UPLOAD_SIZE == 10 * 1024 * 1024
    assert "image/png" in settings.STORAGE_ALLOWED_CONTENT_TYPES
    assert "image/svg+xml" not in settings.STORAGE_ALLOWED_CONTENT_TYPES
    assert settings.S3_BUCKET == "uploads"
