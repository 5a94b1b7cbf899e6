"""API keys as `Authorization: Bearer <key>`, one role per key.

401 when no valid key is given, 403 when the key's role may not call the
endpoint. `admin` may call everything, so an operator needs one key to try
the whole service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from service.db import keys

from .errors import ApiError


@dataclass(frozen=True)
class Principal:
    key_id: str | None  # None: an anonymous caller of an endpoint configured open
    role: str

    @property
    def anonymous(self) -> bool:
        return self.key_id is None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthenticated",
            "the Authorization header must be 'Bearer <API key>'",
            {"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def authenticate(request: Request) -> Principal | None:
    token = _bearer(request)
    if token is None:
        return None
    info = keys.authenticate(token, request.app.state.db_url)
    if info is None:
        raise ApiError(
            401, "unauthenticated", "unknown or revoked API key", {"WWW-Authenticate": "Bearer"}
        )
    return Principal(info.id, info.role)


def require_role(*roles: str, open_flag: str | None = None) -> Callable[[Request], Principal]:
    """A dependency admitting keys with one of `roles` (or admin).

    `open_flag` names a boolean on the app's Settings which, when set, lets
    callers without a key through as anonymous (the creator page's open mode).
    A key that is given is still checked, so a bad key never passes as anonymous.
    """
    allowed = frozenset(roles) | {"admin"}
    names = ", ".join(sorted(allowed))

    # A plain def: FastAPI runs it in the thread pool, so the key lookup in the
    # database never blocks the event loop.
    def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if principal is None:
            if open_flag and getattr(request.app.state.settings, open_flag):
                return Principal(None, "anonymous")
            raise ApiError(
                401,
                "unauthenticated",
                f"an API key is required (Authorization: Bearer <key>; role {names})",
                {"WWW-Authenticate": "Bearer"},
            )
        if principal.role not in allowed:
            raise ApiError(
                403,
                "forbidden",
                f"a {principal.role} key may not call this endpoint; it needs role {names}",
            )
        return principal

    dependency.__name__ = f"require_{'_'.join(sorted(roles))}"
    return dependency
