"""The AI class of a manifest store, following the C2PA Asset Rubrics (signals, local).

Every manifest in the store is classified on its own (inception: the
digitalSourceType of `c2pa.created` / `c2pa.opened`; transformations: any other
action that is not on the non-editorial list), then classes flow along the
ingredient graph: a parent (`parentOf`) passes its class on, so an AI image
re-signed by another tool without new claims stays AI; an AI component
(`componentOf`) makes the composition AI-edited. The rubric treats each
manifest locally; the walk over ingredients is ours, because a platform has to
label the asset, not one node of its history.
"""

from __future__ import annotations

from dataclasses import dataclass

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
C2PA_DST = "http://c2pa.org/digitalsourcetype/"

INCEPTION_ACTIONS = frozenset({"c2pa.created", "c2pa.opened"})
# $non_editorial_actions of asset-rubric-signals-local.yml
NON_EDITORIAL_ACTIONS = frozenset(
    {
        "c2pa.converted",
        "c2pa.published",
        "c2pa.repackaged",
        "c2pa.transcoded",
        "c2pa.resized.proportional",
        "c2pa.enhanced",
        "c2pa.edited.metadata",
        "c2pa.watermarked",
        "c2pa.watermarked.bound",
        "c2pa.watermarked.unbound",
        "c2pa.redacted",
    }
)
# $genai_dst_types and $possibly_genai_dst_types
GENAI_DST = frozenset(
    {
        IPTC + "trainedAlgorithmicMedia",
        IPTC + "compositeWithTrainedAlgorithmicMedia",
        IPTC + "compositeSynthetic",
        C2PA_DST + "trainedAlgorithmicData",
    }
)
POSSIBLY_GENAI_DST = frozenset({IPTC + "digitalArt", IPTC + "composite"})

# Inception signal -> class. Fully GenAI media is ai_generated; a partly GenAI
# creation is ai_edited; compositions and screen captures "may contain GenAI".
# algorithmicMedia (a formula, no training data) is not generative AI.
INCEPTION_CLASS = {
    IPTC + "trainedAlgorithmicMedia": "ai_generated",
    C2PA_DST + "trainedAlgorithmicData": "ai_generated",
    IPTC + "compositeWithTrainedAlgorithmicMedia": "ai_edited",
    IPTC + "compositeSynthetic": "ai_edited",
    IPTC + "composite": "possibly_ai",
    IPTC + "screenCapture": "possibly_ai",
    IPTC + "digitalArt": "possibly_ai",
    IPTC + "digitalCapture": "capture",
    IPTC + "computationalCapture": "capture",
    IPTC + "compositeCapture": "capture",
    IPTC + "negativeFilm": "capture",
    IPTC + "positiveFilm": "capture",
    IPTC + "print": "capture",
    IPTC + "digitalCreation": "non_ai_creation",
    IPTC + "algorithmicMedia": "non_ai_creation",
    IPTC + "virtualRecording": "non_ai_creation",
    C2PA_DST + "empty": "non_ai_creation",
}

# Higher wins when two pieces of evidence disagree.
RANK = {
    "unknown": 0,
    "non_ai_creation": 1,
    "capture": 2,
    "possibly_ai": 3,
    "ai_edited": 4,
    "ai_generated": 5,
}
AI_CLASSES = tuple(RANK)


@dataclass(frozen=True)
class Classification:
    ai_class: str
    # human-readable, one line each: which manifest, which action, which digitalSourceType
    evidence: tuple[str, ...]


def short_dst(dst: str | None) -> str | None:
    if not dst:
        return None
    for prefix in (IPTC, C2PA_DST):
        if dst.startswith(prefix):
            return dst[len(prefix) :]
    return dst


def actions_of(manifest: dict) -> list[dict]:
    out: list[dict] = []
    for assertion in manifest.get("assertions") or ():
        label = str(assertion.get("label", ""))
        if label.split("__")[0] in ("c2pa.actions", "c2pa.actions.v2"):
            data = assertion.get("data") or {}
            out.extend(a for a in data.get("actions") or () if isinstance(a, dict))
    return out


def _ingredients(manifest: dict) -> list[tuple[str, str, str | None, str | None]]:
    """(relationship, title, manifest label, digitalSourceType) of each ingredient.

    A v3 ingredient either links its own manifest or, having none, may state a
    digitalSourceType itself (C2PA 2.4: the two are mutually exclusive).
    """
    out = []
    for ing in manifest.get("ingredients") or ():
        out.append(
            (
                ing.get("relationship") or "componentOf",
                ing.get("title") or "?",
                ing.get("active_manifest"),
                ing.get("digitalSourceType") or ing.get("digital_source_type"),
            )
        )
    return out


def classify(store: dict) -> Classification:
    manifests = store.get("manifests") or {}
    active = store.get("active_manifest")
    if not active or active not in manifests:
        return Classification("unknown", ("no active manifest",))
    memo: dict[str, tuple[str, tuple[str, ...]]] = {}
    ai_class, evidence = _classify(active, manifests, memo, frozenset())
    return Classification(ai_class, evidence)


def _classify(label, manifests, memo, visiting) -> tuple[str, tuple[str, ...]]:
    if label in memo:
        return memo[label]
    manifest = manifests.get(label)
    if manifest is None or label in visiting:
        return "unknown", ()
    visiting = visiting | {label}
    who = f"manifest {label}"
    best, evidence = "unknown", ()

    def take(cls: str, why: tuple[str, ...]) -> None:
        nonlocal best, evidence
        if RANK[cls] > RANK[best]:
            best, evidence = cls, why

    # Inception in this manifest.
    for action in actions_of(manifest):
        name = action.get("action")
        dst = action.get("digitalSourceType")
        if name in INCEPTION_ACTIONS and dst in INCEPTION_CLASS:
            take(INCEPTION_CLASS[dst], (f"{who}: {name} digitalSourceType={short_dst(dst)}",))

    # A parent passes its class on (opened / re-signed); a component adds to a composition.
    for relationship, title, parent, dst in _ingredients(manifest):
        if parent in manifests:
            cls, why = _classify(parent, manifests, memo, visiting)
            via = f"{who}: ingredient '{title}' ({relationship}, manifest {parent})"
        elif dst in INCEPTION_CLASS:
            cls, why = INCEPTION_CLASS[dst], ()
            via = f"{who}: ingredient '{title}' ({relationship}) digitalSourceType={short_dst(dst)}"
        else:
            continue
        if relationship == "parentOf":
            take(cls, (via, *why))
        elif cls in ("ai_generated", "ai_edited"):
            take("ai_edited", (via + f" is {cls}", *why))
        elif cls == "possibly_ai":
            take("possibly_ai", (via, *why))

    # Perceptible transformations: generative edits make the asset AI-edited, never
    # less than that; non-editorial actions (transcode, resize, watermark) change nothing.
    for action in actions_of(manifest):
        name = action.get("action")
        dst = action.get("digitalSourceType")
        if name in INCEPTION_ACTIONS or name in NON_EDITORIAL_ACTIONS or not name:
            continue
        why = (f"{who}: {name} digitalSourceType={short_dst(dst)}",)
        if dst in GENAI_DST:
            take("ai_edited", why)
        elif dst in POSSIBLY_GENAI_DST:
            take("possibly_ai", why)

    memo[label] = (best, evidence)
    return best, evidence
