"""Unsigned metadata hints: reported as such, never as verified credentials."""

from __future__ import annotations

import pytest
from PIL import Image, PngImagePlugin

import provenance
from provenance import sign
from provenance.hints import known_generator

from .conftest import encode

XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/{dst}"/>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
XMP_ELEMENT = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>'
    "<Iptc4xmpExt:DigitalSourceType>"
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    "</Iptc4xmpExt:DigitalSourceType><xmp:CreatorTool>Adobe Firefly</xmp:CreatorTool>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def _png_with(photo, **text) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    return encode(photo, "PNG", pnginfo=info)


@pytest.mark.parametrize(
    "dst, ai_class",
    [
        ("trainedAlgorithmicMedia", "ai_generated"),
        ("compositeWithTrainedAlgorithmicMedia", "ai_edited"),
        ("digitalCapture", "capture"),
    ],
)
def test_iptc_digital_source_type_in_jpeg_xmp_without_c2pa(photo, dst, ai_class):
    data = encode(photo, "JPEG", xmp=XMP.format(dst=dst).encode())
    report = provenance.read_credentials(data, "image/jpeg")
    assert report.present is False
    assert report.state is None  # a hint never becomes a validation state
    assert [(h.kind, h.value) for h in report.metadata_hints] == [("xmp.digital_source_type", dst)]
    assert report.hint_ai_class == ai_class


def test_xmp_element_form_and_creator_tool_in_png(photo):
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_ELEMENT)
    report = provenance.read_credentials(encode(photo, "PNG", pnginfo=info), "image/png")
    kinds = {(h.kind, h.value) for h in report.metadata_hints}
    assert ("xmp.digital_source_type", "trainedAlgorithmicMedia") in kinds
    assert ("generator_name", "Adobe Firefly") in kinds
    assert report.hint_ai_class == "ai_generated"


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("parameters", "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1", "web UI"),
        ("prompt", '{"3": {"class_type": "KSampler", "inputs": {"seed": 1}}}', "ComfyUI"),
        ("workflow", '{"nodes": []}', "ComfyUI"),
    ],
)
def test_png_generation_parameters(photo, key, value, words):
    report = provenance.read_credentials(_png_with(photo, **{key: value}), "image/png")
    (hint,) = report.metadata_hints
    assert hint.kind == "png.generation_parameters"
    assert hint.source == f"PNG text '{key}'"
    assert words in hint.value
    assert report.hint_ai_class == "ai_generated"


def test_compressed_png_text_is_read_and_bounded(photo):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "x" * 2_000_000, zip=True)  # a 2 MB zTXt: inflated to 256 KB max
    data = encode(photo, "PNG", pnginfo=info)
    assert b"zTXt" in data
    report = provenance.read_credentials(data, "image/png")
    assert report.metadata_hints[0].kind == "png.generation_parameters"
    assert len(report.metadata_hints[0].value) < 200


def test_exif_software_of_a_known_generator(photo):
    exif = Image.Exif()
    exif[0x0131] = "Midjourney v6"
    data = encode(photo, "JPEG", exif=exif.tobytes())
    (hint,) = provenance.read_credentials(data, "image/jpeg").metadata_hints
    assert (hint.kind, hint.source, hint.value) == (
        "generator_name",
        "EXIF Software",
        "Midjourney v6",
    )


def test_ordinary_metadata_gives_no_hint(photo):
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop Lightroom Classic 13.0"
    exif[0x010F] = "Canon"
    jpeg = encode(photo, "JPEG", exif=exif.tobytes())
    png = _png_with(photo, Comment="holiday in Lisbon", Software="GIMP 2.10")
    assert provenance.read_credentials(jpeg, "image/jpeg").metadata_hints == ()
    assert provenance.read_credentials(png, "image/png").hint_ai_class is None


def test_generator_names_match_whole_words_only():
    assert known_generator("Made with DALL-E 3") == "DALL-E"
    assert known_generator("stable diffusion xl") == "Stable Diffusion"
    assert known_generator("Imagenomic Portraiture") is None  # not Imagen
    assert known_generator("fireflyer") is None


def test_hints_sit_beside_verified_credentials(photo, signer):
    data = _png_with(photo, parameters="a dog\nSteps: 20")
    signed = sign(data, "image/png", signer, digital_source_type="digitalCapture")
    report = provenance.read_credentials(signed, "image/png")
    assert report.ai_class == "capture"  # the signed claim
    assert report.hint_ai_class == "ai_generated"  # the unsigned text, kept apart


def test_truncated_png_chunks_do_not_break_hint_reading(photo):
    data = _png_with(photo, parameters="a")
    cut = data[: data.find(b"IDAT") + 20]
    broken_ztxt = cut[:8] + (12).to_bytes(4, "big") + b"zTXt" + b"k\x00\x00" + b"\x01" * 9 + b"0000"
    assert provenance.read_hints(cut, "image/png")[0].kind == "png.generation_parameters"
    # a zTXt chunk whose deflate stream is garbage is skipped, not raised
    assert provenance.read_hints(broken_ztxt, "image/png") == ()
