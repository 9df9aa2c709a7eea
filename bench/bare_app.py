"""(a) of the app benchmark: a bare FastAPI app doing the same work as the template's
`GET /health/live` and `GET /api/v1/items`, written by hand without the template's
settings, logging, middleware, error handlers or feature registry.

Same route shapes and response bodies, same validated query parameters, the same two
queries (count, then one page ordered by `created_at` and `id`) through SQLAlchemy
async with asyncpg, the same engine and pool settings, one session per request.
Run from the generated project's environment: `uvicorn bare_app:app --app-dir bench`
with DATABASE_URL set.
"""

import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from fastapi import Depends, FastAPI, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, DateTime, Numeric, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

engine = create_async_engine(
    os.environ["DATABASE_URL"],
    pool_size=5,
    max_overflow=10,
    pool_pre_ping=True,
    connect_args={"server_settings": {"application_name": "bare"}},
)
sessionmaker = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


T = TypeVar("T")


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    value.encode("utf-8")
    return value


Price = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    AfterValidator(lambda p: p.quantize(Decimal("0.01"))),
]


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    description: str | None
    price: Decimal
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class ItemListParams(BaseModel):
    name: Annotated[str, AfterValidator(_storable), Field(max_length=200)] | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    sort: Literal["name", "-name", "price", "-price", "created_at", "-created_at"] = "-created_at"
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    limit: Annotated[int, Field(ge=1, le=100)] = 20


SORT = {"name": Item.name, "price": Item.price, "created_at": Item.created_at}


async def get_session() -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


app = FastAPI()


@app.get("/health/live")
async def live() -> Liveness:
    return Liveness()


@app.get("/api/v1/items")
async def list_items(
    session: Annotated[AsyncSession, Depends(get_session)],
    params: Annotated[ItemListParams, Query()],
) -> Page[ItemRead]:
    filters: list[ColumnElement[bool]] = []
    if params.name:
        filters.append(Item.name.icontains(params.name, autoescape=True))
    if params.min_price is not None:
        filters.append(Item.price >= params.min_price)
    if params.max_price is not None:
        filters.append(Item.price <= params.max_price)
    column = SORT[params.sort.removeprefix("-")]
    order = column.desc() if params.sort.startswith("-") else column.asc()
    total = await session.scalar(select(func.count()).select_from(Item).where(*filters))
    rows = await session.scalars(
        select(Item).where(*filters).order_by(order, Item.id).offset(params.offset).limit(params.limit)
    )
    return Page[ItemRead](
        items=[ItemRead.model_validate(item) for item in rows],
        total=total or 0,
        offset=params.offset,
        limit=params.limit,
    )
