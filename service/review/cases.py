"""Opening a case: in the transaction of the decision that escalated, never after.

The scan's audit row, the case, its media, the audit event and the outbox
event are one transaction: either the platform hears of a case that exists,
or there is neither.
"""

from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from ..db.audit import add_admin_event
from ..db.cases import CaseMediaRow, CaseRow, CaseTopicRow
from ..db.outbox import add_event

THUMB_PX = 256

# how urgent each kind of escalating reason is; the strongest reason sets the base
_REASON_WEIGHT = (
    ("bank.confirmed_misleading", 50),
    ("bank.match.", 40),
    ("sensitive_topic.", 30),
    ("creator.repeat_violations", 25),
)
_SEVERITY_WEIGHT = {"high": 20, "medium": 10}


@dataclass(frozen=True)
class CaseInput:
    """What a case is opened from: one escalated decision and its upload."""

    decision: dict[str, Any]
    context: dict[str, Any]
    scan_id: str | None
    sha256: str | None
    perceptual_hash: str | None
    mime: str | None
    topics: tuple[str, ...] = ()
    language: str | None = None
    media: bytes | None = None
    filename: str | None = None
    thumbnail: bytes | None = None
    kind: str = "upload"
    retroactive: bool = False


def priority(
    reasons: list[dict[str, Any]], signals: dict[str, Any], topics, history: int | None
) -> int:
    """0..100 from the reasons' severity, the sensitive topics and the creator's history.

    The weights are a starting point an operator can argue with; what matters
    is the order: a re-upload of a known fake on an election outranks an
    undisclosed AI picture of a cat.
    """
    escalating = [r.get("code", "") for r in reasons if r.get("action") in ("escalate", "remove")]
    base = 10
    for code in escalating or [r.get("code", "") for r in reasons]:
        for prefix, weight in _REASON_WEIGHT:
            if code.startswith(prefix):
                base = max(base, weight)
    match = signals.get("match") or {}
    if match.get("matched"):
        base += _SEVERITY_WEIGHT.get(str(match.get("severity") or "").lower(), 0)
    base += min(15, 10 + 5 * (len(topics) - 1)) if topics else 0
    base += min(20, 5 * int(history or 0))
    return max(0, min(100, base))


def thumbnail(data: bytes | None, mime: str | None) -> bytes | None:
    """A JPEG of at most 256 px a side; None for videos and anything Pillow refuses.

    The upload was already decoded within the service's limits by the
    analysis process, so this second decode is bounded; draft mode lets a
    JPEG decode at a fraction of its size.
    """
    if not data or not (mime or "").startswith("image/"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                img.draft("RGB", (THUMB_PX, THUMB_PX))
                img = img.convert("RGB")
                img.thumbnail((THUMB_PX, THUMB_PX))
                out = io.BytesIO()
                img.save(out, "JPEG", quality=80)
                return out.getvalue()
    except Exception:  # a case without a thumbnail is still a case
        return None


def join_topics(topics) -> str:
    return "".join(f",{t}" for t in sorted(set(topics))) + ("," if topics else "")


def event_payload(row: CaseRow, **extra: Any) -> dict[str, Any]:
    """What the platform needs to act on a case: ids and states, never media or scores."""
    return {
        "case_id": row.id,
        "scan_id": row.scan_id,
        "kind": row.kind,
        "retroactive": row.retroactive,
        "status": row.status,
        "priority": row.priority,
        "topics": [t for t in row.topics.split(",") if t],
        "creator_id": row.creator_id,
        "sha256": row.sha256,
        "verdict": row.verdict,
        **extra,
    }


def open_case(session, item: CaseInput, opened_by: str | None) -> CaseRow:
    """Stage a new case (and its media, audit and outbox rows) in the caller's transaction."""
    decision = item.decision
    reasons = list(decision.get("reasons") or [])
    signals = dict(decision.get("signals") or {})
    match = signals.get("match") or {}
    now = datetime.now(UTC)
    row = CaseRow(
        id=uuid.uuid4().hex,
        kind=item.kind,
        retroactive=item.retroactive,
        scan_id=item.scan_id,
        status="open",
        waiting=True,
        priority=priority(reasons, signals, item.topics, item.context.get("creator_history")),
        topics=join_topics(item.topics),
        language=item.language,
        reasons=reasons,
        signals=signals,
        context=dict(item.context),
        decision=dict(decision),
        creator_id=item.context.get("creator_id"),
        sha256=item.sha256,
        perceptual_hash=item.perceptual_hash,
        mime=item.mime,
        matched_entry_id=str(match["entry_id"]) if match.get("matched") else None,
        deciders=[],
        appeals=0,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()  # the media and topic rows point at the case
    for topic in sorted(set(item.topics)):
        session.add(
            CaseTopicRow(
                case_id=row.id,
                topic=topic[:64],
                waiting=True,
                priority=row.priority,
                created_at=now,
            )
        )
    session.add(
        CaseMediaRow(
            case_id=row.id, filename=item.filename, data=item.media, thumbnail=item.thumbnail
        )
    )
    add_admin_event(session, "case.open", opened_by, row.id, {"scan_id": item.scan_id})
    add_event(session, "case.opened", event_payload(row))
    return row


def batch_case(job_id: str, row: dict[str, Any]) -> CaseInput:
    """A case from one escalated file of a batch job: no upload context, no bytes kept
    (the job's files stay where the analyst has them), the thumbnail the job made."""
    decision = {k: row.get(k) for k in ("action", "label", "label_source", "policy_version")}
    decision.update(reasons=row.get("reasons") or [], signals=row.get("signals") or {})
    match = decision["signals"].get("match") or {}
    return CaseInput(
        decision=decision,
        context={"source": "batch", "job_id": job_id, "path": row.get("path")},
        scan_id=None,
        sha256=row.get("sha256"),
        perceptual_hash=match.get("query_pdq"),
        mime=(row.get("media") or {}).get("mime"),
        thumbnail=row.get("thumbnail"),
    )


def record_removal(session, scan_id: str, decision: dict[str, Any], context: dict) -> None:
    """A `remove` at upload: the platform must take the content down."""
    match = (decision.get("signals") or {}).get("match") or {}
    add_event(
        session,
        "upload.removed",
        {
            "scan_id": scan_id,
            "creator_id": context.get("creator_id"),
            "bank_entry_id": match.get("entry_id"),
            "reasons": [r.get("code") for r in decision.get("reasons") or []],
        },
    )
