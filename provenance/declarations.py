"""What a manifest declares about AI: digital source types and the `c2pa.ai-disclosure` assertion.

C2PA 2.4 added `c2pa.ai-disclosure`, a statement of AI use that stands beside
the actions. Its fields are read leniently (generators write it in more than
one shape): a `digitalSourceType` (one or a list) classifies it like an
action's; otherwise a flag naming generation or modification does.
"""

from __future__ import annotations

from .sourcetypes import GENAI_DST, INCEPTION_CLASS, POSSIBLY_GENAI_DST, RANK, dst_uri, short_dst

DISCLOSURE_LABEL = "c2pa.ai-disclosure"
# flags a disclosure may carry, and the class each one states when true
_FLAGS = (
    ("aiGenerated", "ai_generated"),
    ("generated", "ai_generated"),
    ("fullyGenerated", "ai_generated"),
    ("aiModified", "ai_edited"),
    ("aiEdited", "ai_edited"),
    ("modified", "ai_edited"),
    ("partlyGenerated", "ai_edited"),
    ("aiUsed", "possibly_ai"),
)


def disclosures(manifest: dict) -> list[dict]:
    out = []
    for assertion in manifest.get("assertions") or ():
        label = str(assertion.get("label", "")).split("__")[0]
        if label == DISCLOSURE_LABEL or label.startswith(DISCLOSURE_LABEL + "."):
            data = assertion.get("data")
            out.append(data if isinstance(data, dict) else {})
    return out


def disclosure_class(data: dict) -> tuple[str, str]:
    """(ai_class, what it says) of one `c2pa.ai-disclosure` assertion."""
    dsts = data.get("digitalSourceType") or data.get("digitalSourceTypes") or ()
    if isinstance(dsts, str):
        dsts = (dsts,)
    best = None
    for raw in dsts:
        uri = dst_uri(str(raw))
        cls = INCEPTION_CLASS.get(uri)
        if cls and (best is None or _rank(cls) > _rank(best[0])):
            best = (cls, f"digitalSourceType={short_dst(uri)}")
    if best:
        return best
    for key, cls in _FLAGS:
        if data.get(key) is True:
            return cls, f"{key}=true"
    return "possibly_ai", "AI use disclosed"


def _rank(cls: str) -> int:
    return RANK[cls]


def actions_of(manifest: dict) -> list[dict]:
    out: list[dict] = []
    for assertion in manifest.get("assertions") or ():
        label = str(assertion.get("label", ""))
        if label.split("__")[0] in ("c2pa.actions", "c2pa.actions.v2"):
            data = assertion.get("data") or {}
            out.extend(a for a in data.get("actions") or () if isinstance(a, dict))
    return out


def ai_declarations(manifest: dict) -> tuple[str, ...]:
    """One line per AI statement in this manifest: GenAI source types and disclosures."""
    out = []
    for action in actions_of(manifest):
        uri = dst_uri(str(action.get("digitalSourceType") or ""))
        if uri in GENAI_DST or uri in POSSIBLY_GENAI_DST:
            out.append(f"{action.get('action', '?')}: digitalSourceType={short_dst(uri)}")
    for data in disclosures(manifest):
        cls, what = disclosure_class(data)
        out.append(f"{DISCLOSURE_LABEL}: {what} ({cls})")
    return tuple(out)
