import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.schemas.common import NOT_BLANK_PATTERN, DecimalString, SafeStr, storable

# Leading and trailing whitespace is stripped (model_config), so a name needs more.
Name = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=NOT_BLANK_PATTERN),
    AfterValidator(storable),
]
Description = Annotated[SafeStr, Field(max_length=2000)]
# "19.90": up to 10 digits before the point and 2 after; fits NUMERIC(12, 2).
Price = Annotated[Decimal, DecimalString(digits=10, places=2)]

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

    # Each may be left out, but only the description may be set to null.
    name: Name | SkipJsonSchema[None] = None
    description: Description | None = None
    price: Price | SkipJsonSchema[None] = None

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
    # A min_price above max_price is no error (no schema could say so): nothing matches.
