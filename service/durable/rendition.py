"""A rendition: the file the platform serves, carrying its mark and its signed manifest.

`render` runs where the uploader's bytes are handled (an analysis process in
the service, the command itself in `aigc rendition`): decode, embed the
platform's mark with the durable id as payload, encode in the upload's own
format, sign a C2PA manifest whose parent ingredient is the upload (with its
own manifest, when it had one), read it back, and fingerprint the result.

The mark carries exactly 64 bits (`watermark`'s payload is 8 bytes, guarded
by its own CRC-16), so the durable id is the whole payload: 8 random bytes,
never sequential, and nothing else rides in the mark. The manifest's
`c2pa.soft-binding` assertion names our algorithm and that id in base64, the
encoding the soft-binding resolution API uses for query values.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps

import matching
import provenance
import watermark
from labeler.media import decode
from matching import aligned

# our soft-binding algorithm names (platform-specific, as C2PA 2.4 allows)
WATERMARK_ALG = "org.aigc-provenance.keyed-tile.1"
FINGERPRINT_ALG = "org.aigc-provenance.pdq.1"
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MIN_PSNR = 42.0
# the mark alone lands at 42.15 dB; JPEG's own rounding must stay under the rest,
# so the quality steps up until the served file (not the pixels) holds 42 dB
_JPEG_QUALITIES = (98, 99, 100)
_DST = {
    "ai_generated": "trainedAlgorithmicMedia",
    "ai_edited": "compositeWithTrainedAlgorithmicMedia",
}


class RenditionError(Exception):
    """A rendition cannot be made of this upload; `status` and `code` say how to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def __reduce__(self):
        # raised in analysis processes: it must cross the pipe whole
        return (type(self), (self.status, self.code, self.message))


@dataclass(frozen=True)
class Disclosure:
    """What the platform's decision found about the original."""

    label: str | None = None  # ai_generated | ai_edited | None
    ai_class: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class Rendition:
    data: bytes = field(repr=False)
    mime: str
    durable_id: str
    manifest_id: str
    manifest_store: bytes = field(repr=False)
    state: str | None  # the rendition's own manifest as our reader judges it
    psnr: float
    source_sha256: str
    rendition_sha256: str
    credentials: dict = field(repr=False)  # the upload's own credentials report
    pdq: str = ""
    pdq_quality: int | None = None
    pdq_unboxed: str | None = None
    phash: str | None = None
    features: bytes | None = field(default=None, repr=False)
    # the upload's luminance at thumbnail size (no mark in it), for aligned checks of crops
    thumbnail: bytes | None = field(default=None, repr=False)


def binding_value(durable_id: bytes) -> str:
    """The soft binding's value: the durable id's 8 bytes in base64."""
    return base64.b64encode(durable_id).decode("ascii")


def render(
    data: bytes,
    filename: str | None,
    key: bytes,
    durable_id: bytes,
    signer: provenance.SignerCredentials,
    disclosure: Disclosure,
    limits,
    trust: provenance.Settings | None = None,
) -> Rendition:
    media = decode(data, filename, limits)
    if media.kind != "image" or media.mime not in FORMATS:
        raise RenditionError(
            415,
            "unsupported_media",
            f"renditions are made of JPEG, PNG and WebP images; this is {media.mime}",
        )
    rgb = _full_pixels(data)
    try:
        marked = watermark.embed(rgb, durable_id, key)
    except watermark.WatermarkError as exc:
        raise RenditionError(422, "cannot_watermark", str(exc)) from exc
    served, psnr = _encode(marked, rgb, media.mime)
    credentials = _credentials(data, media.mime, trust)
    definition = _manifest(durable_id, disclosure, filename)
    try:
        signed = provenance.sign_detailed(
            served,
            media.mime,
            signer,
            manifest=definition,
            ingredients=(provenance.Ingredient(data, filename or "upload"),),
        )
    except provenance.SigningError as exc:
        raise RenditionError(503, "signing_failed", str(exc)) from exc
    report = provenance.read_credentials(signed.data, media.mime, trust)
    hashes = matching.compute_hashes(_full_pixels(signed.data), features=True)
    return Rendition(
        data=signed.data,
        mime=media.mime,
        durable_id=durable_id.hex(),
        manifest_id=report.active_manifest or "",
        manifest_store=signed.manifest_store,
        state=report.state,
        psnr=psnr,
        source_sha256=media.sha256,
        rendition_sha256=hashlib.sha256(signed.data).hexdigest(),
        credentials=credentials,
        pdq=hashes.pdq_hex,
        pdq_quality=hashes.quality,
        pdq_unboxed=hashes.pdq_unboxed_hex,
        phash=hashes.phash_hex,
        features=hashes.features.to_blob() if hashes.features is not None else None,
        thumbnail=aligned.thumbnail_blob(rgb),
    )


def _full_pixels(data: bytes) -> np.ndarray:
    # the decoder may reduce a large image for analysis; the served file keeps every pixel
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def psnr_of(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _encode(marked: np.ndarray, original: np.ndarray, mime: str) -> tuple[bytes, float]:
    image = Image.fromarray(marked)
    if mime != "image/jpeg":
        buf = io.BytesIO()
        # lossless: the served pixels are the marked ones
        options = {"lossless": True} if mime == "image/webp" else {}
        image.save(buf, FORMATS[mime], **options)
        return buf.getvalue(), psnr_of(marked, original)
    for quality in _JPEG_QUALITIES:
        data, psnr = _jpeg(image, quality, original)
        if psnr >= MIN_PSNR:
            return data, psnr
    # even q100 rounds the upload's own pixels a little; on the rare picture
    # where that and the mark's 42.15 dB add up to less than 42, the mark's
    # change is scaled down by the few percent needed rather than served short
    change = marked.astype(np.float32) - original.astype(np.float32)
    for scale in _MARK_SCALES:
        softer = np.clip(np.rint(original + scale * change), 0, 255).astype(np.uint8)
        data, psnr = _jpeg(Image.fromarray(softer), _JPEG_QUALITIES[-1], original)
        if psnr >= MIN_PSNR:
            break
    return data, psnr


_MARK_SCALES = (0.97, 0.94, 0.9, 0.85, 0.8)


def _jpeg(image: Image.Image, quality: int, original: np.ndarray) -> tuple[bytes, float]:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, subsampling=0)
    return buf.getvalue(), psnr_of(_full_pixels(buf.getvalue()), original)


def _credentials(data: bytes, mime: str, trust) -> dict:
    try:
        return provenance.read_credentials(data, mime, trust).to_dict()
    except provenance.ProvenanceError as exc:
        return {"present": False, "error": str(exc)}


def _manifest(durable_id: bytes, disclosure: Disclosure, filename: str | None) -> dict:
    opened: dict = {"action": "c2pa.opened", "parameters": {"ingredientIds": ["ingredient-0"]}}
    dst = _DST.get(disclosure.label or "")
    if dst is not None:
        # the disclosure the decision found, also when the upload had no manifest
        opened["digitalSourceType"] = provenance.signing.dst_uri(dst)
    marked = {
        "action": "c2pa.watermarked",
        "parameters": {
            "description": f"invisible watermark {WATERMARK_ALG} carrying the soft binding below"
        },
    }
    soft_binding = {
        "alg": WATERMARK_ALG,
        "blocks": [{"scope": {}, "value": binding_value(durable_id)}],
    }
    return {
        "title": filename or "rendition",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [opened, marked]}},
            {"label": "c2pa.soft-binding", "data": soft_binding},
        ],
    }
