"""Building blocks shared by the schemas.

The OpenAPI document is a contract: what its schema of a field accepts, the app
accepts, and what the app refuses, the schema excludes. So each rule a validator
enforces is also published, as a pattern the validator itself applies (pydantic's
regular expressions read them as JSON Schema's do).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

T = TypeVar("T")

# The characters `str_strip_whitespace` strips (Unicode's White_Space), spelled out
# so that every regular expression dialect reads the patterns below the same way.
WHITESPACE = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Text without NUL (PostgreSQL cannot store it).
NO_NUL_PATTERN = r"^[^\x00]*$"
# The same, with at least one character that is not whitespace.
NOT_BLANK_PATTERN = rf"^[^\x00]*[^\x00{WHITESPACE}][^\x00]*$"


def storable(value: str) -> str:
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
# A string with a pattern of its own is `Annotated[str, Field(pattern=...),
# AfterValidator(storable)]`, its pattern built on NO_NUL_PATTERN.
SafeStr = Annotated[str, Field(pattern=NO_NUL_PATTERN), AfterValidator(storable)]


def json_number(value: Any) -> Any:
    """Refuse what pydantic's lax mode would take for a number and JSON Schema does
    not: `true`, `"3"`. For the numbers of a JSON body (a query parameter is text):

        count: Annotated[int, Field(ge=0), BeforeValidator(json_number)]

    (last, so that the constraints before it are published as they are).
    """
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


@dataclass(frozen=True)
class DecimalString:
    """A non-negative decimal sent as a JSON string, `"19.90"`: at most `digits`
    digits before the point and `places` after it, returned with exactly `places`.

        Price = Annotated[Decimal, DecimalString(digits=10, places=2)]

    A JSON number is refused: it may have lost a cent to floating point already.
    """

    digits: int
    places: int

    @property
    def pattern(self) -> str:
        return rf"^[0-9]{{1,{self.digits}}}(\.[0-9]{{1,{self.places}}})?$"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        quantum = Decimal(1).scaleb(-self.places)

        def to_decimal(text: str) -> Decimal:
            return Decimal(text).quantize(quantum)  # "12.5" -> 12.50

        return core_schema.no_info_after_validator_function(
            to_decimal,
            # Strict: no number, and no whitespace stripped whatever the model says.
            core_schema.str_schema(
                pattern=self.pattern, strict=True, strip_whitespace=False
            ),
            serialization=core_schema.to_string_ser_schema(),
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        example = "1" * min(self.digits, 2) + "." + "9" * self.places
        return {"type": "string", "pattern": self.pattern, "examples": [example]}


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total number of matches."""

    items: list[T]
    total: int
    offset: int
    limit: int
