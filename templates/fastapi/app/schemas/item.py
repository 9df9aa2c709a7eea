import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.schemas.common import SafeStr

Name = Annotated[SafeStr, Field(min_length=1, max_length=200)]
Description = Annotated[SafeStr, Field(max_length=2000)]
CENT = Decimal("0.01")
Price = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    AfterValidator(lambda price: price.quantize(CENT)),  # 12.5 -> 12.50
]

# Sort by a whitelisted field; a leading `-` sorts descending.
ItemSort = Literal["name", "-name", "price", "-price", "created_at", "-created_at"]

MAX_PAGE_SIZE = 100
MAX_OFFSET = 1_000_000


class ItemCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: Name
    description: Description | None = None
    price: Price


class ItemUpdate(BaseModel):
    """A partial update: only the fields sent are changed."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: Name | None = None
    description: Description | None = None
    price: Price | None = None

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> Self:
        for field in ("name", "price"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    price: Decimal
    created_at: datetime
    updated_at: datetime


class ItemListParams(BaseModel):
    """Query parameters of `GET /items`."""

    name: Annotated[
        SafeStr | None,
        Field(max_length=200, description="Case-insensitive part of the name"),
    ] = None
    min_price: Annotated[Price | None, Field(description="Lowest price")] = None
    max_price: Annotated[Price | None, Field(description="Highest price")] = None
    sort: ItemSort = "-created_at"
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = 20

    @model_validator(mode="after")
    def _price_range(self) -> Self:
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError("min_price must not be greater than max_price")
        return self
