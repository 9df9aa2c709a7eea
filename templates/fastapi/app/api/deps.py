"""Typed dependencies for route signatures: `async def route(session: SessionDep)`."""

from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database, get_database, get_session


def get_app_settings(request: Request) -> Settings:
    """The settings the running application was created with."""
    return cast(Settings, request.app.state.settings)


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
