from fastapi import FastAPI

from app.features import FEATURES
from app.main import app, create_app


def test_the_module_level_app_is_built_with_the_enabled_features() -> None:
    assert isinstance(app, FastAPI)
    assert [feature.name for feature in app.state.features] == [
        feature.name for feature in FEATURES
    ]
    assert "database" in app.state.health_checks


def test_openapi_lists_the_routes() -> None:
    paths = create_app().openapi()["paths"]
    assert {"/health/live", "/health/ready", "/api/v1/items"} <= set(paths)
