"""Digital source types (IPTC NewsCodes and C2PA's own) and the classes they stand for.

Two names per type: our `ai_class` (what the labeler acts on) and the C2PA
Asset Rubrics 1.0 signal it raises (`rubric_class`, what a user-facing label
is phrased from). Types the rubric has no inception signal for keep our class
and the nearest rubric signal named in the comment beside them.
"""

from __future__ import annotations

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
C2PA_DST = "http://c2pa.org/digitalsourcetype/"

# $genai_dst_types and $possibly_genai_dst_types of asset-rubric-signals-local.yml
GENAI_DST = frozenset(
    {
        IPTC + "trainedAlgorithmicMedia",
        IPTC + "compositeWithTrainedAlgorithmicMedia",
        IPTC + "compositeSynthetic",
        C2PA_DST + "trainedAlgorithmicData",
    }
)
POSSIBLY_GENAI_DST = frozenset({IPTC + "digitalArt", IPTC + "composite"})

# type -> (ai_class, rubric inception signal). Fully GenAI media is ai_generated;
# a partly GenAI creation is ai_edited; compositions and screen captures "may
# contain GenAI". algorithmicMedia (a formula, no training data) is not GenAI.
SOURCE_TYPES: dict[str, tuple[str, str]] = {
    IPTC + "trainedAlgorithmicMedia": ("ai_generated", "fullyGenAIMedia"),
    C2PA_DST + "trainedAlgorithmicData": ("ai_generated", "fullyGenAIMedia"),
    IPTC + "compositeWithTrainedAlgorithmicMedia": ("ai_edited", "partlyGenAICreation"),
    # synthetic parts composed together: GenAI in the rubric's list, not an inception signal
    IPTC + "compositeSynthetic": ("ai_edited", "partlyGenAICreation"),
    IPTC + "composite": ("possibly_ai", "compositionMayContainGenAI"),
    IPTC + "screenCapture": ("possibly_ai", "screenCaptureMayContainGenAI"),
    IPTC + "digitalArt": ("possibly_ai", "compositionMayContainGenAI"),
    IPTC + "digitalCapture": ("capture", "capturedMedia"),
    IPTC + "computationalCapture": ("capture", "capturedMedia"),
    IPTC + "compositeCapture": ("capture", "capturedMediaStitched"),
    IPTC + "negativeFilm": ("capture", "capturedMedia"),
    IPTC + "positiveFilm": ("capture", "capturedMedia"),
    IPTC + "print": ("capture", "capturedMedia"),
    IPTC + "digitalCreation": ("non_ai_creation", "nonGenAIDigitalCreation"),
    IPTC + "algorithmicMedia": ("non_ai_creation", "nonGenAIDigitalCreation"),
    IPTC + "dataDrivenMedia": ("non_ai_creation", "nonGenAIDigitalCreation"),
    IPTC + "virtualRecording": ("non_ai_creation", "nonGenAIDigitalCreation"),
    IPTC + "softwareImage": ("non_ai_creation", "nonGenAIDigitalCreation"),
    # edits, not origins: as an inception they say a person made it with tools
    IPTC + "humanEdits": ("non_ai_creation", "nonGenAIDigitalCreation"),
    IPTC + "minorHumanEdits": ("non_ai_creation", "nonGenAIDigitalCreation"),
    IPTC + "algorithmicallyEnhanced": ("non_ai_creation", "nonGenAIDigitalCreation"),
    C2PA_DST + "empty": ("non_ai_creation", "blankCanvas"),
}
INCEPTION_CLASS = {uri: cls for uri, (cls, _) in SOURCE_TYPES.items()}
RUBRIC_INCEPTION = {uri: name for uri, (_, name) in SOURCE_TYPES.items()}

# The rubric's transformation signals, by the source type of a non-inception action.
PERCEPTIBLE_GENAI = "perceptibleGenAI"
PERCEPTIBLE_POSSIBLY_GENAI = "perceptiblePossiblyGenAI"
PERCEPTIBLE_NON_GENAI = "perceptibleNonGenAI"
UNKNOWN_PROVENANCE = "mediaUnknownProvenance"
RUBRIC_CLASSES = (
    *sorted(set(RUBRIC_INCEPTION.values())),
    PERCEPTIBLE_GENAI,
    PERCEPTIBLE_POSSIBLY_GENAI,
    PERCEPTIBLE_NON_GENAI,
    UNKNOWN_PROVENANCE,
)

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


def dst_uri(value: str | None) -> str | None:
    """The full URI of a source type: trimmed (some writers pad it), bare names as IPTC codes."""
    if not value:
        return None
    value = str(value).strip()
    if not value:
        return None
    if "/" not in value and ":" not in value:
        return IPTC + value
    return value


def short_dst(dst: str | None) -> str | None:
    dst = dst_uri(dst)
    if not dst:
        return None
    for prefix in (IPTC, C2PA_DST):
        if dst.startswith(prefix):
            return dst[len(prefix) :]
    return dst
