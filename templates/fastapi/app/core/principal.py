"""Who is asking: the seam between the feature that authenticates requests and the
features that act on the answer.

One feature (auth) provides the `Authenticator`: it reads a request's credentials and
returns the `Principal` they prove, None when the request carries none, or raises an
`HTTPException` (401) when they are wrong. Others declare `PrincipalCheck`s, run on
every principal found (ratelimit's per-user limit raises 429), or read the principal
(audit records who did what). None of them imports another:

    principal = await authenticate(request)        # None: anonymous
    async def route(principal: CurrentPrincipal)   # the same, as a dependency
    principal_of(request)                          # what was found so far, no I/O
    dependencies=[require_permission("items:write")]   # 401 / 403, or let through

With no authenticator (auth not enabled) every request is anonymous, and
`require_permission` lets every request through.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.applications import Starlette


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: `id` is `<kind>:<id>` ("user:42", "api_key:7")."""

    id: str
    permissions: frozenset[str] = frozenset()
    superuser: bool = False

    def can(self, permission: str) -> bool:
        return self.superuser or permission in self.permissions


Authenticator = Callable[[Request], Awaitable[Principal | None]]
# Raises (an HTTPException) to refuse the principal's request.
PrincipalCheck = Callable[[Request, Principal], Awaitable[None]]

_UNSET = object()


@dataclass(frozen=True)
class _Seam:
    authenticator: Authenticator | None
    checks: tuple[PrincipalCheck, ...]


def install_principal_seam(
    app: Starlette,
    authenticators: Iterable[tuple[str, Authenticator]],
    checks: Iterable[PrincipalCheck],
) -> None:
    """Called by `create_app` with each feature's authenticator (by feature name)."""
    found = list(authenticators)
    if len(found) > 1:
        names = ", ".join(name for name, _ in found)
        raise ValueError(f"only one feature may authenticate requests; found {names}")
    app.state.principal_seam = _Seam(found[0][1] if found else None, tuple(checks))


async def authenticate(request: Request) -> Principal | None:
    """The request's principal, found once per request and checked by every
    `PrincipalCheck`; None when nothing authenticates it."""
    found = request.scope.setdefault("state", {}).get("principal", _UNSET)
    if found is not _UNSET:
        assert found is None or isinstance(found, Principal)
        return found
    seam: _Seam | None = getattr(request.app.state, "principal_seam", None)
    principal = None
    if seam is not None and seam.authenticator is not None:
        principal = await seam.authenticator(request)
    request.state.principal = principal
    if principal is not None and seam is not None:
        for check in seam.checks:
            await check(request, principal)
    return principal


def principal_of(request: Request) -> Principal | None:
    """The principal `authenticate` found for this request, if it ran; no I/O."""
    found = request.scope.get("state", {}).get("principal")
    return found if isinstance(found, Principal) else None


# A route's parameter: `principal: CurrentPrincipal`.
CurrentPrincipal = Annotated[Principal | None, Depends(authenticate)]


# What a 401 tells the client to send (RFC 6750); the authenticating feature may say
# more in its own 401s.
WWW_AUTHENTICATE = {"WWW-Authenticate": "Bearer"}


def has_authenticator(app: Starlette) -> bool:
    """Whether a feature authenticates this application's requests."""
    seam: _Seam | None = getattr(app.state, "principal_seam", None)
    return seam is not None and seam.authenticator is not None


class PermissionRequired:
    """The dependency `require_permission` returns; a feature that documents how to
    authenticate (OpenAPI `security`) finds the routes that use one."""

    def __init__(self, permission: str) -> None:
        self.permission = permission

    async def __call__(
        self, request: Request, principal: CurrentPrincipal
    ) -> Principal | None:
        if principal is None:
            if not has_authenticator(request.app):
                return None
            raise HTTPException(401, "Not authenticated.", headers=WWW_AUTHENTICATE)
        if not principal.can(self.permission):
            raise HTTPException(403, f"This needs the permission {self.permission!r}.")
        return principal


def require_permission(permission: str) -> PermissionRequired:
    """A dependency that lets a request through only with `permission`:

        @router.post("", dependencies=[Depends(require_permission("items:write"))],
                     responses=error_responses(401, 403))

    401 (with `WWW-Authenticate`) without credentials, 403 when the principal lacks
    the permission. With no authenticator installed (auth not enabled) there is no
    one to ask, and every request goes through: the route is as open as it was.
    """
    return PermissionRequired(permission)
