"""Short-lived creator tokens: the platform's backend mints one per creator session.

A creator never holds an API key. The platform's backend (a pipeline or
admin key) asks `POST /v1/creator-tokens` for a token naming the creator id,
and hands it to the creator page it embeds. The token is

    ct1.<base64url(JSON {c: creator id, k: minting key id, iat, exp})>.<base64url(HMAC-SHA256)>

signed with the operator's secret (`AIGC_CREATOR_TOKEN_SECRET` or
`AIGC_CREATOR_TOKEN_SECRET_FILE`). Every worker and host must share it, so it
is a setting and never a random per-process value: without it minting answers
503 and no token is accepted. A token stops working at its expiry and as soon
as the key that minted it is revoked (checked on every use).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select

from service.db import session_scope
from service.db.keys import ApiKey
from service.settings import Settings

PREFIX = "ct1."
MIN_TTL_S = 60
MAX_TTL_S = 86_400
DEFAULT_TTL_S = 900
MIN_SECRET_BYTES = 32
# roles whose keys may mint tokens (the platform's backend)
MINTERS = ("pipeline", "admin")


class TokenError(Exception):
    """A creator token that is not accepted; `code` is the API error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class CreatorToken:
    creator_id: str
    key_id: str
    issued_at: int
    expires_at: int


def looks_like_token(bearer: str) -> bool:
    return bearer.startswith(PREFIX)


@lru_cache(maxsize=4)
def _read_secret(path: str) -> bytes:
    try:
        raw = Path(path).read_bytes().strip()
    except OSError as exc:
        raise TokenError(
            503, "not_configured", f"AIGC_CREATOR_TOKEN_SECRET_FILE {path}: {exc.strerror}"
        ) from None
    return raw


def secret_of(settings: Settings) -> bytes:
    """The signing secret, or 503 `not_configured` naming the variables to set."""
    if settings.creator_token_secret:
        secret = settings.creator_token_secret.encode("utf-8")
    elif settings.creator_token_secret_file:
        secret = _read_secret(settings.creator_token_secret_file)
    else:
        raise TokenError(
            503,
            "not_configured",
            "creator tokens need AIGC_CREATOR_TOKEN_SECRET or AIGC_CREATOR_TOKEN_SECRET_FILE "
            "(the same secret on every worker and host)",
        )
    if len(secret) < MIN_SECRET_BYTES:
        raise TokenError(
            503,
            "not_configured",
            f"the creator token secret must be at least {MIN_SECRET_BYTES} bytes",
        )
    return secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, (PREFIX + body).encode("ascii"), hashlib.sha256).digest())


def mint(secret: bytes, creator_id: str, key_id: str, ttl_s: int, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims = {"c": creator_id, "k": key_id, "iat": issued, "exp": issued + int(ttl_s)}
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{PREFIX}{body}.{_sign(secret, body)}"


def _bad(message: str) -> TokenError:
    return TokenError(401, "unauthenticated", message)


def decode(secret: bytes, token: str, now: float | None = None) -> CreatorToken:
    """The token's claims once its signature and expiry hold; TokenError otherwise."""
    body, _, signature = token.removeprefix(PREFIX).partition(".")
    if not body or not signature or "." in signature:
        raise _bad("a creator token has the form ct1.<claims>.<signature>")
    if not hmac.compare_digest(signature, _sign(secret, body)):
        raise _bad("the creator token's signature does not verify")
    try:
        claims = json.loads(_unb64(body))
        found = CreatorToken(
            str(claims["c"]), str(claims["k"]), int(claims["iat"]), int(claims["exp"])
        )
    except (ValueError, KeyError, TypeError):
        raise _bad("the creator token's claims are unreadable") from None
    if (time.time() if now is None else now) >= found.expires_at:
        raise _bad("the creator token has expired; ask the platform for a new one")
    return found


def key_is_active(key_id: str, url: str | None) -> bool:
    with session_scope(url) as session:
        revoked = session.execute(
            select(ApiKey.revoked_at).where(ApiKey.id == key_id, ApiKey.role.in_(MINTERS))
        ).first()
    return revoked is not None and revoked[0] is None


def verify(settings: Settings, token: str, url: str | None) -> CreatorToken:
    """decode() and the minting key's state: a revoked key's tokens all stop at once."""
    found = decode(secret_of(settings), token)
    if not key_is_active(found.key_id, url):
        raise _bad("the key that issued this creator token was revoked")
    return found


__all__ = [
    "DEFAULT_TTL_S",
    "MAX_TTL_S",
    "MINTERS",
    "MIN_TTL_S",
    "CreatorToken",
    "TokenError",
    "decode",
    "looks_like_token",
    "mint",
    "secret_of",
    "verify",
]
