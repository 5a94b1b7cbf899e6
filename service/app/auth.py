"""API keys as `Authorization: Bearer <key>`, one role per key.

401 when no valid key is given, 403 when the key's role may not call the
endpoint. `admin` may call everything, so an operator needs one key to try
the whole service.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from service.db import keys

from . import creator_tokens
from .errors import ApiError


@dataclass(frozen=True)
class Principal:
    key_id: str | None  # None: an anonymous caller of an endpoint configured open
    role: str
    # what the key speaks for (service/db/keys.py): reviewers' organisation,
    # a creator's id, a fact-checker's routing
    organisation: str | None = None
    creator_id: str | None = None
    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    # a creator token (service/app/creator_tokens.py): key_id is the key that minted it
    via_token: bool = False

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
    if creator_tokens.looks_like_token(token):
        return _token_principal(request, token)
    info = keys.authenticate(token, request.app.state.db_url)
    if info is None:
        raise ApiError(
            401, "unauthenticated", "unknown or revoked API key", {"WWW-Authenticate": "Bearer"}
        )
    return Principal(
        info.id, info.role, info.organisation, info.creator_id, info.topics, info.languages
    )


def _token_principal(request: Request, token: str) -> Principal:
    try:
        found = creator_tokens.verify(request.app.state.settings, token, request.app.state.db_url)
    except creator_tokens.TokenError as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        raise ApiError(exc.status, exc.code, str(exc), headers) from None
    return Principal(found.key_id, "creator", creator_id=found.creator_id, via_token=True)


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


def metrics_access(request: Request) -> None:
    """Who may scrape /metrics: the configured scraper token, or an admin key.

    Closed unless the operator decides otherwise: the bank's size and the
    decision counts tell an outsider how the platform moderates. The operator
    opens it (AIGC_METRICS_OPEN) or gives the scraper a token (AIGC_METRICS_TOKEN).
    """
    settings = request.app.state.settings
    if settings.metrics_open:
        return
    token = _bearer(request)
    expected = settings.metrics_token
    if token is not None and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    if token is None:
        raise ApiError(
            401,
            "unauthenticated",
            "metrics need the scraper token or an admin API key (Authorization: Bearer ...)",
            {"WWW-Authenticate": "Bearer"},
        )
    principal = authenticate(request)  # not the scraper token: an API key, or 401
    if principal is None or principal.role != "admin":
        role = principal.role if principal else "anonymous"
        raise ApiError(403, "forbidden", f"a {role} key may not read metrics; it needs role admin")
