"""Who a request is counted as (client addresses behind proxies, spoofing attempts),
and the ratelimit settings: rates, routes, what production refuses."""

from typing import Any

import pytest
from starlette.types import Scope

from app.core.config import ConfigurationError, load_settings
from app.features.ratelimit import Rate, RateLimitSettings, RouteRate
from app.features.ratelimit.client_ip import ClientAddress
from app.features.ratelimit.config import parse_rate, parse_route_rate


def scope(peer: str | None, *headers: tuple[str, str]) -> Scope:
    return {
        "type": "http",
        "client": (peer, 50000) if peer is not None else None,
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers],
    }


def addresses(**settings: Any) -> ClientAddress:
    current = RateLimitSettings(**settings)
    return ClientAddress(
        current.RATELIMIT_TRUSTED_PROXIES,
        current.RATELIMIT_PROXY_HEADER,
        current.RATELIMIT_IPV6_PREFIX,
    )


XFF = "X-Forwarded-For"
PROXIES = "10.0.0.0/8, 192.168.1.1, unix"


@pytest.mark.parametrize(
    ("peer", "headers", "key"),
    [
        # A peer that is no trusted proxy: itself, whatever the headers claim.
        ("203.0.113.9", [(XFF, "1.2.3.4")], "ip:203.0.113.9"),
        ("203.0.113.9", [("Forwarded", "for=1.2.3.4")], "ip:203.0.113.9"),
        # A trusted proxy: the rightmost address it did not write itself.
        ("10.0.0.5", [(XFF, "198.51.100.1")], "ip:198.51.100.1"),
        ("10.0.0.5", [(XFF, "6.6.6.6, 198.51.100.1")], "ip:198.51.100.1"),
        ("10.0.0.5", [(XFF, "198.51.100.1, 10.9.9.9")], "ip:198.51.100.1"),
        ("192.168.1.1", [(XFF, "6.6.6.6"), (XFF, "198.51.100.2")], "ip:198.51.100.2"),
        # Garbage stops the walk at the last hop believed.
        ("10.0.0.5", [(XFF, "198.51.100.1, not-an-ip")], "ip:10.0.0.5"),
        ("10.0.0.5", [(XFF, "")], "ip:10.0.0.5"),
        ("10.0.0.5", [], "ip:10.0.0.5"),
        # Every hop trusted: the leftmost one.
        ("10.0.0.5", [(XFF, "10.1.1.1, 10.2.2.2")], "ip:10.1.1.1"),
        # Only the configured header is read.
        ("10.0.0.5", [("Forwarded", "for=198.51.100.1")], "ip:10.0.0.5"),
        # A peer just outside the trusted network.
        ("192.168.1.2", [(XFF, "198.51.100.1")], "ip:192.168.1.2"),
        # A Unix socket, trusted by `unix`.
        (None, [(XFF, "198.51.100.3")], "ip:198.51.100.3"),
        # IPv6 by /64; IPv4 mapped into IPv6 as IPv4.
        ("2001:db8:1:2::abcd", [], "ip:2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", [], "ip:2001:db8:1:2::/64"),
        ("::ffff:198.51.100.4", [], "ip:198.51.100.4"),
        ("10.0.0.5", [(XFF, "2001:db8:9::1")], "ip:2001:db8:9::/64"),
        # A test client's name is no address: counted as written.
        ("testclient", [(XFF, "1.2.3.4")], "ip:testclient"),
    ],
)
def test_the_client_a_request_is_counted_as(
    peer: str | None, headers: list[tuple[str, str]], key: str
) -> None:
    assert (
        addresses(RATELIMIT_TRUSTED_PROXIES=PROXIES).key(scope(peer, *headers)) == key
    )


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("for=198.51.100.1", "ip:198.51.100.1"),
        ('for="[2001:db8:cafe::17]:4711"', "ip:2001:db8:cafe::/64"),
        ("for=198.51.100.1:8080;proto=https", "ip:198.51.100.1"),
        ("for=6.6.6.6, for=198.51.100.1;by=10.0.0.5", "ip:198.51.100.1"),
        ("for=198.51.100.1, for=10.0.0.7", "ip:198.51.100.1"),
        ("for=unknown", "ip:10.0.0.5"),
        ("for=_hidden, for=198.51.100.1", "ip:198.51.100.1"),
        ("proto=https", "ip:10.0.0.5"),
    ],
)
def test_the_forwarded_header(header: str, key: str) -> None:
    clients = addresses(
        RATELIMIT_TRUSTED_PROXIES="10.0.0.0/8", RATELIMIT_PROXY_HEADER="Forwarded"
    )
    forged = (XFF, "6.6.6.6")  # the header not configured is never read
    assert clients.key(scope("10.0.0.5", ("Forwarded", header), forged)) == key


