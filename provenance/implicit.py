"""Implicit AIGC labels of China's GB 45438-2025: a metadata field named `AIGC`.

Generators and platforms distributing in China write an "implicit label" into
the file's metadata (XMP, EXIF comments, PNG text): a JSON object with `Label`
(1: AI-generated; 2: possibly; 3: suspected), `ContentProducer`, `ProduceID`,
`ContentPropagator`, `PropagateID` and reserved codes. Nothing signs it, so it
is an unsigned hint with its own reason code, never verified provenance.
"""

from __future__ import annotations

import html
import io
import json
import re
import warnings
from dataclasses import dataclass

from PIL import Image

MAX_FIELD = 4096
MAX_LABELS = 8
MAX_HITS = 64  # occurrences of the name looked at, so a hostile file cannot make us loop
SOURCE = "GB 45438-2025 implicit label"
# the standard's label values and the class each one implies if true
LABEL_CLASS = {"1": "ai_generated", "2": "possibly_ai", "3": "possibly_ai"}
LABEL_WORDS = {"1": "AI-generated", "2": "possibly AI-generated", "3": "suspected AI-generated"}
FIELDS = ("ContentProducer", "ProduceID", "ContentPropagator", "PropagateID")

_XMP_FIELD = re.compile(
    rb"(?:[A-Za-z0-9_]+:)?AIGC\s*=\s*\"([^\"]{1,4096})\""
    rb"|(?:[A-Za-z0-9_]+:)?AIGC\s*=\s*'([^']{1,4096})'"
    rb"|<(?:[A-Za-z0-9_]+:)?AIGC>\s*([^<]{1,4096})\s*</(?:[A-Za-z0-9_]+:)?AIGC>"
)
_EXIF_TEXT_TAGS = (0x010E, 0x9286, 0x9C9C)  # ImageDescription, UserComment, XPComment


@dataclass(frozen=True)
class ImplicitLabel:
    label: str  # "1" | "2" | "3" as written
    producer: str | None
    produce_id: str | None
    propagator: str | None
    where: str  # "XMP", "EXIF UserComment", "PNG text 'AIGC'"

    @property
    def ai_class(self) -> str:
        return LABEL_CLASS.get(self.label, "possibly_ai")

    def describe(self) -> str:
        words = LABEL_WORDS.get(self.label, f"label {self.label}")
        parts = [f"{SOURCE} in {self.where}: {words}"]
        if self.producer:
            parts.append(f"producer {self.producer}")
        if self.produce_id:
            parts.append(f"content id {self.produce_id}")
        if self.propagator:
            parts.append(f"propagated by {self.propagator}")
        return ", ".join(parts)


def strongest_label_class(labels: tuple[ImplicitLabel, ...]) -> str | None:
    classes = [label.ai_class for label in labels]
    if not classes:
        return None
    return "ai_generated" if "ai_generated" in classes else "possibly_ai"


def read_implicit_labels(data: bytes, mime: str) -> tuple[ImplicitLabel, ...]:
    found: list[ImplicitLabel] = []
    # The field name is found with a plain byte search (fast on any file); the
    # pattern only runs on a small window around each hit.
    pos, hits = data.find(b"AIGC"), 0
    while pos != -1 and hits < MAX_HITS and len(found) < MAX_LABELS:
        hits += 1
        match = _XMP_FIELD.search(data, max(0, pos - 64), pos + MAX_FIELD + 64)
        if match and match.start() <= pos:
            raw = next(g for g in match.groups() if g)
            label = parse_label(raw.decode("utf-8", "replace"), "XMP")
            if label:
                found.append(label)
        pos = data.find(b"AIGC", pos + 4)
    if mime.startswith("image/"):
        found.extend(_exif_labels(data))
    return tuple(dict.fromkeys(found))


def parse_label(text: str, where: str) -> ImplicitLabel | None:
    """The label in `text` (JSON, possibly XML-escaped); None when it is not one."""
    text = html.unescape(text.strip())[:MAX_FIELD]
    start = text.find("{")
    if start == -1:
        return None
    try:
        doc = json.loads(text[start : text.rfind("}") + 1])
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    doc = doc.get("AIGC", doc) if isinstance(doc.get("AIGC"), dict) else doc
    label = doc.get("Label")
    if label is None:
        return None
    values = {k: doc.get(k) for k in FIELDS}
    return ImplicitLabel(
        label=str(label).strip(),
        producer=_text(values["ContentProducer"]),
        produce_id=_text(values["ProduceID"]),
        propagator=_text(values["ContentPropagator"]),
        where=where,
    )


def _text(value) -> str | None:
    return str(value).strip()[:200] or None if value not in (None, "") else None


def _exif_labels(data: bytes) -> list[ImplicitLabel]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                exif = image.getexif()
                texts = dict(getattr(image, "text", {}) or {})
    except Exception:  # Pillow raises many types on hostile headers; hints are optional
        return []
    out = []
    ifd = exif.get_ifd(0x8769) if exif else {}
    for tag in _EXIF_TEXT_TAGS:
        value = exif.get(tag) or ifd.get(tag)
        if isinstance(value, bytes):
            value = value.decode("utf-16-le" if tag == 0x9C9C else "utf-8", "replace")
        if isinstance(value, str) and "Label" in value:
            label = parse_label(value, f"EXIF {_TAG_NAMES[tag]}")
            if label:
                out.append(label)
    for key, value in texts.items():
        if key.upper() == "AIGC" and isinstance(value, str):
            label = parse_label(value, f"PNG text '{key}'")
            if label:
                out.append(label)
    return out


_TAG_NAMES = {0x010E: "ImageDescription", 0x9286: "UserComment", 0x9C9C: "XPComment"}
