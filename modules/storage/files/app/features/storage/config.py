"""The storage feature's settings: which backend, where it keeps files, what it accepts.

Each setting is the environment variable of the same name (or a line in `.env`).
"""

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from app.core.config import FeatureSettings, load_settings, split_list

MiB = 1024 * 1024
# S3 refuses presigned URLs valid for longer than seven days.
MAX_URL_EXPIRY = 7 * 24 * 3600

DEFAULT_CONTENT_TYPES = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
]

_SIZE = re.compile(r"(?i)^\s*(\d+)\s*(b|kb|mb|gb|kib|mib|gib|k|m|g)?\s*$")
_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "k": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gib": 1024**3,
}
# A media type with an optional wildcard subtype: `image/png`, `image/*`, `*/*`.
_MEDIA_RANGE = re.compile(
    r"^(\*/\*|[a-z0-9][a-z0-9!#$&^_.+-]*/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*))$"
)
# S3 bucket names: 3 to 63 lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def parse_size(value: Any) -> Any:
    """`10485760`, `10MiB`, `10M` (binary) or `10MB` (decimal) -> bytes."""
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match is None:
            raise ValueError(
                f"{value!r} is not a size: write bytes (`10485760`) or a number with "
                "a unit (`10MiB`, `512KiB`, `1GB`)"
            )
        return int(match[1]) * _UNITS[(match[2] or "b").lower()]
    return value


class StorageSettings(FeatureSettings):
    """Where uploaded files go and which ones are accepted."""

    # `local`: files under STORAGE_LOCAL_DIR; `s3`: a bucket on S3 or any server that
    # speaks its API (MinIO, Ceph, R2, ...).
    STORAGE_BACKEND: Literal["local", "s3"] = "local"
    STORAGE_LOCAL_DIR: Path = Path("uploads")
    # Largest upload accepted through the API, in bytes or with a unit (`10MiB`).
    STORAGE_MAX_UPLOAD_SIZE: Annotated[int, Field(ge=1)] = 10 * MiB
    # Media types accepted for uploads; `image/*` matches every image, `*/*` anything.
    STORAGE_ALLOWED_CONTENT_TYPES: Annotated[
        list[str], NoDecode, Field(min_length=1)
    ] = DEFAULT_CONTENT_TYPES
    # Seconds a presigned upload or download URL stays valid.
    STORAGE_URL_EXPIRES: Annotated[int, Field(ge=1, le=MAX_URL_EXPIRY)] = 900

    # Empty: Amazon S3 itself. Otherwise the server's URL (`http://127.0.0.1:61900`).
    S3_ENDPOINT_URL: str | None = None
    # The endpoint clients reach, if not S3_ENDPOINT_URL (the app talks to S3 on an
    # internal address, browsers use a public one): presigned URLs are made for it.
    S3_PUBLIC_ENDPOINT_URL: str | None = None
    # Empty: the usual AWS credential chain (environment, profile, instance role).
    S3_ACCESS_KEY_ID: str | None = None
    S3_SECRET_ACCESS_KEY: SecretStr | None = None
    S3_BUCKET: str = "uploads"
    S3_REGION: str = "us-east-1"
    # `path` (http://host/bucket/key) or `virtual` (http://bucket.host/key). Default:
    # `path` with S3_ENDPOINT_URL, which MinIO and most other servers want; else `auto`.
    S3_ADDRESSING_STYLE: Literal["auto", "path", "virtual"] | None = None
    # Create the bucket when it does not exist (at startup, or on first use when the
    # server was unreachable at startup).
    S3_CREATE_BUCKET: bool = True

    @field_validator("STORAGE_MAX_UPLOAD_SIZE", mode="before")
    @classmethod
    def _parse_size(cls, value: Any) -> Any:
        return parse_size(value)

    @field_validator("STORAGE_ALLOWED_CONTENT_TYPES", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("STORAGE_ALLOWED_CONTENT_TYPES")
    @classmethod
    def _check_media_ranges(cls, values: list[str]) -> list[str]:
        cleaned = []
        for value in values:
            media = value.strip().lower()
            if not _MEDIA_RANGE.match(media):
                raise ValueError(
                    f"{value!r} is not a media type like `image/png` or `image/*`"
                )
            cleaned.append(media)
        return cleaned

    @field_validator(
        "S3_ENDPOINT_URL",
        "S3_PUBLIC_ENDPOINT_URL",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
        "S3_ADDRESSING_STYLE",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("S3_ENDPOINT_URL", "S3_PUBLIC_ENDPOINT_URL")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} must start with http:// or https://")
        return url.rstrip("/") if url is not None else None

    @field_validator("S3_BUCKET")
    @classmethod
    def _check_bucket(cls, bucket: str) -> str:
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise ValueError(
                f"{bucket!r} is not a valid bucket name: 3 to 63 lower-case letters, "
                "digits, dots and hyphens, starting and ending with a letter or digit"
            )
        return bucket

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> "StorageSettings":
        if (self.S3_ACCESS_KEY_ID is None) != (self.S3_SECRET_ACCESS_KEY is None):
            raise ValueError(
                "set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither (to "
                "use the AWS credential chain)"
            )
        return self

    @property
    def addressing_style(self) -> Literal["auto", "path", "virtual"]:
        if self.S3_ADDRESSING_STYLE is not None:
            return self.S3_ADDRESSING_STYLE
        return "path" if self.S3_ENDPOINT_URL else "auto"


@cache
def get_storage_settings() -> StorageSettings:
    """The process's storage settings, read once."""
    return load_settings(StorageSettings)