def test_ipv6_networks_of_another_size() -> None:
    clients = addresses(RATELIMIT_IPV6_PREFIX=128)
    assert clients.key(scope("2001:db8::1")) == "ip:2001:db8::1/128"


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("600/minute", Rate(600, 60.0)),
        ("10/hour", Rate(10, 3600.0)),
        ("5/30s", Rate(5, 30.0)),
        ("3 / 1.5 m", Rate(3, 90.0)),
        ("1/day", Rate(1, 86400.0)),
        ("100/SECOND", Rate(100, 1.0)),
    ],
)
def test_rates(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "10", "10/fortnight", "0/minute", "-1/m", "a/m"])
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


def test_route_rates() -> None:
    route = parse_route_rate("post /api/v1/auth/login = 10/minute")
    assert route == RouteRate("POST", "/api/v1/auth/login", Rate(10, 60.0))
    assert route.regex().fullmatch("/api/v1/auth/login")
    assert not route.regex().fullmatch("/api/v1/auth/login/extra")
    item = parse_route_rate("* /api/v1/items/{item_id}=5/s")
    assert item.regex().fullmatch("/api/v1/items/42")
    for bad in ["/api/v1/x=1/m", "FETCH /x=1/m", "GET x=1/m", "GET /x"]:
        with pytest.raises(ValueError):
            parse_route_rate(bad)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATELIMIT_DEFAULT", "20/minute")
    monkeypatch.setenv("RATELIMIT_ROUTES", "GET /a=1/s, POST /b/{id}=2/m")
    monkeypatch.setenv("RATELIMIT_TRUSTED_PROXIES", "10.0.0.0/8,::1")
    monkeypatch.setenv("RATELIMIT_EXEMPT_PATHS", "/health/live")
    settings = load_settings(RateLimitSettings)
    assert settings.RATELIMIT_DEFAULT == Rate(20, 60.0)
    assert [r.name for r in settings.RATELIMIT_ROUTES] == ["GET /a", "POST /b/{id}"]
    assert [str(p) for p in settings.RATELIMIT_TRUSTED_PROXIES] == [
        "10.0.0.0/8",
        "::1/128",
    ]
    assert settings.RATELIMIT_EXEMPT_PATHS == ["/health/live"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RATELIMIT_DEFAULT", "lots", "must look like"),
        ("RATELIMIT_ROUTES", "GET /a=1/s,GET /a=2/s", "more than one rate: GET /a"),
        ("RATELIMIT_TRUSTED_PROXIES", "proxy.internal", "not an address"),
        ("RATELIMIT_EXEMPT_PATHS", "health", "must start with /"),
        ("RATELIMIT_PROXY_HEADER", "X-Real-IP", "RATELIMIT_PROXY_HEADER"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message):
        load_settings(RateLimitSettings)


@pytest.mark.parametrize("proxies", ["*", "0.0.0.0/0", "10.0.0.1,::/0"])
def test_production_refuses_trusting_every_address(proxies: str) -> None:
    with pytest.raises(ValueError, match="RATELIMIT_TRUSTED_PROXIES must list"):
        RateLimitSettings(ENVIRONMENT="production", RATELIMIT_TRUSTED_PROXIES=proxies)
    # Elsewhere it is allowed (a local proxy in development).
    RateLimitSettings(ENVIRONMENT="local", RATELIMIT_TRUSTED_PROXIES=proxies)


def test_production_refuses_switching_the_limits_off() -> None:
    with pytest.raises(ValueError, match="RATELIMIT_ENABLED=false"):
        RateLimitSettings(ENVIRONMENT="production", RATELIMIT_ENABLED=False)
    settings = RateLimitSettings(
        ENVIRONMENT="production", RATELIMIT_TRUSTED_PROXIES="10.0.0.0/8"
    )
    assert settings.RATELIMIT_ENABLED
