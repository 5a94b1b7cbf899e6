"""The creator-facing answer: will a label be applied, why, and must I disclose?

A creator sees this before (or while) publishing. It is built only from the
decision's action, label, label source and reason *codes*, each mapped to a
fixed sentence written here. Reason messages and evidence are never copied:
they are written for analysts and may carry bank entry ids, hash distances,
watermark scores or policy thresholds, and showing those to an uploader would
teach them how far to push an edit to slip under the bar. Every sentence below
is free of digits, so no number from a signal can leak through by accident.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .decision import Decision
from .signals import BUILTIN_SIGNALS, Signal

LABEL_TEXT = {"ai_generated": "AI-generated", "ai_edited": "AI-edited"}

# where a label came from, in the creator's words: each signal says its own
# (`Signal.source_text`); the creator's own answer is not a signal
_CREATOR_TEXT = "what you told us when uploading"

# Fixed sentences per reason code. Codes not listed here say nothing to the
# creator (an operator's custom rule may name internals in its code).
_REASON_TEXT = {
    "c2pa.ai_generated": "Your file's Content Credentials say it was created with generative AI.",
    "c2pa.ai_edited": "Your file's Content Credentials say it was edited with generative AI.",
    "c2pa.invalid_ai_claim": (
        "Your file carries Content Credentials that mention AI, but they could not be verified."
    ),
    "c2pa.possibly_ai": "Your file's Content Credentials say AI may have been involved.",
    "metadata_hint": (
        "Your file's metadata suggests that an AI tool was used, but this cannot be verified."
    ),
    "watermark.detected": (
        "We found an invisible watermark that an AI tool adds to the images it generates."
    ),
    "c2pa.recovered": (
        "Content Credentials of an earlier upload of this picture were found through our "
        "invisible watermark, and they say AI was used."
    ),
    "bank.match.known_aigc": "It matches media we already know to be AI-generated.",
    "bank.near_match": "It resembles media we already know about.",
    "bank.confirmed_misleading": (
        "It matches media that our reviewers or fact-checking partners confirmed as misleading."
    ),
    "review.cleared": "A person already reviewed this media and cleared it.",
    "creator.disclosed": "You told us that this content was made with AI.",
    "disclosure.contradicted": (
        "You told us that no AI was used, but other evidence shows that it was. "
        "Repeated mismatches like this can limit your account."
    ),
    "creator.repeat_violations": (
        "Earlier uploads from this account broke our rules on labeling AI content."
    ),
    "signal.unavailable": "Some of our checks could not be completed for this file.",
    "no_signal": "We found no sign that AI was used to make or edit this file.",
}
_BANK_MATCH_OTHER = "It matches media that has been identified as manipulated or misleading."
# Topic names are shown only from this list: the part after `sensitive_topic.`
# comes from a policy template or the caller, and either could carry an id.
_TOPIC_TEXT = {
    "elections": "elections",
    "politics": "politics",
    "public_health": "public health",
    "health": "health",
    "war": "war",
    "armed_conflict": "armed conflict",
    "natural_disaster": "a natural disaster",
    "terrorism": "terrorism",
    "finance": "finance",
}


@dataclass(frozen=True)
class CreatorExplanation:
    action: str
    will_label: bool
    # ai_generated | ai_edited | None, and the words the viewer sees
    label: str | None
    label_text: str | None
    disclosure_required: bool
    under_review: bool
    headline: str
    why: tuple[str, ...]
    # the upload is not published (a re-upload of media confirmed as misleading)
    removed: bool = False
    # the label people will see: icon, short text per language, first exposure, source
    display: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return " ".join((self.headline, *self.why))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["why"] = list(self.why)
        data["text"] = self.text
        return data


def _creator_display(display: dict[str, Any] | None) -> dict[str, Any] | None:
    """The display block as the creator sees it: the signing certificate's subject is
    analyst detail like every other certificate field (the source already names the
    tool in plain words); verified identities, the creator's own, stay."""
    if display is None:
        return None
    return {k: v for k, v in display.items() if k != "signed_by"}


def explain(
    decision: Decision | dict,
    signals: tuple[Signal, ...] = BUILTIN_SIGNALS,
    *,
    disclosed: bool | None = None,
) -> CreatorExplanation:
    """Plain words for the creator; never a number, id, score or threshold.

    `disclosed` is the creator's own answer (True: AI was used, False: no AI
    was used, None: not asked); an answer given is never asked for again.
    """
    if isinstance(decision, dict):
        decision = Decision.from_dict(decision)
    action = decision.action
    will_label = action in ("label", "escalate") and decision.label in LABEL_TEXT
    label_text = LABEL_TEXT.get(decision.label) if will_label else None
    return CreatorExplanation(
        action=action,
        will_label=will_label,
        label=decision.label if will_label else None,
        label_text=label_text,
        disclosure_required=action == "require_disclosure",
        under_review=action == "escalate",
        removed=action == "remove",
        headline=_headline(
            action,
            label_text,
            _source_text(decision.label_source if will_label else None, signals),
            disclosed,
        ),
        why=_why(decision),
        display=_creator_display(decision.display) if will_label else None,
    )


def _source_text(source: str | None, signals: tuple[Signal, ...]) -> str | None:
    if source == "creator":
        return _CREATOR_TEXT
    return next((s.source_text for s in signals if s.name == source), None)


def _headline(
    action: str, label_text: str | None, source_text: str | None, disclosed: bool | None = None
) -> str:
    labelled = ""
    if label_text:
        labelled = f"It will carry an “{label_text}” label"
        if source_text:
            labelled += f", based on {source_text}"
        labelled += "."
    if action == "remove":
        # a removal is never "labelled": the upload does not appear at all
        return (
            "This upload will not be published: it matches content that our reviewers "
            "found to be misleading."
        )
    if action == "escalate":
        head = (
            "A person will review this upload before it is recommended widely; "
            "until then fewer people will see it."
        )
        return f"{head} {labelled}" if labelled else head
    if action == "label":
        return labelled or "A label about AI will be shown with this upload."
    if action == "require_disclosure" and disclosed is False:
        # the creator answered: weak evidence does not overrule them, it is only told
        return (
            "You told us that no AI was used, so no label is applied and your upload is "
            "published as it is. One of our checks found a possible sign of AI that it "
            "could not confirm (below); if AI was used after all, change your answer "
            "before publishing."
        )
    if action == "require_disclosure":
        return (
            "Before publishing, please tell us whether AI was used to make or edit this "
            "content. No label is applied yet."
        )
    return "No AI label will be applied to this upload."


def _why(decision: Decision) -> tuple[str, ...]:
    sentences: list[str] = []
    for reason in decision.reasons:
        sentence = _reason_sentence(reason.code)
        if sentence and sentence not in sentences:
            sentences.append(sentence)
    if not sentences and decision.action != "none":
        sentences.append("Our content policy for AI-made media applies to this upload.")
    return tuple(sentences)


def _reason_sentence(code: str) -> str | None:
    if code in _REASON_TEXT:
        return _REASON_TEXT[code]
    if code.startswith("bank.match."):
        return _BANK_MATCH_OTHER
    if code.startswith("sensitive_topic."):
        topic = _TOPIC_TEXT.get(code.removeprefix("sensitive_topic."))
        about = f"a sensitive topic ({topic})" if topic else "a sensitive topic"
        return (
            f"It appears to be about {about}, and content made with AI on such topics is "
            "checked by a person."
        )
    return None


__all__ = ["LABEL_TEXT", "CreatorExplanation", "explain"]
