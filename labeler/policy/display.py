"""What a person is shown beside labelled content: icon, short text, when, and from whom.

The EU code of practice on marking and labelling AI-generated content (AI Act
Art. 50) has platforms show a common "AI" icon with a few words for generated
or modified content, at the first exposure. The decision carries that as its
`display` block; a policy file may add languages or reword the texts:

    display:
      first_exposure: true
      texts:
        ai_generated: {it: Generato con l'IA}
        ai_edited: {it: Modificato con l'IA}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..decision import LABELS

EU_AI_ICON = "eu-common-ai-icon"
ICON_MEANING = "the EU common icon for AI-generated or AI-modified content (EU AI Act)"

DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "ai_generated": {
        "en": "AI-generated",
        "nl": "Gemaakt met AI",
        "de": "KI-generiert",
        "fr": "Généré par l'IA",
        "es": "Generado con IA",
    },
    "ai_edited": {
        "en": "Modified with AI",
        "nl": "Bewerkt met AI",
        "de": "Mit KI verändert",
        "fr": "Modifié par l'IA",
        "es": "Modificado con IA",
    },
}
DISPLAY_KEYS = {"first_exposure", "texts", "icon"}


@dataclass(frozen=True)
class DisplayConfig:
    texts: dict[str, dict[str, str]] = field(default_factory=lambda: DEFAULT_TEXTS)
    first_exposure: bool = True
    icon: str = EU_AI_ICON


def parse_display(node: Any) -> DisplayConfig:
    """The policy file's `display:` mapping over the defaults; ValueError says what is wrong."""
    if node is None:
        return DisplayConfig()
    if not isinstance(node, dict):
        raise ValueError("display must be a mapping")
    unknown = set(node) - DISPLAY_KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)}; expected {sorted(DISPLAY_KEYS)}")
    texts = {label: dict(words) for label, words in DEFAULT_TEXTS.items()}
    for label, words in (node.get("texts") or {}).items():
        if label not in LABELS:
            raise ValueError(f"texts: {label!r} is not a label ({', '.join(LABELS)})")
        if not isinstance(words, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in words.items()
        ):
            raise ValueError(f"texts.{label} must map language codes to text")
        texts[label].update({k: v.strip() for k, v in words.items()})
    first = node.get("first_exposure", True)
    if not isinstance(first, bool):
        raise ValueError("first_exposure must be true or false")
    icon = node.get("icon", EU_AI_ICON)
    if not isinstance(icon, str) or not icon.strip():
        raise ValueError("icon must be text")
    return DisplayConfig(texts=texts, first_exposure=first, icon=icon.strip())


def source_words(label_source: str | None, signals: Any) -> str:
    """Where the label comes from, in plain words ("Content Credentials from Adobe Firefly")."""
    if label_source == "credentials":
        creds = signals.get("credentials")
        tool = getattr(creds, "ai_tool", None) or getattr(creds, "claim_generator", None)
        words = f"Content Credentials from {tool}" if tool else "Content Credentials"
        if getattr(creds, "state", None) == "trusted_legacy":
            words += " (signer trusted under the legacy interim trust list)"
        return words
    if label_source == "watermark":
        # the mark's owner stays with analysts: its name can identify a key
        return "an invisible watermark the AI tool embedded"
    if label_source == "recovered":
        return "Content Credentials of an earlier upload, found through the platform's watermark"
    if label_source == "match":
        return "a match with media already known to the platform"
    if label_source == "creator":
        return "the creator"
    return "the platform's review"


def signed_by(label_source: str | None, signals: Any) -> tuple[str | None, list[str]]:
    """Who signed the credentials a label rests on, and the creators whose identity is
    verified ("Jane Doe, identity verified by ..."); (None, []) for other sources."""
    if label_source != "credentials":
        return None, []
    creds = signals.get("credentials")
    verified = [
        words.rsplit(" (verified", 1)[0]
        for words in getattr(creds, "identities", ()) or ()
        if "identity verified by" in words or " (verified:" in words
    ]
    return getattr(creds, "signer", None), verified


def display_block(
    config: DisplayConfig, label: str | None, label_source: str | None, signals: Any
) -> dict[str, Any] | None:
    """The `display` block of a decision; None when nothing is labelled."""
    if label not in config.texts:
        return None
    signer, identities = signed_by(label_source, signals)
    return {
        "icon": config.icon,
        "icon_meaning": ICON_MEANING,
        "label": label,
        "text": dict(config.texts[label]),
        "first_exposure": config.first_exposure,
        "source": source_words(label_source, signals),
        "signed_by": signer,
        "identities": identities,
    }
