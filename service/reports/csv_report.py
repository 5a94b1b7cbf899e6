"""One CSV row per file: the decision and the signals flattened into columns.

Cells that a spreadsheet would run as a formula (a hostile archive can name a
member "=HYPERLINK(...)") are prefixed with a quote.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO, Any

from .rows import signal

COLUMNS = (
    "path",
    "status",
    "action",
    "label",
    "label_source",
    "reason_codes",
    "reasons",
    "credentials_present",
    "credentials_state",
    "credentials_ai_class",
    "credentials_signer",
    "watermark_detected",
    "watermark_owner",
    "watermark_meaning",
    "watermark_payload_hex",
    "watermark_p_value",
    "match_matched",
    "match_category",
    "match_severity",
    "match_distance",
    "match_entry_id",
    "signal_errors",
    "mime",
    "width",
    "height",
    "sha256",
    "policy_version",
    "error_code",
    "error_message",
    "seconds",
    "creator_id",
    "pdq",
    "finished_at",
    "signals_json",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def flatten(row: dict[str, Any]) -> dict[str, Any]:
    reasons = row.get("reasons") or []
    media = row.get("media") or {}
    signals = row.get("signals")
    flat = {
        "path": row["path"],
        "status": row.get("status"),
        "action": row.get("action"),
        "label": row.get("label"),
        "label_source": row.get("label_source"),
        "reason_codes": ";".join(r.get("code", "") for r in reasons),
        "reasons": " | ".join(r.get("message", "") for r in reasons),
        "signal_errors": ";".join((signals or {}).get("errors") or ()),
        "mime": media.get("mime"),
        "width": media.get("width"),
        "height": media.get("height"),
        "sha256": row.get("sha256"),
        "policy_version": row.get("policy_version"),
        "error_code": row.get("error_code"),
        "error_message": row.get("error_message"),
        "seconds": row.get("seconds"),
        "creator_id": row.get("creator_id"),
        "pdq": row.get("pdq"),
        "finished_at": row.get("finished_at"),
        "signals_json": json.dumps(signals, default=str, sort_keys=True) if signals else "",
    }
    for column in COLUMNS:
        for name in ("credentials", "watermark", "match"):
            if column.startswith(name + "_"):
                flat[column] = signal(row, name, column.removeprefix(name + "_"))
    return flat


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in flatten(row).items()})
