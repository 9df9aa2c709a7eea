import socket

from httpx import AsyncClient

from tests.conftest import ClientFactory


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_live(client: AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_the_database(client: AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"  # and every enabled feature's check
    assert set(body["checks"].values()) == {"ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_ready_is_503_when_the_database_is_down(
    make_client: ClientFactory,
) -> None:
    url = f"postgresql+asyncpg://app:app@127.0.0.1:{closed_port()}/app"
    async with make_client([], DATABASE_URL=url) as client:  # no feature
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "checks": {"database": "error"}}
