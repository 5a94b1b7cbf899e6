"""OPTIONS, HEAD and 405 answers that list every method a path accepts.

Starlette picks the first route whose path matches and, when the method does
not, answers 405 with that one route's methods: `/v1/keys` (POST and GET as two
routes) says `Allow: POST`, and OPTIONS is refused the same way. This
middleware knows the whole route table:

- `OPTIONS` on a known path: 204 with `Allow` (every method of every route on
  that path, HEAD where GET is, and OPTIONS);
- `HEAD` on a path that has GET but no HEAD route: served as GET (uvicorn drops
  the body of a HEAD response);
- a 405 from the app: replaced by the JSON 405 with the full `Allow`.

Requests the app answers normally pass through untouched; the route table is
only consulted for OPTIONS, HEAD and 405s.
"""

from __future__ import annotations

import json

from .errors import error_body

ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _flat_routes(routes):
    """The app's routes, included routers expanded (FastAPI nests them lazily)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI versions that flatten at include time
        return list(routes)
    return list(iter_route_contexts(routes))


def allowed_methods(routes, path: str) -> list[str]:
    """Every method some route accepts on `path`, in a stable order; [] for an unknown path."""
    found: set[str] = set()
    for route in _flat_routes(routes):
        methods = getattr(route, "methods", None)
        regex = getattr(route, "path_regex", None)
        if not methods or regex is None or not regex.match(path):
            continue
        found.update(m.upper() for m in methods)
    if not found:
        return []
    if "GET" in found:
        found.add("HEAD")
    found.add("OPTIONS")
    return sorted(found, key=lambda m: (ORDER.index(m) if m in ORDER else len(ORDER), m))


class AllowMiddleware:
    def __init__(self, app, router) -> None:
        self.app = app
        # read at request time: routers may be included after the middleware is added
        self.router = router

    def _allowed(self, scope) -> list[str]:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        return allowed_methods(self.router.routes, path)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            allowed = self._allowed(scope)
            if allowed:
                await _send(send, 204, allowed, None)
                return
        elif method == "HEAD":
            allowed = self._allowed(scope)
            if "GET" in allowed:
                # a copy: uvicorn keeps its own scope, still HEAD, and drops the body
                scope = dict(scope, method="GET")

        replaced = False

        async def reshape_405(message):
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = self._allowed(scope)
                if allowed:
                    replaced = True
                    text = f"{method} is not allowed here; allowed: {', '.join(allowed)}"
                    await _send(send, 405, allowed, text)
                    return
            if replaced:
                return  # the app's own 405 body
            await send(message)

        await self.app(scope, receive, reshape_405)


async def _send(send, status: int, allowed: list[str], message: str | None) -> None:
    headers = [(b"allow", ", ".join(allowed).encode())]
    body = b""
    if message is not None:
        body = json.dumps(error_body("method_not_allowed", message)).encode()
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
