from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from app.core.principal import Principal, authenticate

URL = "/api/v1/items"


async def _item_writer() -> Principal:
    return Principal("user:items-tests", frozenset({"items:write"}))


@pytest.fixture
async def client(make_app: Callable[..., FastAPI]) -> AsyncIterator[AsyncClient]:
    """The default application, each request made by a principal allowed to write
    items (which matters when a feature, auth, authenticates requests: the checks
    themselves are tested in tests/core/test_principal.py)."""
    app = make_app()
    app.dependency_overrides[authenticate] = _item_writer
    async with (
        app.router.lifespan_context(app),
        AsyncClient(
            transport=ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        yield client


async def create(client: AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Widget", "price": "9.99"} | fields
    response = await client.post(URL, json=body)
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


@pytest.fixture
async def catalog(client: AsyncClient) -> list[dict[str, Any]]:
    """Five items, created in this order."""
    return [
        await create(client, name=name, price=price)
        for name, price in [
            ("Apple", "1.50"),
            ("Banana", "0.25"),
            ("Cherry pie", "12.00"),
            ("Apple pie", "8.75"),
            ("100% juice", "3.10"),
        ]
    ]


# --- create, read, update, delete -------------------------------------------------


async def test_create_and_read(client: AsyncClient) -> None:
    item = await create(client, name="  Gadget ", description="Shiny", price="12.5")
    assert item["name"] == "Gadget"
    assert item["description"] == "Shiny"
    assert item["price"] == "12.50"
    assert item["updated_at"] >= item["created_at"]

    response = await client.get(f"{URL}/{item['id']}")
    assert response.status_code == 200
    assert response.json() == item


async def test_update_changes_only_the_fields_sent(client: AsyncClient) -> None:
    item = await create(client, description="Old")
    response = await client.patch(f"{URL}/{item['id']}", json={"price": "5"})
    assert response.status_code == 200
    updated = response.json()
    assert updated["price"] == "5.00"
    assert updated["name"] == item["name"]
    assert updated["description"] == "Old"
    assert updated["updated_at"] > item["updated_at"]

    response = await client.patch(f"{URL}/{item['id']}", json={"description": None})
    assert response.json()["description"] is None


async def test_update_refuses_null_for_required_fields(client: AsyncClient) -> None:
    item = await create(client)
    response = await client.patch(f"{URL}/{item['id']}", json={"name": None})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_delete(client: AsyncClient) -> None:
    item = await create(client)
    response = await client.delete(f"{URL}/{item['id']}")
    assert response.status_code == 204
    assert response.content == b""
    response = await client.get(f"{URL}/{item['id']}")
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_missing_item_is_404(client: AsyncClient, method: str) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
    response = await client.request(method, f"{URL}/{missing}", **kwargs)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"] == "Item not found."
    assert error["request_id"] == response.headers["x-request-id"]


# --- bad input is a 422, never a 500 -------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"price": "1.00"},  # no name
        {"name": "", "price": "1.00"},
        {"name": "   ", "price": "1.00"},
        {"name": "x" * 201, "price": "1.00"},
        {"name": "nul\u0000byte", "price": "1.00"},
        {"name": "Widget", "description": "d" * 2001, "price": "1.00"},
        {"name": "Widget", "price": "-1"},
        {"name": "Widget", "price": "1.001"},
        {"name": "Widget", "price": "NaN"},
        {"name": "Widget", "price": "Infinity"},
        {"name": "Widget", "price": "1e20"},
        {"name": "Widget", "price": "cheap"},
        {"name": "Widget", "price": ""},
        {"name": "Widget", "price": " 1.00"},
        {"name": "Widget", "price": "12345678901"},  # 11 digits before the point
        {"name": "Widget", "price": "+1"},
        {"name": "Widget", "price": 12.5},  # a JSON number may have lost a cent
        {"name": "\u3000\x85", "price": "1.00"},  # only whitespace
        {"name": ["Widget"], "price": "1.00"},
        {"name": "Widget", "price": "1.00", "owner": "me"},  # unknown field
        [],
    ],
)
async def test_invalid_bodies_are_422(client: AsyncClient, body: Any) -> None:
    response = await client.post(URL, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "content",
    [
        b'{"name": ',
        b'{"name": "lone \\ud800 surrogate", "price": "1.00"}',
        b'{"name": "Widget", "price": NaN}',
        b"\xff\xfe",
    ],
)
async def test_malformed_json_is_422(client: AsyncClient, content: bytes) -> None:
    response = await client.post(
        URL, content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text


async def test_body_that_is_not_utf8_is_400(client: AsyncClient) -> None:
    response = await client.post(
        URL,
        content=b'{"name": "\xc3\x28"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
async def test_body_in_another_media_type_is_415(
    client: AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(
        URL, content=b'{"name": "Widget", "price": "1.00"}', headers=headers
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_json_media_types_with_parameters_are_json(client: AsyncClient) -> None:
    response = await client.post(
        URL,
        content=b'{"name": "Widget", "price": "1.00"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


@pytest.mark.parametrize("item_id", ["not-a-uuid", "1", "9" * 50, "%00"])
async def test_malformed_ids_are_422(client: AsyncClient, item_id: str) -> None:
    response = await client.get(f"{URL}/{item_id}")
    assert response.status_code == 422


# --- list: filter, sort, paginate ---------------------------------------------


def names(response_json: dict[str, Any]) -> list[str]:
    return [item["name"] for item in response_json["items"]]


async def test_list_defaults_to_newest_first(
    client: AsyncClient, catalog: list[dict[str, Any]]
) -> None:
    response = await client.get(URL)
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 5
    assert page["offset"] == 0
    assert page["limit"] == 20
    assert names(page) == [item["name"] for item in reversed(catalog)]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["100% juice", "Apple", "Apple pie", "Banana", "Cherry pie"]),
        ("-price", ["Cherry pie", "Apple pie", "100% juice", "Apple", "Banana"]),
        ("price", ["Banana", "Apple", "100% juice", "Apple pie", "Cherry pie"]),
        ("created_at", ["Apple", "Banana", "Cherry pie", "Apple pie", "100% juice"]),
    ],
)
async def test_sort(
    client: AsyncClient,
    catalog: list[dict[str, Any]],
    sort: str,
    expected: list[str],
) -> None:
    response = await client.get(URL, params={"sort": sort})
    assert response.status_code == 200
    assert names(response.json()) == expected


@pytest.mark.parametrize("sort", ["id", "description", "-", "name;drop", "NAME"])
async def test_sort_outside_the_whitelist_is_422(
    client: AsyncClient, sort: str
) -> None:
    response = await client.get(URL, params={"sort": sort})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["query", "sort"]


async def test_filter_by_name_ignores_case(
    client: AsyncClient, catalog: list[dict[str, Any]]
) -> None:
    response = await client.get(URL, params={"name": "PIE", "sort": "name"})
    assert names(response.json()) == ["Apple pie", "Cherry pie"]
    assert response.json()["total"] == 2


async def test_filter_by_name_treats_wildcards_literally(
    client: AsyncClient, catalog: list[dict[str, Any]]
) -> None:
    response = await client.get(URL, params={"name": "%"})
    assert names(response.json()) == ["100% juice"]
    response = await client.get(URL, params={"name": "_"})
    assert response.json()["total"] == 0


async def test_filter_by_price_range(
    client: AsyncClient, catalog: list[dict[str, Any]]
) -> None:
    response = await client.get(
        URL, params={"min_price": "1.50", "max_price": "8.75", "sort": "price"}
    )
    assert names(response.json()) == ["Apple", "100% juice", "Apple pie"]
    response = await client.get(URL, params={"min_price": "10"})
    assert names(response.json()) == ["Cherry pie"]


async def test_filters_combine(
    client: AsyncClient, catalog: list[dict[str, Any]]
) -> None:
    response = await client.get(URL, params={"name": "apple", "max_price": "5"})
    assert names(response.json()) == ["Apple"]


async def test_price_range_upside_down_matches_nothing(
    client: AsyncClient, catalog: list[dict[str, Any]]
) -> None:
    # No OpenAPI schema can say min_price <= max_price: not an error, no match.
    response = await client.get(URL, params={"min_price": "5", "max_price": "1"})
    assert response.status_code == 200
    assert response.json()["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"min_price": "-1"},
        {"min_price": ""},
        {"max_price": "1.5e3"},
        {"max_price": "lots"},
        {"name": "x" * 201},
        {"name": "nul\u0000"},
    ],
)
async def test_invalid_filters_are_422(
    client: AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get(URL, params=params)
    assert response.status_code == 422


async def test_pagination(client: AsyncClient, catalog: list[dict[str, Any]]) -> None:
    seen: list[str] = []
    for offset in range(0, 6, 2):
        response = await client.get(
            URL, params={"sort": "price", "offset": offset, "limit": 2}
        )
        page = response.json()
        assert page["total"] == 5
        assert page["offset"] == offset
        assert page["limit"] == 2
        seen += names(page)
    assert seen == ["Banana", "Apple", "100% juice", "Apple pie", "Cherry pie"]


async def test_offset_past_the_end_gives_an_empty_page(
    client: AsyncClient, catalog: list[dict[str, Any]]
) -> None:
    response = await client.get(URL, params={"offset": 50})
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert response.json()["total"] == 5


async def test_empty_list(client: AsyncClient) -> None:
    response = await client.get(URL)
    assert response.json() == {"items": [], "total": 0, "offset": 0, "limit": 20}


async def test_limit_may_reach_the_cap(client: AsyncClient) -> None:
    response = await client.get(URL, params={"limit": 100})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 0},
        {"limit": -1},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": 10**30},
    ],
)
async def test_out_of_range_pagination_is_422(
    client: AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get(URL, params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
