"""Building blocks shared by the schemas."""

from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel

T = TypeVar("T")


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and UTF-8 cannot encode lone surrogates
    # (JSON allows "\ud800"): reject both here, as a 422, not later as a 500.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


# A string PostgreSQL can store: use it for every text field and query parameter.
SafeStr = Annotated[str, AfterValidator(_storable)]


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total number of matches."""

    items: list[T]
    total: int
    offset: int
    limit: int
