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
