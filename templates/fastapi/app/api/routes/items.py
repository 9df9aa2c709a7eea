"""CRUD for the example resource, with filtering, sorting and pagination.

Reads are open to all; writes need the permission `items:write` when a feature
authenticates requests (auth), and are open to all when none does.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import SessionDep
from app.core.errors import NotFoundError
from app.core.openapi import error_responses
from app.core.principal import require_permission
from app.models import Item
from app.schemas.common import Page
from app.schemas.item import ItemCreate, ItemListParams, ItemRead, ItemUpdate

router = APIRouter(prefix="/items", tags=["items"])

# 401 without credentials, 403 without the permission (only when auth is enabled).
WRITE_PERMISSION = "items:write"
_WRITE_CHECK = [Depends(require_permission(WRITE_PERMISSION))]
_WRITE_ERRORS = error_responses(status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN)

_SORT_COLUMNS = {
    "name": Item.name,
    "price": Item.price,
    "created_at": Item.created_at,
}


async def _get_or_404(session: AsyncSession, item_id: uuid.UUID) -> Item:
    item = await session.get(Item, item_id)
    if item is None:
        raise NotFoundError("Item not found.")
    return item


@router.get("")
async def list_items(
    session: SessionDep, params: Annotated[ItemListParams, Query()]
) -> Page[ItemRead]:
    filters: list[ColumnElement[bool]] = []
    if params.name:
        filters.append(Item.name.icontains(params.name, autoescape=True))
    if params.min_price is not None:
        filters.append(Item.price >= params.min_price)
    if params.max_price is not None:
        filters.append(Item.price <= params.max_price)

    column = _SORT_COLUMNS[params.sort.removeprefix("-")]
    order = column.desc() if params.sort.startswith("-") else column.asc()

    total = await session.scalar(select(func.count()).select_from(Item).where(*filters))
    rows = await session.scalars(
        select(Item)
        .where(*filters)
        .order_by(order, Item.id)  # the id keeps pages stable when values tie
        .offset(params.offset)
        .limit(params.limit)
    )
    return Page[ItemRead](
        items=[ItemRead.model_validate(item) for item in rows],
        total=total or 0,
        offset=params.offset,
        limit=params.limit,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=_WRITE_CHECK,
    responses=_WRITE_ERRORS,
)
async def create_item(session: SessionDep, payload: ItemCreate) -> ItemRead:
    item = Item(**payload.model_dump())
    session.add(item)
    await session.commit()
    return ItemRead.model_validate(item)


@router.get("/{item_id}")
async def read_item(session: SessionDep, item_id: uuid.UUID) -> ItemRead:
    return ItemRead.model_validate(await _get_or_404(session, item_id))


@router.patch("/{item_id}", dependencies=_WRITE_CHECK, responses=_WRITE_ERRORS)
async def update_item(
    session: SessionDep, item_id: uuid.UUID, payload: ItemUpdate
) -> ItemRead:
    item = await _get_or_404(session, item_id)
    for field, value in payload.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    await session.commit()
    return ItemRead.model_validate(item)


@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=_WRITE_CHECK,
    responses=_WRITE_ERRORS,
)
async def delete_item(session: SessionDep, item_id: uuid.UUID) -> None:
    item = await _get_or_404(session, item_id)
    await session.delete(item)
    await session.commit()
