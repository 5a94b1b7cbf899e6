"""Make samples/: small media that show every outcome of `aigc scan`.

Pictures come from scikit-image's bundled data (no download). The signing keys
are a development CA made in a temporary folder for this run and thrown away,
so no private key is ever written into the repository; the samples therefore
read `valid` (untrusted signer), which the policy treats like `trusted`.

    .venv/bin/python scripts/make_samples.py [OUT_DIR]     (needs the `test` extra: scikit-image)

| file | what it shows | expected decision |
|---|---|---|
| ai_generated_credentials.jpg / .png | c2pa.created, trainedAlgorithmicMedia | label ai_generated |
| ai_edited_credentials.jpg | a capture edited with generative fill | label ai_edited |
| ai_parent_resigned_credentials.jpg | AI image re-signed by a second tool | label ai_generated |
| camera_capture_credentials.jpg | c2pa.created, digitalCapture | none |
| tampered_ai_generated.jpg | AI manifest, one image byte flipped | require_disclosure |
| stripped_ai_generated.jpg | the AI image re-encoded: manifest gone | none |
| no_credentials.jpg | a plain photo | none |
| metadata_hint_sd_parameters.png | PNG text `parameters` (SD web UI) | require_disclosure |
| watermarked_partner_generator.jpg | a registered AI partner's watermark | label ai_generated |
| reupload_known_deepfake.jpg | resized, re-encoded copy of a bank entry | escalate |

The last two need the demo configuration in `demo/` (what `scripts/demo.sh`
sets up): the watermark key registry `demo/watermark-keys.yaml`, whose key is
a committed TEST-ONLY key, and the bank list `demo/known-fakes.csv` (PDQ
hashes only, as a fact-checker's export would be), which this script writes.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin
from skimage import data as skdata

import matching
import provenance
import watermark
from labeler.signals.watermark.keys import load_registry
from provenance import Ingredient, SignerCredentials, sign

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
MAX_BYTES = 100 * 1024

SD_PARAMETERS = (
    "a lighthouse on a cliff at dusk, oil painting\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, "
    "Size: 256x256, Model hash: 31e35c80fc, Model: sd_xl_base_1.0"
)


def _picture(name: str, width: int = 320) -> Image.Image:
    image = Image.fromarray(np.asarray(getattr(skdata, name)())).convert("RGB")
    height = round(image.height * width / image.width)
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _png(image: Image.Image, text: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, optimize=True)
    return out.getvalue()


def _flip_scan_byte(jpeg: bytes) -> bytes:
    """Flip one bit in the entropy-coded image data: still decodes, hash no longer matches."""
    sos = jpeg.rfind(b"\xff\xda")
    pos = sos + (len(jpeg) - sos) // 2
    while jpeg[pos] in (0xFF, 0x00) or jpeg[pos - 1] == 0xFF:
        pos += 1
    return jpeg[:pos] + bytes([jpeg[pos] ^ 0x01]) + jpeg[pos + 1 :]


def _demo_partner_key() -> bytes:
    return load_registry(DEMO / "watermark-keys.yaml").get("demo-partner").key


def _known_fake() -> Image.Image:
    """The picture the demo bank lists as a confirmed misleading deepfake."""
    return Image.fromarray(np.asarray(skdata.camera())).convert("RGB").resize((384, 384))


def write_demo_bank(path: Path) -> None:
    pdq = matching.compute_hashes(np.asarray(_known_fake())).pdq_hex
    path.write_text(
        "pdq,category,severity,note,source\n"
        f"{pdq},misleading_deepfake,high,demo: a debunked fake photo,fact-checker\n"
    )


def _dev_signers(folder: Path) -> tuple[SignerCredentials, SignerCredentials, SignerCredentials]:
    """The generator's, the editor's and the camera's credentials, from throwaway dev CAs."""
    generator = SignerCredentials.from_dev_ca(
        provenance.create_dev_ca(folder / "generator", name="sample AI generator")
    )
    editor = SignerCredentials.from_dev_ca(
        provenance.create_dev_ca(folder / "editor", name="sample photo editor")
    )
    camera = SignerCredentials.from_dev_ca(
        provenance.create_dev_ca(folder / "camera", name="sample camera")
    )
    return generator, editor, camera


