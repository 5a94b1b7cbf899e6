"""What one worker does with one file: read it, decide, make a thumbnail.

The function is top-level and takes plain strings so that a process pool or a
Dask worker can run it; each process builds its labeler Engine once (from the
environment) and keeps it for every file after.
"""

from __future__ import annotations

import os
import stat
import time
from typing import Any

import cv2
import numpy as np

import matching
from labeler import Decision, Engine, LabelerError, UploadContext
from service.db import bank_source

THUMB_PX = 160
_engine: Engine | None = None


def engine() -> Engine:
    """This process's engine, built on first use (a cache that is safe to drop)."""
    global _engine
    if _engine is None:
        # one process per core already: OpenCV's own thread pool would only
        # oversubscribe the cores the other workers are using
        cv2.setNumThreads(1)
        _engine = Engine.from_env(bank=bank_source.from_env())
    return _engine


def error_code(exc: BaseException) -> str:
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def error_row(key: str, code: str, message: str, status: str = "error") -> dict[str, Any]:
    return {"path": key, "status": status, "error_code": code, "error_message": message}


def decision_fields(decision: Decision) -> dict[str, Any]:
    return {
        "status": "ok",
        "action": decision.action,
        "label": decision.label,
        "label_source": decision.label_source,
        "policy_version": decision.policy_version,
        "reasons": [
            {"code": r.code, "message": r.message, "evidence": r.evidence} for r in decision.reasons
        ],
        "signals": decision.signals,
        "media": decision.media,
        "sha256": (decision.media or {}).get("sha256"),
    }


def thumbnail(rgb: np.ndarray, px: int = THUMB_PX) -> bytes | None:
    """A small JPEG of an already decoded frame (no second decode of the file)."""
    try:
        h, w = rgb.shape[:2]
        scale = px / max(h, w)
        if scale < 1:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            if scale < 0.5:
                # area-averaging a full frame costs ~12 ms; a bilinear step to
                # twice the size first keeps the quality for well under 1 ms
                twice = (size[0] * 2, size[1] * 2)
                rgb = cv2.resize(rgb, twice, interpolation=cv2.INTER_LINEAR)
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
        ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 75])
        return encoded.tobytes() if ok else None
    except Exception:  # a thumbnail is a nicety; the decision is already made
        return None


def _pdq(analysis) -> str | None:
    """The first frame's PDQ for the report's near-duplicate groups: the match
    signal's own when it hashed the upload (a bank was loaded), else computed."""
    match = (analysis.decision.signals or {}).get("match") or {}
    if match.get("query_pdq"):
        return str(match["query_pdq"])
    try:
        return matching.compute_hashes(
            analysis.media.frames[0], strip_bars=False, phash=False
        ).pdq_hex
    except Exception:  # too small to hash, or a bug: in no group; the decision stands
        return None


def process_file(key: str, path: str, thumbnails: bool = True) -> dict[str, Any]:
    """One result row for one file; never raises for a bad file."""
    started = time.perf_counter()
    eng = engine()
    try:
        info = os.stat(path)
        size = info.st_size
        if not stat.S_ISREG(info.st_mode):
            # a FIFO or device in a list of paths would block the read forever
            return _timed(error_row(key, "not_a_file", "not a regular file"), started)
        if size > eng.limits.max_bytes:
            row = error_row(
                key,
                "media_too_large",
                f"{size} bytes is more than the limit {eng.limits.max_bytes}",
            )
            return _timed(row, started)
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return _timed(error_row(key, "unreadable", exc.strerror or str(exc)), started)
    try:
        # the analysis keeps the decoded frames for the thumbnail: decoding a
        # second time would cost a tenth of the file's time
        analysis = eng.run(data, os.path.basename(path), UploadContext())
    except LabelerError as exc:
        return _timed(error_row(key, error_code(exc), str(exc)), started)
    except Exception as exc:  # a bug on one file must not stop a run of millions
        return _timed(error_row(key, "internal_error", f"{type(exc).__name__}: {exc}"), started)
    row = {"path": key, **decision_fields(analysis.decision)}
    if analysis.media.frames:
        row["pdq"] = _pdq(analysis)
        if thumbnails:
            row["thumbnail"] = thumbnail(analysis.media.frames[0])
    return _timed(row, started)


def _timed(row: dict[str, Any], started: float) -> dict[str, Any]:
    row["seconds"] = round(time.perf_counter() - started, 6)
    return row
