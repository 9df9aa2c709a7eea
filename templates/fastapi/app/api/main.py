"""The versioned API's routers. Add a router here when you add a resource.

`create_app` includes each one in the application under `API_V1_PREFIX`, side by side
rather than inside one router of the version: FastAPI matches every level of included
routers on each request, so one level fewer is less work on every API call.
"""

from fastapi import APIRouter

from app.api.routes import items

API_ROUTERS: list[APIRouter] = [items.router]
