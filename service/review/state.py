"""What an upload's state is now: the decision as made, then what people decided.

The decision stored with a scan never changes (it is the audit trail); its
current state follows the case: under review it is escalated with reduced
distribution; a verdict sets the action the platform applies from then on.
"""

from __future__ import annotations

from typing import Any

# the distribution of content that is no longer shown at all
REMOVED = "removed"
# the notice shown with content whose fact-check was inconclusive
UNVERIFIED_NOTICE = "unverified_claim"


def _label(decision: dict[str, Any]) -> str | None:
    return decision.get("label") or "ai_generated"


def current_state(
    decision: dict[str, Any], status: str | None, verdict: str | None
) -> dict[str, Any]:
    """{action, label, distribution, notice} for a decision and its case's status and verdict."""
    made = {
        "action": decision.get("action"),
        "label": decision.get("label"),
        "distribution": decision.get("distribution", "normal"),
        "notice": None,
    }
    if made["action"] == "remove":
        return {**made, "distribution": REMOVED}
    if status is None:
        return made
    if verdict is None:
        # open, in review, or appealed before any verdict: a person has not decided yet
        return {**made, "action": "escalate", "distribution": "reduced"}
    if verdict == "confirmed_misleading":
        return {**made, "action": "remove", "label": _label(decision), "distribution": REMOVED}
    if verdict == "unverified":
        return {
            "action": "label",
            "label": _label(decision),
            "distribution": "reduced",
            "notice": UNVERIFIED_NOTICE,
        }
    if verdict == "ai_label_only":
        return {**made, "action": "label", "label": _label(decision), "distribution": "normal"}
    # cleared: what escalated was wrong; a label from the bank match goes with it,
    # one from the upload's own credentials or watermark stays
    label = decision.get("label") if decision.get("label_source") != "match" else None
    return {
        "action": "label" if label else "none",
        "label": label,
        "distribution": "normal",
        "notice": None,
    }
