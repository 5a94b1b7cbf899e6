"""One file's result as reports show it (the database row, made JSON-friendly)."""

from __future__ import annotations

from typing import Any


def public_row(row: dict[str, Any]) -> dict[str, Any]:
    error = None
    if row.get("error_code"):
        error = {"code": row["error_code"], "message": row.get("error_message")}
    return {
        "path": row["path"],
        "status": row.get("status"),
        "action": row.get("action"),
        "label": row.get("label"),
        "label_source": row.get("label_source"),
        "reasons": row.get("reasons") or [],
        "signals": row.get("signals"),
        "media": row.get("media"),
        "sha256": row.get("sha256"),
        "policy_version": row.get("policy_version"),
        "error": error,
        "seconds": row.get("seconds"),
        "creator_id": row.get("creator_id"),
        "pdq": row.get("pdq"),
        "finished_at": row.get("finished_at"),
    }


def signal(row: dict[str, Any], name: str, key: str) -> Any:
    part = (row.get("signals") or {}).get(name) or {}
    return part.get(key)
