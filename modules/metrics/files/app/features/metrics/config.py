"""Settings of the metrics feature: environment variables `METRICS_*`."""

from functools import cache
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from app.core.config import Environment, FeatureSettings, load_settings, split_list

# Production refuses a METRICS_BEARER_TOKEN shorter than this.
MIN_TOKEN_LENGTH = 32

# Upper bounds (seconds) of the latency histogram's buckets: prometheus_client's
# defaults, which suit an API whose requests take milliseconds to seconds.
DEFAULT_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)


class MetricsSettings(FeatureSettings):
    # false: no request metrics are recorded and `/metrics` answers 404.
    METRICS_ENABLED: bool = True
    # When set, `/metrics` requires `Authorization: Bearer <token>` (give the same
    # token to Prometheus: `authorization: {credentials: ...}` in its scrape config).
    # Empty: no authentication, which production refuses while metrics are enabled.
    METRICS_BEARER_TOKEN: SecretStr | None = None
    # Request paths left out of the request metrics (exact match), such as the
    # scrape itself and the probes.
    METRICS_EXCLUDE_PATHS: Annotated[list[str], NoDecode] = ["/metrics"]
    # Upper bounds of the latency histogram's buckets, in seconds.
    METRICS_BUCKETS: Annotated[list[float], NoDecode, Field(min_length=1)] = list(
        DEFAULT_BUCKETS
    )
    # Also expose prometheus_client's global registry: process (CPU, memory, open
    # files) and Python runtime metrics, and any metric your code registers there.
    METRICS_PROCESS: bool = True

    # Read from the same variable as the base settings, for the check below.
    ENVIRONMENT: Environment = "local"

    @field_validator("METRICS_EXCLUDE_PATHS", "METRICS_BUCKETS", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("METRICS_BEARER_TOKEN", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # `METRICS_BEARER_TOKEN=` in `.env` means no token.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("METRICS_EXCLUDE_PATHS")
    @classmethod
    def _check_paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"path {path!r} must start with /")
        return paths

    @field_validator("METRICS_BUCKETS")
    @classmethod
    def _check_buckets(cls, buckets: list[float]) -> list[float]:
        if any(bound <= 0 for bound in buckets):
            raise ValueError("bucket bounds must be positive")
        return sorted(set(buckets))

    @model_validator(mode="after")
    def _token_in_production(self) -> "MetricsSettings":
        if self.ENVIRONMENT != "production" or not self.METRICS_ENABLED:
            return self
        token = self.METRICS_BEARER_TOKEN
        if token is None or len(token.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(
                "production requires METRICS_BEARER_TOKEN (at least "
                f"{MIN_TOKEN_LENGTH} characters; give Prometheus the same) while "
                "METRICS_ENABLED is true: /metrics would tell anyone your routes, "
                "traffic and database pool. Generate one with `python -c 'import "
                "secrets; print(secrets.token_urlsafe(32))'`, or set "
                "METRICS_ENABLED=false"
            )
        return self


@cache
def get_metrics_settings() -> MetricsSettings:
    """The feature's settings, read once."""
    return load_settings(MetricsSettings)
