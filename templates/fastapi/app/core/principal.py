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

With no authenticator (auth not enabled) every request is anonymous.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
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
