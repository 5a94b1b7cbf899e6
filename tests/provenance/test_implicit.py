"""GB 45438-2025 implicit AIGC labels: read from XMP, EXIF and PNG text as unsigned hints."""

from __future__ import annotations

import json

from PIL import Image, PngImagePlugin

import provenance
from labeler.policy import load_default_policy
from labeler.signals import Signals
from labeler.signals.credentials import from_report

from .conftest import encode

LABEL = {
    "Label": "1",
    "ContentProducer": "001191110108MA01KP2T5U00000",
    "ProduceID": "20260915-0001",
    "ReservedCode1": "",
    "ContentPropagator": "",
    "PropagateID": "",
}
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
    'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="{value}"/>'
    "</rdf:RDF></x:xmpmeta>"
)


def _xmp_jpeg(photo, label: dict) -> bytes:
    value = json.dumps(label).replace('"', "&quot;")
    return encode(photo, "JPEG", xmp=XMP.format(value=value).encode())


def test_an_xmp_implicit_label_is_an_unsigned_hint(photo):
    report = provenance.read_credentials(_xmp_jpeg(photo, LABEL), "image/jpeg")
    assert not report.present and report.state is None
    (label,) = report.implicit_labels
    assert (label.label, label.where, label.produce_id) == ("1", "XMP", "20260915-0001")
    assert report.implicit_ai_class == "ai_generated"
    assert "AI-generated" in label.describe() and "GB 45438-2025" in label.describe()


def test_exif_and_png_text_labels_and_the_weaker_values(photo):
    exif = Image.Exif()
    exif[0x010E] = json.dumps({**LABEL, "Label": "3"})
    jpeg = encode(photo, "JPEG", exif=exif.tobytes())
    (label,) = provenance.read_credentials(jpeg, "image/jpeg").implicit_labels
    assert (label.where, label.ai_class) == ("EXIF ImageDescription", "possibly_ai")
    info = PngImagePlugin.PngInfo()
    info.add_text("AIGC", json.dumps({"AIGC": {**LABEL, "Label": "2"}}))
    png = encode(photo, "PNG", pnginfo=info)
    report = provenance.read_credentials(png, "image/png")
    assert [(x.where, x.label) for x in report.implicit_labels] == [("PNG text 'AIGC'", "2")]


def test_ordinary_metadata_and_broken_json_give_no_label(photo):
    exif = Image.Exif()
    exif[0x010E] = "Label: holiday {not json"
    assert (
        provenance.read_credentials(encode(photo, "JPEG", exif=exif.tobytes())).implicit_labels
        == ()
    )


def test_the_policy_asks_for_disclosure_with_its_own_reason(photo):
    report = provenance.read_credentials(_xmp_jpeg(photo, LABEL), "image/jpeg")
    signals = Signals.from_dict({"credentials": from_report(report).to_dict()})
    decision = load_default_policy().decide(signals)
    assert decision.action == "require_disclosure"
    assert decision.reason_codes == ("metadata_hint.gb45438",)
