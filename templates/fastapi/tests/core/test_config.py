import secrets
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.core.config import (
    DEFAULT_SECRET_KEY,
    ConfigurationError,
    Settings,
    load_settings,
)
from app.core.security import generate_secret_key
from tests.conftest import PRODUCTION


@pytest.fixture
def no_env_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run where no `.env` is, so only the environment counts."""
    monkeypatch.chdir(tmp_path)
    for name in ("SECRET_KEY", "TRUSTED_HOSTS", "PUBLIC_BASE_URL", "CORS_ORIGINS"):
        monkeypatch.delenv(name, raising=False)


def production(**overrides: Any) -> Settings:
    return Settings(**(PRODUCTION | overrides))


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (DEFAULT_SECRET_KEY, "the published development key"),
        ("short", "shorter than 32"),
        ("x" * 31, "shorter than 32"),
        ("a" * 32, "repeats a pattern"),
        ("0123456789abcdef" * 2, "repeats a pattern"),
        (" " * 40, "whitespace"),
        ("\t" + generate_secret_key(), "whitespace"),
        (generate_secret_key()[:20] + " " + generate_secret_key()[:20], "whitespace"),
        ("ab" * 15 + "ba" * 2, "not random enough"),
        ("", "not set"),
    ],
)
def test_production_refuses_a_weak_secret_key(key: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=rf"SECRET_KEY (\w+ )?{problem}"):
        production(SECRET_KEY=key)


@pytest.mark.usefixtures("no_env_files")
def test_production_refuses_a_missing_secret_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ConfigurationError) as error:
        load_settings(Settings)
    assert "SECRET_KEY is not set" in str(error.value)


def test_errors_never_show_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "hunter2-is-a-weak-password")
    with pytest.raises(ConfigurationError) as error:
        load_settings(Settings)
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize(
    "make_key",
    [generate_secret_key, lambda: secrets.token_hex(32), lambda: secrets.token_hex(16)],
)
def test_production_accepts_random_keys(make_key: Any) -> None:
    for _ in range(200):
        key = make_key()
        settings = production(SECRET_KEY=key)
        assert settings.is_production
        assert settings.SECRET_KEY.get_secret_value() == key
        assert key not in repr(settings)


def test_weak_keys_are_fine_outside_production() -> None:
    assert Settings(ENVIRONMENT="local", SECRET_KEY="dev").ENVIRONMENT == "local"


@pytest.mark.usefixtures("no_env_files")
def test_without_a_key_each_process_makes_one_up() -> None:
    """No published default: an unset key is a random one, for this process only."""
    first, second = Settings(ENVIRONMENT="local"), Settings(SECRET_KEY=" ")
    key = first.SECRET_KEY.get_secret_value()
    assert len(key) >= 64 and key != DEFAULT_SECRET_KEY
    assert second.SECRET_KEY.get_secret_value() == key
    assert first.secret_key_is_temporary
    assert not Settings(SECRET_KEY=generate_secret_key()).secret_key_is_temporary


def test_the_projects_env_holds_its_own_key() -> None:
    """`paxx-compose new`/`init` wrote a key for this project alone to `.env`."""
    env = Path(__file__).resolve().parents[2] / ".env"
    if not env.is_file():
        pytest.skip(
            f"no {env}: made by `nix flake init -t` without `paxx-compose init`"
        )
    keys = [
        line.removeprefix("SECRET_KEY=")
        for line in env.read_text().splitlines()
        if line.startswith("SECRET_KEY=")
    ]
    assert keys, f"{env} sets no SECRET_KEY"
    production(SECRET_KEY=keys[-1])  # strong enough for production, even


def test_cors_any_origin_with_credentials_is_refused() -> None:
    """`*` plus credentials would let any site call the API as the user."""
    with pytest.raises(ValidationError, match="CORS_ALLOW_CREDENTIALS=false"):
        Settings(CORS_ORIGINS="*")
    settings = Settings(CORS_ORIGINS="*", CORS_ALLOW_CREDENTIALS=False)
    assert settings.CORS_ORIGINS == ["*"]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"TRUSTED_HOSTS": ["*"]}, "TRUSTED_HOSTS must list"),
        ({"TRUSTED_HOSTS": ["api.example.com", "*"]}, "TRUSTED_HOSTS must list"),
        ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL must say"),
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL must say"),
    ],
)
def test_production_requires_hosts_and_a_public_url(
    overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        production(**overrides)


@pytest.mark.usefixtures("no_env_files")
def test_production_defaults_are_refused_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", generate_secret_key())
    with pytest.raises(ConfigurationError) as error:
        load_settings(Settings)
    assert "TRUSTED_HOSTS" in str(error.value)
    assert "PUBLIC_BASE_URL" in str(error.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com", "https://api.example.com"),
        ("https://api.example.com/", "https://api.example.com"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("api.example.com", None),
        ("ftp://api.example.com", None),
        ("https://api.example.com/v1", None),
        ("https://api.example.com/?a=1", None),
        ("https://user@api.example.com", None),
    ],
)
def test_public_base_url(url: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ValidationError, match="PUBLIC_BASE_URL"):
            Settings(PUBLIC_BASE_URL=url)
    else:
        assert Settings(PUBLIC_BASE_URL=url).PUBLIC_BASE_URL == expected


def test_docs_are_off_in_production_unless_enabled() -> None:
    assert Settings(ENVIRONMENT="local").docs_enabled
    assert not production().docs_enabled
    assert production(DOCS_ENABLED=True).docs_enabled
    assert not Settings(DOCS_ENABLED="false").docs_enabled
    assert Settings(DOCS_ENABLED="").docs_enabled


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
