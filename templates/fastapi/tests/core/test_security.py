import pytest
from httpx import AsyncClient

from app.core.security import API_CONTENT_SECURITY_POLICY, constant_time_equals
from tests.conftest import PRODUCTION, ClientFactory

ORIGIN = "https://app.example.com"


async def test_security_headers_on_api_responses(client: AsyncClient) -> None:
    for path in ("/health/live", "/api/v1/items", "/no/such/page"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"] == (
            API_CONTENT_SECURITY_POLICY
        )
        assert "strict-transport-security" not in response.headers


async def test_html_docs_keep_their_own_policy(client: AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "content-security-policy" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_hsts_in_production_only(make_client: ClientFactory) -> None:
    async with make_client(**PRODUCTION) as client:
        response = await client.get("/health/live")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_docs_are_off_in_production(make_client: ClientFactory) -> None:
    async with make_client(**PRODUCTION) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            assert (await client.get(path)).status_code == 404, path
    async with make_client(**PRODUCTION, DOCS_ENABLED=True) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code == 200, path


async def test_production_refuses_other_hosts(make_client: ClientFactory) -> None:
    async with make_client(**PRODUCTION) as client:
        response = await client.get("/api/v1/items/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("location", "")


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},
        {"Host": "testserver", "X-Forwarded-Host": "evil.example"},
        {"Host": "evil.example:8443", "X-Forwarded-Proto": "http"},
    ],
)
async def test_urls_come_from_the_public_base_url(
    make_client: ClientFactory, headers: dict[str, str]
) -> None:
    """A redirect built from the request's Host would send clients to any host; with
    PUBLIC_BASE_URL set the app builds every URL from it (TRUSTED_HOSTS is `*` here,
    so the Host header alone decides without it)."""
    async with make_client(PUBLIC_BASE_URL="https://api.example.com") as client:
        response = await client.get("/api/v1/items/", headers=headers)
    assert response.status_code == 307
    assert response.headers["location"] == "https://api.example.com/api/v1/items"


async def test_cors_any_origin_without_credentials(make_client: ClientFactory) -> None:
    async with make_client(CORS_ORIGINS=["*"], CORS_ALLOW_CREDENTIALS=False) as client:
        response = await client.get(
            "/api/v1/items", headers={"Origin": "https://evil.example.org"}
        )
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


async def test_cors_allows_configured_origins(make_client: ClientFactory) -> None:
    async with make_client(CORS_ORIGINS=[ORIGIN]) as client:
        preflight = await client.options(
            "/api/v1/items",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        simple = await client.get("/api/v1/items", headers={"Origin": ORIGIN})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_cors_ignores_other_origins(make_client: ClientFactory) -> None:
    async with make_client(CORS_ORIGINS=[ORIGIN]) as client:
        preflight = await client.options(
            "/api/v1/items",
            headers={
                "Origin": "https://evil.example.org",
                "Access-Control-Request-Method": "POST",
            },
        )
        simple = await client.get(
            "/api/v1/items", headers={"Origin": "https://evil.example.org"}
        )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in simple.headers


async def test_no_cors_headers_without_origins(client: AsyncClient) -> None:
    response = await client.get("/api/v1/items", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("host", "status"),
    [("api.example.com", 200), ("x.internal.example.com", 200), ("evil.com", 400)],
)
async def test_trusted_hosts(
    make_client: ClientFactory, host: str, status: int
) -> None:
    hosts = ["api.example.com", "*.internal.example.com"]
    async with make_client(TRUSTED_HOSTS=hosts) as client:
        response = await client.get("/health/live", headers={"Host": host})
    assert response.status_code == status


def test_constant_time_equals() -> None:
    assert constant_time_equals("token", b"token")
    assert not constant_time_equals("token", "tokem")
