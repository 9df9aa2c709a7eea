"""`websocket_server`: the feature on a real uvicorn server, with chosen settings."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import pytest
from fastapi import APIRouter, FastAPI

from app.features.websocket import (
    ConnectionManager,
    WebSocketSettings,
    create_feature,
)
from tests.features.websocket.servers import serve


@dataclass
class Server:
    url: str
    manager: ConnectionManager

    def room(self, name: str) -> str:
        """The URL that joins room `name`."""
        return f"{self.url}/api/v1/ws/{name}"

    @property
    def http_url(self) -> str:
        return "http" + self.url.removeprefix("ws")


ServerFactory = Callable[..., AbstractAsyncContextManager[Server]]


@pytest.fixture
def channel_prefix() -> str:
    """A Redis channel prefix of this test's own (used when redis is enabled)."""
    return f"test-{uuid.uuid4().hex}:"


@pytest.fixture
def websocket_server(
    make_app: Callable[..., FastAPI], channel_prefix: str
) -> ServerFactory:
    """`async with websocket_server(WEBSOCKET_MAX_ROOMS=2) as server`; `router=`
    adds routes of the test's own to the application, `app_settings=` changes the
    application's own settings."""

    @asynccontextmanager
    async def factory(
        router: APIRouter | None = None,
        app_settings: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> AsyncIterator[Server]:
        settings = WebSocketSettings(
            **({"WEBSOCKET_CHANNEL_PREFIX": channel_prefix} | overrides)
        )
        app = make_app([create_feature(settings)], **(app_settings or {}))
        if router is not None:
            app.include_router(router)
        async with serve(app) as url:
            manager = cast(ConnectionManager, app.state.websocket_manager)
            yield Server(url, manager)

    return factory
