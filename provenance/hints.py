"""Unsigned metadata that hints at AI generation: weaker evidence, never verified.

- IPTC `Iptc4xmpExt:DigitalSourceType` in an XMP packet (the XMP spec allows
  finding packets by scanning the bytes, so every container is covered);
- PNG text chunks with generation parameters (Stable Diffusion web UIs'
  `parameters`, ComfyUI `prompt` / `workflow`, InvokeAI, ...);
- EXIF Software / Make / Model, XMP CreatorTool naming a known generator
  (the list is data: `data/generators.json`).

Anyone can write or strip these, so they only ever yield a `metadata_hint`.
"""

from __future__ import annotations

import functools
import io
import json
import re
import struct
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image

from .sourcetypes import INCEPTION_CLASS, RANK, dst_uri, short_dst
from .trust import DATA_DIR

# A hostile file must not make us inflate or scan without bound.
MAX_TEXT_CHUNK = 256 * 1024
MAX_PNG_CHUNKS = 10_000
MAX_XMP_PACKET = 1024 * 1024
MAX_XMP_PACKETS = 16

_XMP_START = b"<x:xmpmeta"
_XMP_END = b"</x:xmpmeta>"
_DST_ATTR = re.compile(
    rb"DigitalSourceType\s*=\s*[\"']([^\"'<>]{1,300})[\"']"
    rb"|DigitalSourceType>\s*([^<\s]{1,300})\s*<"
    rb"|DigitalSourceType\s+rdf:resource\s*=\s*[\"']([^\"'<>]{1,300})[\"']"
)
_CREATOR_TOOL = re.compile(
    rb"CreatorTool\s*=\s*[\"']([^\"'<>]{1,300})[\"']|CreatorTool>\s*([^<]{1,300})<"
)

_EXIF_TAGS = {0x0131: "Software", 0x010F: "Make", 0x0110: "Model", 0x013B: "Artist"}


@dataclass(frozen=True)
class MetadataHint:
    # "xmp.digital_source_type" | "png.generation_parameters" | "generator_name"
    kind: str
    source: str  # where it was found, e.g. "XMP", "PNG text 'parameters'", "EXIF Software"
    value: str
    # the class this hint would imply if it were true
    ai_class: str

    def describe(self) -> str:
        return f"{self.source}: {self.value}"


@functools.cache
def _generators() -> dict:
    return json.loads((DATA_DIR / "generators.json").read_text(encoding="utf-8"))


@functools.cache
def _generator_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    names = {}
    for entry in _generators()["generators"]:
        for pattern in entry["patterns"]:
            names[pattern] = entry["name"]
    # whole words only: "Imagenomic" is not Imagen; longest first so "stable diffusion" wins
    alternatives = "|".join(re.escape(p) for p in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])({alternatives})(?![a-z0-9])"), names


def known_generator(text: str) -> str | None:
    pattern, names = _generator_pattern()
    match = pattern.search(text[:MAX_TEXT_CHUNK].lower())
    return names[match.group(1)] if match else None


def read_hints(data: bytes, mime: str) -> tuple[MetadataHint, ...]:
    hints: list[MetadataHint] = []
    hints.extend(_xmp_hints(data))
    if mime == "image/png":
        hints.extend(_png_text_hints(data))
    if mime.startswith("image/"):
        hints.extend(_exif_hints(data))
    # The same fact found twice (e.g. XMP in a PNG iTXt chunk) is reported once.
    unique: dict[tuple[str, str, str], MetadataHint] = {}
    for hint in hints:
        unique.setdefault((hint.kind, hint.source, hint.value), hint)
    return tuple(unique.values())


def strongest_class(hints: tuple[MetadataHint, ...]) -> str | None:
    if not hints:
        return None
    return max((h.ai_class for h in hints), key=RANK.__getitem__)


def _xmp_hints(data: bytes) -> list[MetadataHint]:
    out = []
    start, packets = data.find(_XMP_START), 0
    while start != -1 and packets < MAX_XMP_PACKETS:
        packets += 1
        end = data.find(_XMP_END, start, start + MAX_XMP_PACKET)
        if end == -1:
            break
        packet = data[start:end]
        for match in _DST_ATTR.finditer(packet):
            raw = next(g for g in match.groups() if g).decode("utf-8", "replace").strip()
            cls = INCEPTION_CLASS.get(dst_uri(raw) or "", "unknown")
            out.append(MetadataHint("xmp.digital_source_type", "XMP", short_dst(raw), cls))
        for match in _CREATOR_TOOL.finditer(packet):
            tool = next(g for g in match.groups() if g).decode("utf-8", "replace").strip()
            name = known_generator(tool)
            if name:
                out.append(MetadataHint("generator_name", "XMP CreatorTool", tool, "ai_generated"))
        start = data.find(_XMP_START, end)
    return out


def _png_chunks(data: bytes):
    pos, count = 8, 0
    while pos + 8 <= len(data) and count < MAX_PNG_CHUNKS:
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            return
        yield ctype, body
        if ctype == b"IEND":
            return
        pos += 12 + length
        count += 1


def _png_text(ctype: bytes, body: bytes) -> tuple[str, str] | None:
    try:
        if ctype == b"tEXt":
            key, _, text = body.partition(b"\x00")
            return key.decode("latin-1"), text[:MAX_TEXT_CHUNK].decode("latin-1")
        if ctype == b"zTXt":
            key, _, rest = body.partition(b"\x00")
            inflater = zlib.decompressobj()
            text = inflater.decompress(rest[1:], MAX_TEXT_CHUNK)
            return key.decode("latin-1"), text.decode("latin-1")
        if ctype == b"iTXt":
            key, _, rest = body.partition(b"\x00")
            compressed, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\x00")
            _tkey, _, text = rest.partition(b"\x00")
            if compressed:
                text = zlib.decompressobj().decompress(text, MAX_TEXT_CHUNK)
            return key.decode("latin-1"), text[:MAX_TEXT_CHUNK].decode("utf-8", "replace")
    except (zlib.error, IndexError, UnicodeDecodeError):
        return None
    return None


def _png_text_hints(data: bytes) -> list[MetadataHint]:
    keys = _generators()["png_text_keys"]
    out = []
    for ctype, body in _png_chunks(data):
        if ctype not in (b"tEXt", b"zTXt", b"iTXt"):
            continue
        parsed = _png_text(ctype, body)
        if parsed is None:
            continue
        key, text = parsed
        meaning = keys.get(key)
        if meaning and text.strip():
            out.append(
                MetadataHint(
                    "png.generation_parameters",
                    f"PNG text '{key}'",
                    f"{meaning}: {_clip(text)}",
                    "ai_generated",
                )
            )
        elif key in keys or key.lower() in ("software", "comment", "description", "title"):
            name = known_generator(text)
            if name:
                out.append(
                    MetadataHint("generator_name", f"PNG text '{key}'", name, "ai_generated")
                )
    return out


def _exif_hints(data: bytes) -> list[MetadataHint]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Image.open reads headers only; no pixel is decoded here.
            with Image.open(io.BytesIO(data)) as image:
                exif = image.getexif()
    except Exception:  # Pillow raises many types on hostile headers; hints are optional
        return []
    out = []
    for tag, field_name in _EXIF_TAGS.items():
        value = exif.get(tag)
        if not isinstance(value, str | bytes):
            continue
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        name = known_generator(text)
        if name:
            out.append(
                MetadataHint(
                    "generator_name", f"EXIF {field_name}", _clip(text.strip()), "ai_generated"
                )
            )
    return out


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