def _signed_samples(
    generator: SignerCredentials, editor: SignerCredentials, camera: SignerCredentials
) -> dict[str, bytes]:
    """The samples that carry Content Credentials."""
    ai_jpeg = sign(
        _jpeg(_picture("astronaut")),
        "image/jpeg",
        generator,
        digital_source_type="trainedAlgorithmicMedia",
        software_agent="sample text-to-image model",
        title="ai_generated_credentials.jpg",
    )
    ai_png = sign(
        _png(_picture("chelsea", 200)),
        "image/png",
        generator,
        digital_source_type="trainedAlgorithmicMedia",
        title="ai_generated_credentials.png",
    )
    capture = sign(
        _jpeg(_picture("coffee")),
        "image/jpeg",
        camera,
        digital_source_type="digitalCapture",
        title="camera_capture_credentials.jpg",
    )
    edited = sign(
        _jpeg(_picture("coffee").rotate(180)),
        "image/jpeg",
        editor,
        ingredients=(Ingredient(capture, "camera_capture_credentials.jpg"),),
        actions=(
            {
                "action": "c2pa.edited",
                "softwareAgent": "sample generative fill",
                "digitalSourceType": "compositeWithTrainedAlgorithmicMedia",
            },
        ),
        title="ai_edited_credentials.jpg",
    )
    # Laundering attempt: another tool opens the AI image and only resizes it.
    resigned = sign(
        _jpeg(Image.open(io.BytesIO(ai_jpeg)).resize((288, 288))),
        "image/jpeg",
        editor,
        ingredients=(Ingredient(ai_jpeg, "ai_generated_credentials.jpg"),),
        actions=("c2pa.resized.proportional",),
        title="ai_parent_resigned_credentials.jpg",
    )
    return {
        "ai_generated_credentials.jpg": ai_jpeg,
        "ai_generated_credentials.png": ai_png,
        "ai_edited_credentials.jpg": edited,
        "ai_parent_resigned_credentials.jpg": resigned,
        "camera_capture_credentials.jpg": capture,
    }


def _unsigned_samples(ai_jpeg: bytes) -> dict[str, bytes]:
    """The samples without (valid) credentials: tampered, stripped, hints, watermark, bank."""
    return {
        "tampered_ai_generated.jpg": _flip_scan_byte(ai_jpeg),
        "stripped_ai_generated.jpg": _jpeg(Image.open(io.BytesIO(ai_jpeg))),
        "no_credentials.jpg": _jpeg(_picture("rocket")),
        "metadata_hint_sd_parameters.png": _png(
            _picture("chelsea", 200).transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            {"parameters": SD_PARAMETERS},
        ),
        "watermarked_partner_generator.jpg": _jpeg(
            Image.fromarray(
                watermark.embed(
                    np.asarray(_picture("rocket", 480).transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
                    bytes.fromhex("00000000c0ffee01"),
                    _demo_partner_key(),
                )
            )
        ),
        "reupload_known_deepfake.jpg": _jpeg(_known_fake().resize((300, 300)), quality=70),
    }


def make_samples(out: Path) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="aigc-dev-ca-") as tmp:
        signed = _signed_samples(*_dev_signers(Path(tmp)))
    samples = {**signed, **_unsigned_samples(signed["ai_generated_credentials.jpg"])}
    out.mkdir(parents=True, exist_ok=True)
    for name, blob in samples.items():
        if len(blob) > MAX_BYTES:
            raise SystemExit(f"{name} is {len(blob)} bytes, more than {MAX_BYTES}")
        (out / name).write_bytes(blob)
    return samples


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else ROOT / "samples"
    write_demo_bank(DEMO / "known-fakes.csv")
    for name, blob in make_samples(out).items():
        print(f"{out / name}  {len(blob) // 1024} KB")


if __name__ == "__main__":
    main(sys.argv[1:])
