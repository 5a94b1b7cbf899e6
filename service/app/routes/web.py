"""The creator page: plain HTML and a little JS, no build step."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from ..errors import ApiError

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
ASSETS = {
    "check.js": "text/javascript",
    "check.css": "text/css",
    "review.js": "text/javascript",
    "review.css": "text/css",
}
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=2)
def _page(name: str = "check.html") -> str:
    return (WEB_DIR / name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse)
@router.get("/check", response_class=HTMLResponse)
async def check_page(request: Request) -> HTMLResponse:
    # The page asks for a creator key only when the operator has not opened it.
    is_open = "true" if request.app.state.settings.creator_page_open else "false"
    return HTMLResponse(_page().replace("{{OPEN}}", is_open), headers=_HEADERS)


@router.get("/review", response_class=HTMLResponse)
async def review_page() -> HTMLResponse:
    # static: the reviewer's key is typed into the page and every call is checked by the API;
    # no-referrer keeps case ids out of other sites' logs
    return HTMLResponse(
        _page("review.html"), headers={**_HEADERS, "Referrer-Policy": "no-referrer"}
    )


@router.get("/static/{name}")
async def asset(name: str) -> FileResponse:
    if name not in ASSETS:  # a fixed list: no path from the request reaches the filesystem
        raise ApiError(404, "not_found", f"no asset {name!r}")
    return FileResponse(WEB_DIR / name, media_type=ASSETS[name])
