"""`Client`: the HTTP API from Python, on httpx.

    from service.client import Client

    with Client("http://127.0.0.1:8000", api_key) as aigc:
        result = aigc.scan("photo.jpg", caption="Ga stemmen!")
        result.decision.action, result.decision.reason_codes

Every error answer raises `service.client.ApiError` (a subclass per status)
with the service's `code` and `message`; a connection that fails raises
`TransportError`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO, Any

import httpx

from .errors import ApiError, TransportError, from_answer
from .models import ApiKey, BankEntry, BankPage, BatchJob, LabelCheck, ScanResult

Media = bytes | str | os.PathLike | IO[bytes]


def _file(media: Media, filename: str | None) -> tuple[str, bytes]:
    """(name, bytes) of the upload: bytes as given, a path read, a file object read."""
    if isinstance(media, bytes | bytearray):
        return filename or "upload", bytes(media)
    if isinstance(media, str | os.PathLike):
        path = Path(media)
        return filename or path.name, path.read_bytes()
    name = filename or Path(getattr(media, "name", "upload")).name
    return name, media.read()


def _bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _context(**fields: Any) -> dict[str, str]:
    """The upload context as the form fields the service reads (lists comma-separated)."""
    out = {}
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = _bool(value)
        elif isinstance(value, list | tuple | set):
            out[name] = ",".join(value)
        else:
            out[name] = str(value)
    return out


class Client:
    """One service, one API key; use as a context manager (or call `close()`)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- one request -----------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise TransportError(f"{method} {path}: {exc}") from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise from_answer(response.status_code, body, response.headers.get("retry-after"))
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    # --- scans -------------------------------------------------------------------
    def scan(
        self,
        media: Media,
        *,
        filename: str | None = None,
        creator_id: str | None = None,
        creator_disclosed_ai: bool | None = None,
        caption: str | None = None,
        hashtags: list[str] | None = None,
        sensitive_topics: list[str] | None = None,
    ) -> ScanResult:
        """POST /v1/scan (pipeline or admin key): the decision on one upload."""
        context = _context(
            creator_id=creator_id,
            creator_disclosed_ai=creator_disclosed_ai,
            caption=caption,
            hashtags=hashtags,
            sensitive_topics=sensitive_topics,
        )
        body = self._json("POST", "/v1/scan", files={"file": _file(media, filename)}, data=context)
        return ScanResult.from_dict(body)

    def get_scan(self, scan_id: str) -> dict[str, Any]:
        """GET /v1/scans/{id}: the stored decision with its case and current state."""
        return self._json("GET", f"/v1/scans/{scan_id}")

    def label_check(
        self,
        media: Media,
        *,
        filename: str | None = None,
        creator_disclosed_ai: bool | None = None,
        caption: str | None = None,
        hashtags: list[str] | None = None,
    ) -> LabelCheck:
        """POST /v1/label-check (creator key): will the upload be labeled, and why."""
        context = _context(
            creator_disclosed_ai=creator_disclosed_ai, caption=caption, hashtags=hashtags
        )
        files = {"file": _file(media, filename)}
        return LabelCheck.from_dict(
            self._json("POST", "/v1/label-check", files=files, data=context)
        )

    # --- the bank of known media (admin) ---------------------------------------------
    def bank_add(
        self,
        media: Media | None = None,
        *,
        pdq: str | None = None,
        category: str,
        severity: str | None = None,
        note: str | None = None,
        source: str | None = None,
        filename: str | None = None,
    ) -> BankEntry:
        """POST /v1/bank/entries: the media (hashed, never stored) or its PDQ hash."""
        data = _context(pdq=pdq, category=category, severity=severity, note=note, source=source)
        files = {"file": _file(media, filename)} if media is not None else None
        return BankEntry.from_dict(self._json("POST", "/v1/bank/entries", data=data, files=files))

    def bank_list(
        self,
        *,
        category: str | None = None,
        state: str = "active",
        page: int = 1,
        per_page: int = 50,
    ) -> BankPage:
        params = {"state": state, "page": page, "per_page": per_page}
        if category:
            params["category"] = category
        return BankPage.from_dict(self._json("GET", "/v1/bank/entries", params=params))

    def bank_remove(self, entry_id: int) -> BankEntry:
        return BankEntry.from_dict(self._json("DELETE", f"/v1/bank/entries/{entry_id}"))

    # --- API keys (admin) ------------------------------------------------------------
    def keys_create(self, role: str, **fields: Any) -> ApiKey:
        """POST /v1/keys; the answer's `key` is the secret, shown this once."""
        body = {"role": role, **{k: v for k, v in fields.items() if v is not None}}
        return ApiKey.from_dict(self._json("POST", "/v1/keys", json=body))

    def keys_list(self) -> list[ApiKey]:
        return [ApiKey.from_dict(k) for k in self._json("GET", "/v1/keys")]

    def keys_revoke(self, key_id: str) -> ApiKey:
        return ApiKey.from_dict(self._json("DELETE", f"/v1/keys/{key_id}"))

    # --- batch jobs (analyst) --------------------------------------------------------
    def batch_start(self, archive: Media | None = None, *, path: str | None = None) -> BatchJob:
        """POST /v1/batch: a .zip/.tar archive of media, or a path below AIGC_BATCH_ROOT."""
        files = {"file": _file(archive, None)} if archive is not None else None
        data = {"path": path} if path is not None else None
        return BatchJob.from_dict(self._json("POST", "/v1/batch", files=files, data=data))

    def batch_status(self, job_id: str) -> BatchJob:
        return BatchJob.from_dict(self._json("GET", f"/v1/batch/{job_id}"))

    def batch_wait(self, job_id: str, *, timeout: float = 600.0, every: float = 0.5) -> BatchJob:
        """Poll until the job is done, failed or interrupted; TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.batch_status(job_id)
            if job.finished:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch job {job_id} still {job.status} after {timeout:g} s")
            time.sleep(every)

    def batch_report(self, job_id: str, format: str = "jsonl") -> bytes:
        """The report (html, csv or jsonl) of what is done so far."""
        params = {"format": format}
        return self._request("GET", f"/v1/batch/{job_id}/report", params=params).content


__all__ = ["ApiError", "Client", "TransportError"]
