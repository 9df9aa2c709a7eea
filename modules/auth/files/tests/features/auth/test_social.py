"""Social login against a fake provider: a real HTTP server in this process (a thread),
speaking the OAuth2 authorization code flow with PKCE and an OpenID Connect userinfo
endpoint, or GitHub's emails API."""

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from httpx import Response

from tests.features.auth.conftest import Api, ApiFactory, bearer, new_email

OAUTH = "/api/v1/auth/oauth"


@dataclass
class Provider:
    """What the fake provider knows: codes it handed out (code -> email, verified,
    PKCE challenge) and the token requests it received."""

    url: str
    codes: dict[str, tuple[str, bool, str]] = field(default_factory=dict)
    tokens: dict[str, tuple[str, bool]] = field(default_factory=dict)
    requests: list[dict[str, list[str]]] = field(default_factory=list)

    def settings(self, kind: str = "oidc") -> dict[str, Any]:
        userinfo = "emails" if kind == "github" else "userinfo"
        return {
            "fake": {
                "kind": kind,
                "client_id": "client-1",
                "client_secret": "client-secret",
                "authorize_url": f"{self.url}/authorize",
                "token_url": f"{self.url}/token",
                "userinfo_url": f"{self.url}/{userinfo}",
            }
        }


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # the token endpoint
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            provider.requests.append(form)
            code = form.get("code", [""])[0]
            found = provider.codes.pop(code, None)  # a code works once
            verifier = form.get("code_verifier", [""])[0]
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if found is None or found[2] != challenge:
                self._json(400, {"error": "invalid_grant"})
                return
            token = f"token-{code}"
            provider.tokens[token] = (found[0], found[1])
            self._json(200, {"access_token": token, "token_type": "bearer"})

        def do_GET(self) -> None:  # userinfo (OIDC) or emails (GitHub)
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            found = provider.tokens.get(token)
            if found is None:
                self._json(401, {"error": "invalid_token"})
                return
            email, verified = found
            if self.path == "/emails":
                self._json(
                    200, [{"email": email, "primary": True, "verified": verified}]
                )
            else:
                self._json(
                    200, {"sub": "1", "email": email, "email_verified": verified}
                )

    return Handler


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    provider = Provider(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


async def start(api: Api) -> dict[str, str]:
    """Begin the login: the query the app sends the browser to the provider with."""
    response = await api.client.get(f"{OAUTH}/fake/authorize")
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    return {k: v[0] for k, v in parse_qs(location.query).items()}


async def finish(
    api: Api,
    provider: Provider,
    query: dict[str, str],
    email: str,
    verified: bool = True,
) -> Response:
    """The user logs in at the provider, which redirects back with a code."""
    code = f"code-{len(provider.codes)}-{email}"
    provider.codes[code] = (email, verified, query["code_challenge"])
    return await api.client.get(
        f"{OAUTH}/fake/callback", params={"code": code, "state": query["state"]}
    )


@pytest.mark.parametrize("kind", ["oidc", "github"])
async def test_social_login_registers_then_signs_in(
    make_api: ApiFactory, provider: Provider, kind: str
) -> None:
    async with make_api(AUTH_OAUTH_PROVIDERS=provider.settings(kind)) as api:
        email = new_email("social")
        query = await start(api)
        assert query["client_id"] == "client-1"
        assert query["code_challenge_method"] == "S256"
        assert query["redirect_uri"].endswith(f"{OAUTH}/fake/callback")
        response = await finish(api, provider, query, email)
        assert response.status_code == 200, response.text
        me = await api.client.get(
            "/api/v1/auth/me", headers=bearer(response.json()["access_token"])
        )
        assert me.json()["email"] == email
        assert me.json()["email_verified"] is True
        # The provider got the verifier and the client's credentials.
        assert provider.requests[-1]["client_secret"] == ["client-secret"]
        # A second login reaches the same account.
        again = await finish(api, provider, await start(api), email)
        me_again = await api.client.get(
            "/api/v1/auth/me", headers=bearer(again.json()["access_token"])
        )
        assert me_again.json()["id"] == me.json()["id"]
        assert "auth.login" in api.actions()


async def test_an_existing_account_is_signed_in_by_its_verified_email(
    make_api: ApiFactory, provider: Provider
) -> None:
    async with make_api(AUTH_OAUTH_PROVIDERS=provider.settings()) as api:
        email = await api.register()
        response = await finish(api, provider, await start(api), email)
        me = await api.client.get(
            "/api/v1/auth/me", headers=bearer(response.json()["access_token"])
        )
        assert me.json()["email"] == email


async def test_an_unverified_provider_email_is_refused(
    make_api: ApiFactory, provider: Provider
) -> None:
    async with make_api(AUTH_OAUTH_PROVIDERS=provider.settings()) as api:
        # Someone who set the victim's address, unverified, at the provider.
        victim = await api.register()
        response = await finish(api, provider, await start(api), victim, verified=False)
    assert response.status_code == 403


async def test_a_callback_not_started_in_this_browser_is_refused(
    make_api: ApiFactory, provider: Provider
) -> None:
    async with make_api(AUTH_OAUTH_PROVIDERS=provider.settings()) as api:
        query = await start(api)
        # Login CSRF: the attacker's own code and state, sent to the victim's browser.
        api.client.cookies.clear()
        no_cookie = await finish(api, provider, query, new_email())
        other = await start(api)
        wrong_state = await finish(
            api, provider, {**other, "state": query["state"]}, new_email()
        )
        # A code the provider does not know.
        unknown = await api.client.get(
            f"{OAUTH}/fake/callback", params={"code": "nope", "state": other["state"]}
        )
    assert no_cookie.status_code == 401
    assert wrong_state.status_code == 401
    assert unknown.status_code == 401


async def test_providers_not_configured_are_404(api: Api) -> None:
    assert (await api.client.get(f"{OAUTH}/github/authorize")).status_code == 404
    callback = await api.client.get(
        f"{OAUTH}/github/callback", params={"code": "c", "state": "s"}
    )
    assert callback.status_code == 404


async def test_an_unreachable_provider_is_502(make_api: ApiFactory) -> None:
    settings = Provider("http://127.0.0.1:9").settings()
    async with make_api(AUTH_OAUTH_PROVIDERS=settings) as api:
        query = await start(api)
        response = await api.client.get(
            f"{OAUTH}/fake/callback", params={"code": "c", "state": query["state"]}
        )
    assert response.status_code == 502
