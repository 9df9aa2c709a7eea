"""The principal seam: one authenticator, checks on every principal, asked once."""

import pytest
from fastapi import APIRouter, HTTPException, Request

from app.core.features import Feature
from app.core.principal import (
    Authenticator,
    CurrentPrincipal,
    Principal,
    authenticate,
    principal_of,
)
from app.main import create_app
from tests.conftest import ClientFactory


def whoami_router() -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/whoami")
    async def whoami(
        request: Request, principal: CurrentPrincipal
    ) -> dict[str, str | None]:
        # A second ask within the request reuses the first answer.
        again = await authenticate(request)
        assert again is principal
        seen = principal_of(request)
        return {
            "id": principal.id if principal else None,
            "seen": seen.id if seen else None,
        }

    return router


def token_authenticator(calls: list[str]) -> Authenticator:
    async def authenticator(request: Request) -> Principal | None:
        calls.append("authenticate")
        token = request.headers.get("x-token")
        if token is None:
            return None
        if token != "good":
            raise HTTPException(401, "Bad token.")
        return Principal("user:7", frozenset({"items:write"}))

    return authenticator


async def test_without_an_authenticator_everyone_is_anonymous(
    make_client: ClientFactory,
) -> None:
    features = [Feature(name="who", router=whoami_router())]
    async with make_client(features) as client:
        response = await client.get("/api/v1/whoami", headers={"X-Token": "good"})
    assert response.json() == {"id": None, "seen": None}


async def test_the_authenticator_is_asked_once_and_checks_run(
    make_client: ClientFactory,
) -> None:
    calls: list[str] = []
    checked: list[str] = []

    async def refuse_user_7_twice(request: Request, principal: Principal) -> None:
        checked.append(principal.id)
        if len(checked) > 1:
            raise HTTPException(429, "Slow down.")

    features = [
        Feature(
            name="auth",
            router=whoami_router(),
            authenticator=token_authenticator(calls),
        ),
        Feature(name="limits", principal_checks=[refuse_user_7_twice]),
    ]
    async with make_client(features) as client:
        first = await client.get("/api/v1/whoami", headers={"X-Token": "good"})
        anonymous = await client.get("/api/v1/whoami")
        wrong = await client.get("/api/v1/whoami", headers={"X-Token": "bad"})
        second = await client.get("/api/v1/whoami", headers={"X-Token": "good"})
    assert first.json() == {"id": "user:7", "seen": "user:7"}
    assert anonymous.json() == {"id": None, "seen": None}
    assert wrong.status_code == 401
    assert second.status_code == 429
    # One ask per request, however many times the route asks.
    assert calls == ["authenticate"] * 4
    # Checks run on principals only, never on anonymous or refused requests.
    assert checked == ["user:7", "user:7"]


def test_two_authenticators_are_refused() -> None:
    calls: list[str] = []
    features = [
        Feature(name="auth", authenticator=token_authenticator(calls)),
        Feature(name="sso", authenticator=token_authenticator(calls)),
    ]
    with pytest.raises(ValueError, match="auth, sso"):
        create_app(features=features)


def test_a_superuser_can_do_anything() -> None:
    assert Principal("user:1", superuser=True).can("audit:read")
    assert not Principal("user:2", frozenset({"items:write"})).can("audit:read")
    assert Principal("user:2", frozenset({"items:write"})).can("items:write")


def items_writer_authenticator() -> Authenticator:
    """`X-Token: writer` may write items, `X-Token: reader` may not."""

    async def authenticator(request: Request) -> Principal | None:
        token = request.headers.get("x-token")
        if token is None:
            return None
        permissions = {"writer": {"items:write"}, "reader": set[str]()}.get(token)
        if permissions is None:
            raise HTTPException(401, "Bad token.")
        return Principal(f"user:{token}", frozenset(permissions))

    return authenticator


async def test_item_writes_need_the_permission_when_a_feature_authenticates(
    make_client: ClientFactory,
) -> None:
    features = [Feature(name="auth", authenticator=items_writer_authenticator())]
    body = {"name": "Lamp", "price": "19.90"}
    async with make_client(features) as client:
        anonymous = await client.post("/api/v1/items", json=body)
        reader = await client.post(
            "/api/v1/items", json=body, headers={"X-Token": "reader"}
        )
        writer = await client.post(
            "/api/v1/items", json=body, headers={"X-Token": "writer"}
        )
        item = writer.json()["id"]
        reader_delete = await client.delete(
            f"/api/v1/items/{item}", headers={"X-Token": "reader"}
        )
        anonymous_patch = await client.patch(
            f"/api/v1/items/{item}", json={"price": "1"}
        )
        anonymous_read = await client.get(f"/api/v1/items/{item}")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["error"]["code"] == "unauthorized"
    assert reader.status_code == 403
    assert "items:write" in reader.json()["error"]["message"]
    assert writer.status_code == 201
    assert reader_delete.status_code == 403
    assert anonymous_patch.status_code == 401
    # Reads stay open.
    assert anonymous_read.status_code == 200


async def test_item_writes_are_open_when_no_feature_authenticates(
    make_client: ClientFactory,
) -> None:
    async with make_client([]) as client:
        created = await client.post(
            "/api/v1/items", json={"name": "Lamp", "price": "19.90"}
        )
    assert created.status_code == 201


def test_item_writes_document_401_and_403() -> None:
    document = create_app(features=[]).openapi()
    for method, path in [
        ("post", "/api/v1/items"),
        ("patch", "/api/v1/items/{item_id}"),
        ("delete", "/api/v1/items/{item_id}"),
    ]:
        assert {"401", "403"} <= set(document["paths"][path][method]["responses"])
    assert "401" not in document["paths"]["/api/v1/items"]["get"]["responses"]
