"""Who a request's credentials prove: the authenticator this feature gives the
template's principal seam (app/core/principal.py), and the dependencies of the routes
that need a user.

    Authorization: Bearer <access token>     a user, with the permissions of its roles
    X-API-Key: ak_<id>_<secret>              a key: its scopes, within its owner's

Each request checks its credentials against the database (the user is active, the
session not revoked, the key not revoked), so a logout, a revocation or a role change
takes effect at once, not when a token expires.
"""

import logging
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from starlette.applications import Starlette

from app.api.deps import SessionDep
from app.core.config import API_V1_PREFIX
from app.core.principal import CurrentPrincipal, Principal
from app.features.auth.models import AuthUser
from app.features.auth.service import auth_state, grant_of_api_key, grant_of_session
from app.features.auth.tokens import InvalidToken, same_digest, split_api_key

logger = logging.getLogger(__name__)

TOKEN_URL = f"{API_V1_PREFIX}/auth/token"
API_KEY_HEADER = "X-API-Key"

# Documented in the OpenAPI document (Swagger's Authorize button); reading the
# credentials is the authenticator's job, so neither refuses anything itself.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
api_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
SECURITY: list[dict[str, list[str]]] = [
    {"OAuth2PasswordBearer": []},
    {"APIKeyHeader": []},
]


def unauthorized(message: str, error: str | None = "invalid_token") -> HTTPException:
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return HTTPException(401, message, headers={"WWW-Authenticate": challenge})


async def authenticate_request(request: Request) -> Principal | None:
    """The authenticator (see the module docstring); None without credentials, a 401
    for credentials that prove nothing."""
    bearer = request.headers.get("authorization")
    key = request.headers.get(API_KEY_HEADER)
    if bearer is None and key is None:
        return None
    if bearer is not None and key is not None:
        raise unauthorized("Send one credential: a bearer token or an API key.")
    if key is not None:
        return await _api_key_principal(request, key)
    assert bearer is not None
    scheme, _, token = bearer.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Send `Authorization: Bearer <access token>`.")
    return await _access_token_principal(request, token.strip())


async def _access_token_principal(request: Request, token: str) -> Principal:
    state = auth_state(request.app)
    try:
        claims = state.keys.verify_access(token)
    except InvalidToken as exc:
        logger.info("access token refused: %s", exc)
        raise unauthorized("The access token is invalid or has expired.") from None
    grant = await grant_of_session(
        request.app.state.database.engine, claims.user_id, claims.session_id
    )
    if grant is None:
        raise unauthorized("The access token is invalid or has expired.")
    principal = Principal(
        f"user:{grant.user_id}", grant.permissions, superuser=grant.superuser
    )
    request.state.auth_user_principal = principal
    return principal


async def _api_key_principal(request: Request, key: str) -> Principal:
    parts = split_api_key(key)
    if parts is None:
        raise unauthorized("The API key is invalid or revoked.")
    key_id, secret = parts
    grant = await grant_of_api_key(request.app.state.database.engine, key_id)
    if grant is None or not same_digest(secret, grant.secret_hash):
        raise unauthorized("The API key is invalid or revoked.")
    owner = grant.owner
    # A key never does more than its owner may do now.
    permissions = grant.scopes if owner.superuser else grant.scopes & owner.permissions
    return Principal(f"api_key:{grant.key_id}", permissions)


async def require_principal(
    principal: CurrentPrincipal,
    _bearer: Annotated[str | None, Security(oauth2_scheme)],
    _key: Annotated[str | None, Security(api_key_scheme)],
) -> Principal:
    if principal is None:
        raise unauthorized("Not authenticated.", error=None)
    return principal


async def require_user(
    request: Request,
    principal: Annotated[Principal, Depends(require_principal)],
    session: SessionDep,
) -> AuthUser:
    """The user behind a bearer token; an API key is refused (403): keys do not
    manage accounts or other keys."""
    if getattr(request.state, "auth_user_principal", None) is not principal:
        raise HTTPException(403, "This needs a user's access token, not an API key.")
    user = await session.get(AuthUser, int(principal.id.removeprefix("user:")))
    if user is None:  # deleted since the request was authenticated
        raise unauthorized("The access token is invalid or has expired.")
    return user


def require_admin(permission: str = "auth:admin") -> Any:
    async def check(
        principal: Annotated[Principal, Depends(require_principal)],
    ) -> Principal:
        if not principal.can(permission):
            raise HTTPException(403, f"This needs the permission {permission!r}.")
        return principal

    return Depends(check)


CurrentUser = Annotated[AuthUser, Depends(require_user)]


# The operations that answer 401 for credentials sent in their body, not a header.
CREDENTIALS_IN_BODY = frozenset({"login", "refresh"})


def document_security(app: Starlette) -> None:
    """Mark every operation that documents a 401 (those guarded by the template's
    `require_permission`, the items writes, and any feature's) as taking a bearer
    token or an API key in the OpenAPI document, so that Swagger's Authorize
    button applies to them too."""
    build = app.openapi  # type: ignore[attr-defined]

    def openapi() -> dict[str, Any]:
        document: dict[str, Any] = build()
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                if (
                    isinstance(operation, dict)
                    and "401" in operation.get("responses", {})
                    and operation.get("operationId") not in CREDENTIALS_IN_BODY
                ):
                    operation.setdefault("security", SECURITY)
        return document

    app.openapi = openapi  # type: ignore[attr-defined]
