"""Route templates: which route answered a request, as `/api/v1/items/{item_id}`.

Labels take the template, never the raw path, so that the number of time series stays
bounded whatever clients request. The router leaves the matched endpoint in the ASGI
scope (`scope["endpoint"]`); `RouteTable` maps each endpoint of the application to its
full template, built once at startup from the application's routes.

FastAPI 0.137 stopped copying the routes of included routers into `app.routes` (a
route object then knows only its path inside its own router, `/{item_id}`), and 0.137.2
added `fastapi.routing.iter_route_contexts()`, which yields every route with its full
path. Earlier versions copy each included route with its full path, so `app.routes`
is already complete there.
"""

import re
from collections.abc import Iterable, Sequence
from typing import Any

import fastapi.routing
from starlette.routing import BaseRoute, Mount
from starlette.types import Scope

# The label of requests no route matched (404s, redirects to the slash variant).
UNMATCHED = "<unmatched>"
# A mounted application without routes of its own (static files): what it got.
MOUNT_TAIL = "/{path}"

_iter_route_contexts = getattr(fastapi.routing, "iter_route_contexts", None)

# (regex of the path inside the router, template); regex None: anything.
Candidate = tuple[re.Pattern[str] | None, str]


def _flattened(routes: Sequence[BaseRoute]) -> Iterable[Any]:
    if _iter_route_contexts is not None:
        return list(_iter_route_contexts(routes))
    return routes


class RouteTable:
    """Endpoint -> template, for an application's routes and those of the
    applications mounted in it (whose templates start with the mount's path)."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._candidates: dict[int, list[Candidate]] = {}
        self._add(routes)

    def _add(self, routes: Sequence[BaseRoute]) -> None:
        for route in _flattened(routes):
            original = getattr(route, "original_route", route)
            if isinstance(original, Mount):
                # The mount's own path ends up in `root_path`; see `template`.
                self._put(original.app, (None, MOUNT_TAIL))
                self._add(original.routes)
                continue
            endpoint = getattr(route, "endpoint", None)
            path_format = getattr(route, "path_format", None)
            path_regex = getattr(route, "path_regex", None)
            if endpoint is None or not isinstance(path_format, str):
                continue
            regex = path_regex if isinstance(path_regex, re.Pattern) else None
            self._put(endpoint, (regex, path_format))

    def _put(self, endpoint: object, candidate: Candidate) -> None:
        candidates = self._candidates.setdefault(id(endpoint), [])
        if candidate not in candidates:
            candidates.append(candidate)

    def template(self, scope: Scope, root_path: str) -> str:
        """The template of the route that handled `scope`, once handled.

        `root_path` is the scope's root path before routing: mounts add their path
        to it, which becomes the template's prefix.
        """
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return UNMATCHED
        final_root = scope.get("root_path", "")
        prefix = final_root[len(root_path) :] if final_root != root_path else ""
        candidates = self._candidates.get(id(endpoint))
        if candidates is None:
            # A route added after startup: its own path, complete unless it sits in
            # an included router.
            route = scope.get("route")
            path_format = getattr(route, "path_format", None)
            return prefix + path_format if isinstance(path_format, str) else UNMATCHED
        if len(candidates) == 1:
            return prefix + candidates[0][1]
        # One endpoint under several paths: the one the path matches.
        path: str = scope["path"]
        inner = path[len(final_root) :] if path.startswith(final_root) else path
        for regex, template in candidates:
            if regex is None or regex.match(inner):
                return prefix + template
        return prefix + candidates[0][1]
