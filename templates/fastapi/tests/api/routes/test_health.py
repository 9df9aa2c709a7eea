import asyncio
import socket

from httpx import AsyncClient

from app.core.features import Feature
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


class SlowCheck:
    """A health check that counts its calls and how many run at once."""

    def __init__(self) -> None:
        self.calls = self.running = self.most = 0

    async def __call__(self) -> None:
        self.calls += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(0.05)
        finally:
            self.running -= 1


async def test_concurrent_probes_share_one_round_of_checks(
    make_client: ClientFactory,
) -> None:
    """200 probes at once (the endpoint is public) run the checks once, not 200
    times: each check would open a connection of its own to its service."""
    check = SlowCheck()
    feature = Feature(name="slow", health_checks={"slow": check})
    async with make_client([feature], HEALTH_CHECK_CACHE_SECONDS=0) as client:
        responses = await asyncio.gather(
            *(client.get("/health/ready") for _ in range(200))
        )
    assert {response.status_code for response in responses} == {200}
    assert check.most == 1
    assert check.calls <= 2, f"{check.calls} rounds of checks for 200 probes"


async def test_a_result_is_reused_for_a_while(make_client: ClientFactory) -> None:
    check = SlowCheck()
    feature = Feature(name="slow", health_checks={"slow": check})
    async with make_client([feature], HEALTH_CHECK_CACHE_SECONDS=3600) as client:
        for _ in range(20):
            assert (await client.get("/health/ready")).status_code == 200
    assert check.calls == 1
    check = SlowCheck()
    feature = Feature(name="slow", health_checks={"slow": check})
    async with make_client([feature], HEALTH_CHECK_CACHE_SECONDS=0) as client:
        for _ in range(3):
            assert (await client.get("/health/ready")).status_code == 200
    assert check.calls == 3
