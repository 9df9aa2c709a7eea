"""SQLAlchemy models. Import every model here: Alembic reads `Base.metadata`."""

from app.models.base import Base
from app.models.item import Item

__all__ = ["Base", "Item"]
