"""(a) of the app benchmark: a bare FastAPI app doing the same work as the template's
`GET /health/live`, `GET /health/ready`, `GET /api/v1/items` (list), `GET
/api/v1/items/{id}` and `POST /api/v1/items`, written by hand without the template's
settings, logging, middleware, error handlers or feature registry.

Same route shapes and response bodies, same validated query parameters and body, the
same queries (list: count, then one page ordered by `created_at` and `id`; get: by
primary key; create: one insert and commit; ready: `SELECT 1`, its result reused for
a second as the template's probe does) through SQLAlchemy async with asyncpg, the same
engine and pool settings, one session per request; the routes in the template's
order, and no documentation routes (the template's production settings turn them off).
Run from the generated project's environment: `uvicorn bare_app:app --app-dir bench`
with DATABASE_URL set.
"""

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, DateTime, Numeric, String, Text, func, select, text
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))


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


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


class ItemCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]
    description: Annotated[str, Field(max_length=2000), AfterValidator(_storable)] | None = None
    price: Price


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


# Like the template under its production settings (what the benchmark runs): no
# /docs, /redoc or /openapi.json routes, which the router would try before every route.
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/health/live")
async def live() -> Liveness:
    return Liveness()


# The readiness result, reused for a second (HEALTH_CHECK_CACHE_SECONDS' default).
_ready: dict[str, float | str] = {"at": -1.0, "state": "error"}
_ready_lock = asyncio.Lock()


async def _database_state() -> str:
    if time.monotonic() - float(_ready["at"]) < 1.0:
        return str(_ready["state"])
    async with _ready_lock:
        if time.monotonic() - float(_ready["at"]) >= 1.0:
            try:
                async with engine.connect() as connection:
                    await asyncio.wait_for(connection.execute(text("SELECT 1")), 2.0)
                _ready["state"] = "ok"
            except Exception:
                _ready["state"] = "error"
            _ready["at"] = time.monotonic()
    return str(_ready["state"])


@app.get("/health/ready")
async def ready(response: Response) -> Readiness:
    state = await _database_state()
    response.headers["Cache-Control"] = "no-store"
    if state == "ok":
        return Readiness(status="ok", checks={"database": state})
    response.status_code = 503
    return Readiness(status="unavailable", checks={"database": state})


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


@app.post("/api/v1/items", status_code=201)
async def create_item(session: Annotated[AsyncSession, Depends(get_session)], payload: ItemCreate) -> ItemRead:
    item = Item(id=uuid.uuid4(), **payload.model_dump())
    session.add(item)
    await session.commit()
    return ItemRead.model_validate(item)


@app.get("/api/v1/items/{item_id}")
async def read_item(session: Annotated[AsyncSession, Depends(get_session)], item_id: uuid.UUID) -> ItemRead:
    item = await session.get(Item, item_id)
    if item is None:
        raise HTTPException(404, "Item not found.")
    return ItemRead.model_validate(item)
