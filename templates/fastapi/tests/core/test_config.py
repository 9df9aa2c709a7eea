from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import (
    DEFAULT_SECRET_KEY,
    ConfigurationError,
    Settings,
    load_settings,
)
from app.core.security import generate_secret_key


@pytest.mark.parametrize("key", [DEFAULT_SECRET_KEY, "short", "x" * 31])
def test_production_refuses_a_weak_secret_key(key: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(ENVIRONMENT="production", SECRET_KEY=key)


def test_production_refuses_the_default_secret_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError) as error:
        load_settings(Settings)
    assert "SECRET_KEY" in str(error.value)
    assert DEFAULT_SECRET_KEY not in str(error.value)


def test_errors_never_show_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "hunter2-is-a-weak-password")
    with pytest.raises(ConfigurationError) as error:
        load_settings(Settings)
    assert "hunter2" not in str(error.value)


def test_production_accepts_a_strong_secret_key() -> None:
    key = generate_secret_key()
    settings = Settings(ENVIRONMENT="production", SECRET_KEY=key)
    assert settings.is_production
    assert settings.SECRET_KEY.get_secret_value() == key
    assert key not in repr(settings)


def test_weak_keys_are_fine_outside_production() -> None:
    assert Settings(ENVIRONMENT="local", SECRET_KEY="dev").ENVIRONMENT == "local"


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(ENVIRONMENT="staging")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://a.example.com, https://b.example.com/", None),
        ('["https://a.example.com", "https://b.example.com"]', None),
        ("", []),
    ],
)
def test_cors_origins_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str] | None
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", raw)
    settings = Settings()
    assert settings.CORS_ORIGINS == (
        ["https://a.example.com", "https://b.example.com"]
        if expected is None
        else expected
    )


def test_cors_origins_need_a_scheme() -> None:
    with pytest.raises(ValidationError, match="http"):
        Settings(CORS_ORIGINS=["example.com"])


def test_trusted_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_HOSTS", "api.example.com,*.example.com")
    assert Settings().TRUSTED_HOSTS == ["api.example.com", "*.example.com"]
    with pytest.raises(ValidationError):
        Settings(TRUSTED_HOSTS=[])


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:p@db:5432/app",
        "postgresql://u:p@db:5432/app",
        "postgresql+asyncpg://u:p@db:5432/app",
    ],
)
def test_database_url_uses_asyncpg(url: str) -> None:
    assert Settings(DATABASE_URL=url).DATABASE_URL == (
        "postgresql+asyncpg://u:p@db:5432/app"
    )


def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert Settings().LOG_LEVEL == "DEBUG"


def test_what_paxx_compose_up_wrote_is_read_below_dotenv_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `.paxx/env` as `paxx-compose up` writes it: shell `export` lines.
    (tmp_path / ".paxx").mkdir()
    (tmp_path / ".paxx" / "env").write_text(
        "export DATABASE_URL='postgresql+asyncpg://app:app@127.0.0.1:50001/app'\n"
        "export LOG_LEVEL='WARNING'\n"
        "export HEALTH_CHECK_TIMEOUT='3.5'\n"
    )
    (tmp_path / ".env").write_text("LOG_LEVEL=ERROR\nHEALTH_CHECK_TIMEOUT=4\n")
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HEALTH_CHECK_TIMEOUT", "5")
    settings = Settings()
    assert settings.DATABASE_URL.endswith("@127.0.0.1:50001/app")
    assert settings.LOG_LEVEL == "ERROR"
    assert settings.HEALTH_CHECK_TIMEOUT == 5.0
