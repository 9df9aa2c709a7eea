from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel

from app.core.features import Feature
from app.core.openapi import REF_PREFIX, error_responses
from app.main import create_app
from tests.conftest import ClientFactory

ERROR_SCHEMA = {"$ref": REF_PREFIX + "ErrorResponse"}


class Order(BaseModel):
    quantity: int


def orders_feature() -> Feature:
    router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

    @router.get("")
    async def list_orders(status: str | None = Query(None)) -> list[Order]:
        return []

    @router.post("", status_code=201, responses=error_responses(409))
    async def place_order(order: Order) -> Order:
        return order

    @router.get("/count")
    async def count_orders() -> int:
        return 0

    @router.get("/{order_id}")
    async def read_order(order_id: int) -> Order:
        return Order(quantity=order_id)

    return Feature(name="orders", router=router)


@pytest.fixture
def document(make_app: Callable[..., FastAPI]) -> dict[str, Any]:
    return make_app([orders_feature()]).openapi()


def errors_of(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses = document["paths"][path][method]["responses"]
    return {code: r for code, r in responses.items() if int(code) >= 400}


def test_each_operation_lists_the_errors_it_can_answer(
    document: dict[str, Any],
) -> None:
    base = "/api/v1/orders"
    assert set(errors_of(document, "get", base)) == {"422"}  # a parameter
    assert set(errors_of(document, "post", base)) == {"400", "409", "413", "415", "422"}
    assert set(errors_of(document, "get", base + "/{order_id}")) == {"404", "422"}
    assert errors_of(document, "get", base + "/count") == {}


def test_every_error_has_the_one_error_schema(document: dict[str, Any]) -> None:
    for path_item in document["paths"].values():
        for operation in path_item.values():
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    assert response["content"] == {
                        "application/json": {"schema": ERROR_SCHEMA}
                    }, (operation["operationId"], code)
                    assert response["description"]
    schemas = document["components"]["schemas"]
    assert "ErrorResponse" in schemas
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas


def test_other_documented_responses_keep_their_schema(
    document: dict[str, Any],
) -> None:
    unavailable = document["paths"]["/health/ready"]["get"]["responses"]["503"]
    schema = unavailable["content"]["application/json"]["schema"]
    assert schema == {"$ref": REF_PREFIX + "Readiness"}


def test_optional_parameters_are_not_published_as_null(
    document: dict[str, Any],
) -> None:
    (status,) = document["paths"]["/api/v1/orders"]["get"]["parameters"]
    assert status["schema"]["type"] == "string"
    assert "anyOf" not in status["schema"]


def test_operation_ids_are_the_route_names(document: dict[str, Any]) -> None:
    ids = [
        operation["operationId"]
        for path_item in document["paths"].values()
        for operation in path_item.values()
    ]
    assert {"list_orders", "place_order", "read_order", "list_items"} <= set(ids)
    assert len(ids) == len(set(ids))


def test_the_document_is_built_once() -> None:
    app = create_app()
    assert app.openapi() is app.openapi()


async def test_the_served_document_is_the_completed_one(
    make_client: ClientFactory,
) -> None:
    async with make_client([orders_feature()]) as client:
        served = (await client.get("/openapi.json")).json()
    assert "ErrorResponse" in served["components"]["schemas"]
    assert "409" in served["paths"]["/api/v1/orders"]["post"]["responses"]
