"""The HTML report's data: one compact record per file, the groups, the thumbnails.

Every file of the job is a record (the page renders them itself, a page at a
time), so the HTML report holds what the CSV holds, in the fields an analyst
reads. Records use short keys and an interned table of (reason code, message)
pairs: at 10^5 files the JSON stays around 20 MB and parses in a fraction of
a second. Thumbnails are kept apart, in chunks the page decodes only when a
card that shows one is on screen; past `thumb_budget` bytes the least severe
files go without a preview (the CSV/JSONL never had thumbnails anyway).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .groups import near_duplicate_groups

# most severe first: the order of the default sort and of the thumbnail budget
SEVERITY = ("remove", "escalate", "label", "require_disclosure", "none", "error")
THUMB_BUDGET = 16 * 1024 * 1024  # bytes of base64 thumbnails one report carries (~2,500 previews)
THUMB_CHUNK = 500  # thumbnails per <script> block the page decodes at once


def group_of(row: dict[str, Any]) -> str:
    if row.get("status") != "ok":
        return "error"
    return row.get("action") if row.get("action") in SEVERITY else "none"


def script_json(value: Any) -> str:
    """JSON safe inside <script type="application/json">: no `<`, `>` or `&` survives,
    so a file name cannot close the element (`</script>`) or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@dataclass
class ReportData:
    records: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[list[str]] = field(default_factory=list)  # [code, message] by number
    groups: list[dict[str, Any]] = field(default_factory=list)
    thumbs: list[str] = field(default_factory=list)  # base64 JPEGs by number
    counts: Counter = field(default_factory=Counter)  # files per action group
    reason_counts: Counter = field(default_factory=Counter)  # files per reason code
    labels: Counter = field(default_factory=Counter)
    thumbs_dropped: int = 0


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, [], {}, "")}


def _credentials(sig: dict[str, Any] | None) -> dict[str, Any] | None:
    if not sig or not (sig.get("present") or sig.get("state")):
        return None
    return _drop_none(
        {
            "st": sig.get("state"),
            "sg": sig.get("signer"),
            "tr": sig.get("trusted_by") or sig.get("trust") or sig.get("trust_state"),
            "sx": sig.get("state_text"),
            "rb": sig.get("rubric_class"),
            "id": sig.get("identities"),
            "ai": sig.get("ai_class"),
            "cg": sig.get("claim_generator"),
            "at": sig.get("signed_at"),
            "fc": sig.get("failure_codes"),
            "ch": sig.get("chain"),  # a manifest chain, when the credentials signal has one
        }
    )


def _watermark(sig: dict[str, Any] | None) -> dict[str, Any] | None:
    if not sig or not sig.get("detected"):
        return None
    return _drop_none(
        {
            "o": sig.get("owner"),
            "pv": sig.get("p_value"),
            "mn": sig.get("meaning"),
            "k": sig.get("key_id"),
            "x": sig.get("payload_hex"),
        }
    )


def _match(sig: dict[str, Any] | None, bank: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if not sig or not (sig.get("matched") or sig.get("near_match")):
        return None
    entry = bank.get(str(sig.get("entry_id"))) or {}
    return _drop_none(
        {
            "d": sig.get("distance"),
            "cat": sig.get("category") or entry.get("category"),
            "sev": sig.get("severity"),
            "e": sig.get("entry_id"),
            "h": sig.get("hash_type"),
            "near": bool(sig.get("near_match")) and not sig.get("matched"),
            "cf": sig.get("confirmed") or None,
            "note": entry.get("note"),
            "src": entry.get("source"),
            "ref": entry.get("reference_url"),
        }
    )


def _time(value: Any) -> int | None:
    """Epoch seconds (the page formats them): a third of the ISO text's bytes."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite hands back naive datetimes; we write UTC
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    return None


def _record(row: dict[str, Any], group: str, reason_no, bank) -> dict[str, Any]:
    signals = row.get("signals") or {}
    media = row.get("media") or {}
    reasons = [reason_no(r.get("code", ""), r.get("message", "")) for r in row.get("reasons") or []]
    error = [row.get("error_code") or "error", row.get("error_message") or ""]
    return _drop_none(
        {
            "p": row["path"],
            "a": group,
            "st": row.get("status") if row.get("status") != "ok" else None,
            "l": row.get("label"),
            "ls": row.get("label_source"),
            "r": reasons,
            "c": _credentials(signals.get("credentials")),
            "w": _watermark(signals.get("watermark")),
            "m": _match(signals.get("match"), bank),
            "se": signals.get("errors"),
            "e": error if group == "error" else None,
            "t": _time(row.get("finished_at")),
            "s": row.get("seconds"),
            "cr": row.get("creator_id"),
            # the SHA-256 and the policy version stay in the CSV/JSONL: at 10^5
            # files they would be a third of the page's data
            "mt": media.get("mime"),
            "wh": [media["width"], media["height"]] if media.get("width") else None,
        }
    )


def build(
    rows: Iterable[dict[str, Any]],
    bank: dict[str, dict[str, Any]] | None = None,
    thumb_budget: int = THUMB_BUDGET,
) -> ReportData:
    data = ReportData()
    numbers: dict[tuple[str, str], int] = {}

    def reason_no(code: str, message: str) -> int:
        key = (code, message)
        if key not in numbers:
            numbers[key] = len(data.reasons)
            data.reasons.append([code, message])
        return numbers[key]

    pdqs: list[str | None] = []
    raw_thumbs: list[bytes | None] = []
    for row in rows:
        group = group_of(row)
        record = _record(row, group, reason_no, bank or {})
        data.records.append(record)
        data.counts[group] += 1
        if row.get("label"):
            data.labels[row["label"]] += 1
        for code in {data.reasons[n][0] for n in record.get("r", ())}:
            data.reason_counts[code] += 1
        if group == "error":
            data.reason_counts[f"error: {record['e'][0]}"] += 1
        pdqs.append(
            row.get("pdq") or ((row.get("signals") or {}).get("match") or {}).get("query_pdq")
        )
        raw_thumbs.append(row.get("thumbnail"))
    _thumbnails(data, raw_thumbs, thumb_budget)
    _groups(data, pdqs)
    return data


def _thumbnails(data: ReportData, raw: list[bytes | None], budget: int) -> None:
    """Numbers thumbnails most severe file first until the budget is spent."""
    rank = {name: i for i, name in enumerate(SEVERITY)}
    order = sorted(
        (i for i, t in enumerate(raw) if t), key=lambda i: (rank[data.records[i]["a"]], i)
    )
    spent = 0
    for i in order:
        encoded = base64.b64encode(raw[i]).decode("ascii")
        if spent + len(encoded) > budget:
            data.thumbs_dropped += 1
            data.records[i]["th"] = -1
            continue
        spent += len(encoded)
        data.records[i]["th"] = len(data.thumbs)
        data.thumbs.append(encoded)


def _groups(data: ReportData, pdqs: list[str | None]) -> None:
    for number, members in enumerate(near_duplicate_groups(pdqs)):
        creators = {data.records[i].get("cr") for i in members} - {None}
        actions = Counter(data.records[i]["a"] for i in members)
        for i in members:
            data.records[i]["g"] = number
        data.groups.append(
            {
                "n": len(members),
                "cr": len(creators),
                "a": dict(actions),
                "first": data.records[members[0]]["p"],
            }
        )
