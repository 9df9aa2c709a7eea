"""Social login: the OAuth2 authorization code flow (with PKCE) against providers
configured in AUTH_OAUTH_PROVIDERS, GitHub and Google built in, any OpenID Connect
provider by its URLs:

    GET /api/v1/auth/oauth/{provider}/authorize   302 to the provider; a signed,
                                                  HttpOnly cookie keeps state + verifier
    GET /api/v1/auth/oauth/{provider}/callback    ?code=&state=: the code exchanged, the
                                                  provider's verified email found or
                                                  registered, a token pair returned

Only an email the provider says is verified signs in, and it signs in the account that
has it (registered or not before). Without providers every path here is a 404.
"""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from app.api.deps import SessionDep
from app.core.config import API_V1_PREFIX
from app.core.errors import AppError, NotFoundError
from app.core.events import Event, emit
from app.core.openapi import error_responses
from app.features.auth.config import OAuthProvider
from app.features.auth.principals import unauthorized
from app.features.auth.schemas import TokenPair
from app.features.auth.service import (
    auth_state,
    create_user,
    start_session,
    user_by_email,
)
from app.features.auth.tokens import new_secret

router = APIRouter(prefix="/oauth")
OAUTH_PREFIX = f"{API_V1_PREFIX}/auth/oauth"
COOKIE = "paxx_oauth"
COOKIE_SECONDS = 600
ProviderName = Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,40}$")]


class ProviderError(AppError):
    status_code = 502
    code = "provider_error"


@dataclass(frozen=True)
class Identity:
    email: str
    verified: bool


def _provider(request: Request, name: str) -> OAuthProvider:
    provider = auth_state(request.app).settings.oauth_providers().get(name)
    if provider is None:
        raise NotFoundError("No such login provider.")
    return provider


def _sign(request: Request, payload: dict[str, str]) -> str:
    key = request.app.state.settings.SECRET_KEY.get_secret_value().encode()
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    mac = hmac.new(key, body.encode(), "sha256").hexdigest()
    return f"{body}.{mac}"


def _unsign(request: Request, value: str) -> dict[str, str] | None:
    body, _, mac = value.rpartition(".")
    key = request.app.state.settings.SECRET_KEY.get_secret_value().encode()
    expected = hmac.new(key, body.encode(), "sha256").hexdigest()
    if not body or not hmac.compare_digest(mac, expected):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _callback_url(request: Request, name: str) -> str:
    base = request.app.state.settings.PUBLIC_BASE_URL or str(request.base_url)
    return f"{base.rstrip('/')}{OAUTH_PREFIX}/{name}/callback"


@router.get(
    "/{provider}/authorize",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={302: {"description": "To the provider's login page"}},
)
async def oauth_authorize(request: Request, provider: ProviderName) -> Response:
    """Start a social login: a redirect to the provider."""
    config = _provider(request, provider)
    state, verifier = new_secret(), new_secret()
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": _callback_url(request, provider),
            "scope": config.scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{config.authorize_url}?{query}", status_code=302)
    response.set_cookie(
        COOKIE,
        _sign(request, {"provider": provider, "state": state, "verifier": verifier}),
        max_age=COOKIE_SECONDS,
        path=OAUTH_PREFIX,
        httponly=True,
        secure=request.app.state.settings.is_production,
        samesite="lax",
    )
    return response


async def _identity(
    config: OAuthProvider, code: str, verifier: str, redirect: str
) -> Identity:
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            token = await client.post(
                config.token_url,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect,
                    "client_id": config.client_id,
                    "client_secret": config.client_secret.get_secret_value(),
                    "code_verifier": verifier,
                },
                headers={"Accept": "application/json"},
            )
            if token.status_code != 200:
                raise unauthorized("The provider refused the code.", error=None)
            access = token.json().get("access_token")
            if not isinstance(access, str):
                raise unauthorized("The provider refused the code.", error=None)
            headers = {
                "Authorization": f"Bearer {access}",
                "Accept": "application/json",
            }
            if config.kind == "github":
                emails: Any = (
                    await client.get(config.userinfo_url, headers=headers)
                ).json()
                primary = next(
                    (e for e in emails if isinstance(e, dict) and e.get("primary")), {}
                )
                return Identity(
                    str(primary.get("email", "")), primary.get("verified") is True
                )
            info: Any = (await client.get(config.userinfo_url, headers=headers)).json()
            return Identity(
                str(info.get("email", "")), info.get("email_verified") is True
            )
    except (httpx.HTTPError, ValueError, AttributeError, TypeError):
        raise ProviderError("The login provider did not answer as expected.") from None


@router.get(
    "/{provider}/callback",
    responses=error_responses(401, 403, 502),
)
async def oauth_callback(
    request: Request,
    response: Response,
    session: SessionDep,
    provider: ProviderName,
    code: Annotated[str, Query(pattern=r"^[\x21-\x7e]{1,500}$")],
    state: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,200}$")],
) -> TokenPair:
    """Where the provider sends the browser back: the code for a token pair. 401 when
    the state does not match this browser's (a forged or replayed callback) or the
    provider refuses the code; 403 when the provider's email is not verified."""
    config = _provider(request, provider)
    cookie = _unsign(request, request.cookies.get(COOKIE, ""))
    if (
        cookie is None
        or cookie.get("provider") != provider
        or not hmac.compare_digest(str(cookie.get("state", "")), state)
    ):
        raise unauthorized("This login was not started here.", error=None)
    identity = await _identity(
        config, code, str(cookie.get("verifier", "")), _callback_url(request, provider)
    )
    if not identity.verified or "@" not in identity.email:
        raise AppError("The provider has no verified email for you.", status_code=403)
    auth = auth_state(request.app)
    user = await user_by_email(session, identity.email)
    if user is None:
        # No password of its own: a random one nobody knows (reset sets one).
        user = await create_user(
            session, auth, identity.email, new_secret(), verified=True
        )
    if not user.is_active:
        raise unauthorized("This account is disabled.", error=None)
    issued = await start_session(session, auth, user)
    await session.commit()
    await emit(
        request.app,
        Event(
            "auth.login",
            actor=user.principal_id,
            target=user.principal_id,
            data={"session": str(issued.session_id), "provider": provider},
        ),
    )
    response.delete_cookie(COOKIE, path=OAUTH_PREFIX)
    response.headers["Cache-Control"] = "no-store"
    return TokenPair(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
    )
