"""Collects the versioned API's routers. Add a router here when you add a resource."""

from fastapi import APIRouter

from app.api.routes import items
from app.core.config import API_V1_PREFIX

api_router = APIRouter(prefix=API_V1_PREFIX)
api_router.include_router(items.router)
