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

from .declarations import actions_of, disclosure_class, disclosures
from .sourcetypes import (
    AI_CLASSES,
    C2PA_DST,
    GENAI_DST,
    INCEPTION_CLASS,
    IPTC,
    PERCEPTIBLE_GENAI,
    PERCEPTIBLE_POSSIBLY_GENAI,
    POSSIBLY_GENAI_DST,
    RANK,
    RUBRIC_INCEPTION,
    UNKNOWN_PROVENANCE,
    dst_uri,
    short_dst,
)

__all__ = [
    "AI_CLASSES",
    "C2PA_DST",
    "IPTC",
    "RANK",
    "Classification",
    "actions_of",
    "classify",
    "short_dst",
]

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


@dataclass(frozen=True)
class Classification:
    ai_class: str
    # human-readable, one line each: which manifest, which action, which digitalSourceType
    evidence: tuple[str, ...]
    # the C2PA Asset Rubrics 1.0 signal behind ai_class (fullyGenAIMedia, ...), if any
    rubric_class: str | None = None


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
    memo: dict[str, tuple[str, tuple[str, ...], str | None]] = {}
    ai_class, evidence, rubric_class = _classify(active, manifests, memo, frozenset())
    return Classification(ai_class, evidence, rubric_class)


def _classify(label, manifests, memo, visiting) -> tuple[str, tuple[str, ...], str | None]:
    if label in memo:
        return memo[label]
    manifest = manifests.get(label)
    if manifest is None or label in visiting:
        return "unknown", (), None
    visiting = visiting | {label}
    who = f"manifest {label}"
    best, evidence, rubric = "unknown", (), None

    def take(cls: str, why: tuple[str, ...], signal: str | None) -> None:
        nonlocal best, evidence, rubric
        if RANK[cls] > RANK[best] or (RANK[cls] == RANK[best] and rubric is None):
            best, evidence, rubric = cls, why, signal

    # Inception in this manifest.
    for action in actions_of(manifest):
        name = action.get("action")
        dst = dst_uri(action.get("digitalSourceType"))
        if name in INCEPTION_ACTIONS and dst in INCEPTION_CLASS:
            why = (f"{who}: {name} digitalSourceType={short_dst(dst)}",)
            take(INCEPTION_CLASS[dst], why, RUBRIC_INCEPTION[dst])

    # What the manifest discloses in a c2pa.ai-disclosure assertion (C2PA 2.4).
    for data in disclosures(manifest):
        cls, what = disclosure_class(data)
        take(cls, (f"{who}: c2pa.ai-disclosure {what}",), None)

    unknown_ingredient = _ingredient_classes(manifest, manifests, memo, visiting, who, take)

    # Perceptible transformations: generative edits make the asset AI-edited, never
    # less than that; non-editorial actions (transcode, resize, watermark) change nothing.
    for action in actions_of(manifest):
        name = action.get("action")
        dst = dst_uri(action.get("digitalSourceType"))
        if name in INCEPTION_ACTIONS or name in NON_EDITORIAL_ACTIONS or not name:
            continue
        why = (f"{who}: {name} digitalSourceType={short_dst(dst)}",)
        if dst in GENAI_DST:
            take("ai_edited", why, PERCEPTIBLE_GENAI)
        elif dst in POSSIBLY_GENAI_DST:
            take("possibly_ai", why, PERCEPTIBLE_POSSIBLY_GENAI)

    if best == "unknown" and unknown_ingredient:
        rubric = UNKNOWN_PROVENANCE
    memo[label] = (best, evidence, rubric)
    return best, evidence, rubric


def _ingredient_classes(manifest, manifests, memo, visiting, who, take) -> bool:
    """A parent passes its class on (opened / re-signed); a component adds to a composition.

    Returns whether an ingredient came with neither a manifest nor a source type
    (the rubric's media of unknown provenance).
    """
    unknown = False
    for relationship, title, parent, dst in _ingredients(manifest):
        dst = dst_uri(dst)
        if parent in manifests:
            cls, why, signal = _classify(parent, manifests, memo, visiting)
            via = f"{who}: ingredient '{title}' ({relationship}, manifest {parent})"
        elif dst in INCEPTION_CLASS:
            cls, why, signal = INCEPTION_CLASS[dst], (), RUBRIC_INCEPTION[dst]
            via = f"{who}: ingredient '{title}' ({relationship}) digitalSourceType={short_dst(dst)}"
        else:
            unknown = True
            continue
        if relationship == "parentOf":
            take(cls, (via, *why), signal)
        elif cls in ("ai_generated", "ai_edited"):
            take("ai_edited", (via + f" is {cls}", *why), "partlyGenAICreation")
        elif cls == "possibly_ai":
            take("possibly_ai", (via, *why), "compositionMayContainGenAI")
    return unknown
