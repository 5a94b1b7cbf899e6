"""Trust list by list: the dev CA as official-list stand-in, legacy-list stand-in, unknown."""

from __future__ import annotations

import base64
import json
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import provenance
from provenance import Settings, sign
from service.app.routes.health import trust_lists_state


@pytest.fixture(scope="module")
def third_ca(tmp_path_factory) -> provenance.DevCA:
    return provenance.create_dev_ca(tmp_path_factory.mktemp("dev-ca-3"), name="unknown tool")


def _signed(photo_jpeg, ca, dst="trainedAlgorithmicMedia") -> bytes:
    signer = provenance.SignerCredentials.from_dev_ca(ca)
    return sign(photo_jpeg, "image/jpeg", signer, digital_source_type=dst)


def _etsi(path, root_pem: bytes, next_update: str, status="trusted") -> None:
    der = x509.load_pem_x509_certificate(root_pem).public_bytes(serialization.Encoding.DER)
    doc = {
        "LoTE": {
            "ListAndSchemeInformation": {
                "SchemeName": [{"lang": "en", "value": "Test C2PA Trust List"}],
                "SchemeOperatorName": [{"lang": "en", "value": "test operator"}],
                "ListIssueDateTime": "2026-01-05T00:00:00Z",
                "NextUpdate": next_update,
            },
            "TrustedEntitiesList": [
                {
                    "TrustedEntityServices": [
                        {
                            "ServiceInformation": {
                                "ServiceDigitalIdentity": {
                                    "X509Certificates": [{"val": base64.b64encode(der).decode()}]
                                },
                                "ServiceStatus": f"http://c2pa.org/conformance/trust-list/{status}",
                            }
                        }
                    ]
                }
            ],
        }
    }
    path.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def lists(tmp_path_factory, dev_ca, second_ca):
    """dev_ca stands in for the official list, second_ca for the interim (legacy) list."""
    folder = tmp_path_factory.mktemp("lists")
    (folder / "C2PA-TRUST-LIST.pem").write_text(dev_ca.root_cert.read_text())
    return Settings(trust_list=str(folder), legacy_list=str(second_ca.root_cert))


def test_each_list_grants_its_own_state(lists, photo_jpeg, dev_ca, second_ca, third_ca):
    official = provenance.read_credentials(_signed(photo_jpeg, dev_ca), "image/jpeg", lists)
    assert (official.state, official.trust_list) == ("trusted", "official")
    assert official.trusted_by == "C2PA Trust List"
    assert "trusted signer (C2PA Trust List)" in official.state_text

    legacy = provenance.read_credentials(_signed(photo_jpeg, second_ca), "image/jpeg", lists)
    assert (legacy.state, legacy.trust_list) == ("trusted_legacy", "legacy")
    assert "legacy interim trust list" in legacy.state_text

    unknown = provenance.read_credentials(_signed(photo_jpeg, third_ca), "image/jpeg", lists)
    assert (unknown.state, unknown.trust_list) == ("valid", None)
    assert unknown.state_text.startswith("valid signature, untrusted signer")


def test_operator_anchors_are_named_as_the_granting_list(photo_jpeg, dev_ca, third_ca):
    settings = Settings(operator_anchors=(str(third_ca.root_cert),))
    report = provenance.read_credentials(_signed(photo_jpeg, third_ca), "image/jpeg", settings)
    assert (report.state, report.trust_list) == ("trusted", "operator")
    assert report.trusted_by.startswith("operator anchors")
    # the same file without the anchors: a fine signature by an unknown signer
    plain = provenance.read_credentials(_signed(photo_jpeg, third_ca), "image/jpeg", Settings())
    assert plain.state == "valid"


def test_an_etsi_json_list_loads_with_its_dates(tmp_path, dev_ca, photo_jpeg):
    _etsi(tmp_path / "C2PA-TRUST-LIST.json", dev_ca.root_cert.read_bytes(), "2099-01-01T00:00:00Z")
    settings = Settings(trust_list=str(tmp_path), legacy_list="")
    (official,) = settings.lists()
    assert (official.format, official.name, official.source) == (
        "etsi-json",
        "Test C2PA Trust List",
        "test operator",
    )
    assert official.next_update == "2099-01-01T00:00:00Z" and not official.expired()
    report = provenance.read_credentials(_signed(photo_jpeg, dev_ca), "image/jpeg", settings)
    assert report.state == "trusted"


def test_withdrawn_entries_and_bad_json_are_refused(tmp_path, dev_ca):
    path = tmp_path / "C2PA-TRUST-LIST.json"
    _etsi(path, dev_ca.root_cert.read_bytes(), "2099-01-01T00:00:00Z", status="withdrawn")
    with pytest.raises(provenance.TrustConfigError, match="no trusted certificate"):
        Settings(trust_list=str(path)).lists()
    path.write_text('{"not": "a list"}')
    with pytest.raises(provenance.TrustConfigError, match="ETSI TS 119 602"):
        Settings(trust_list=str(path)).lists()


def test_a_list_past_its_next_update_makes_readiness_degraded(tmp_path, dev_ca):
    _etsi(tmp_path / "C2PA-TRUST-LIST.json", dev_ca.root_cert.read_bytes(), "2026-02-01T00:00:00Z")
    stale = types.SimpleNamespace(credentials=Settings(trust_list=str(tmp_path)))
    state = trust_lists_state(stale)
    assert state.startswith("degraded") and "Test C2PA Trust List" in state
    assert trust_lists_state(types.SimpleNamespace(credentials=Settings())) == "ok"


def test_shipped_lists_carry_source_and_next_update():
    rows = {t.kind: t.summary() for t in Settings().lists()}
    assert rows["official"]["certificates"] == 30 and rows["tsa"]["certificates"] == 22
    for kind in ("official", "tsa"):
        assert "CC BY 4.0" in rows[kind]["source"]
        assert rows[kind]["next_update"].startswith("2027-08-05")


def test_the_tampered_sample_says_which_check_failed(fixtures_dir):
    report = provenance.read_credentials((fixtures_dir / "XCA.jpg").read_bytes())
    assert report.state == "invalid"
    assert "changed after signing" in report.state_text
    assert any("data hash mismatch" in words for words in report.failure_text)


def test_the_cawg_fixture_shows_its_identity_and_why_it_is_untrusted(fixtures_dir):
    report = provenance.read_credentials((fixtures_dir / "C_with_CAWG_data.jpg").read_bytes())
    (identity,) = report.identities
    assert identity.sig_type == "cawg.x509.cose"
    assert identity.names == ("C2PA Signer",) and identity.verified_by == "C2PA Test Signing Cert"
    assert identity.state == "untrusted" and "cawg.x509.credential.untrusted" in identity.reason
    assert "cawg.ai_generative_training: notAllowed" in report.training_mining


def test_the_chain_shows_each_manifest(fixtures_dir):
    report = provenance.read_credentials((fixtures_dir / "ocsp.jpg").read_bytes())
    active, firefly = report.chain
    assert active.relationship is None and active.time and "Adobe" in active.signer
    assert firefly.relationship == "componentOf" and firefly.depth == 1
    assert "c2pa.created (trainedAlgorithmicMedia, Adobe Firefly)" in firefly.actions
    assert firefly.ai and firefly.state == "valid"
    assert report.ai_tool == "Adobe Firefly" and report.rubric_class == "partlyGenAICreation"
    row = report.to_dict()["chain"][0]
    assert {"label", "signer", "time", "claim_generator", "actions", "ai", "state"} <= set(row)


def test_signed_at_is_filled_without_a_time_stamp(photo_jpeg, dev_ca):
    report = provenance.read_credentials(_signed(photo_jpeg, dev_ca), "image/jpeg")
    assert report.signed_at and report.chain[0].time == report.signed_at


def test_identity_trust_has_its_own_settings(dev_ca):
    env = {
        "AIGC_IDENTITY_ANCHORS": str(dev_ca.root_cert),
        "AIGC_IDENTITY_ISSUERS": "did:web:ica.example, did:web:other.example",
    }
    settings = Settings.from_env(env)
    assert settings.identity_issuers == ("did:web:ica.example", "did:web:other.example")
    cawg = provenance.trust.sdk_settings(settings)["cawg_trust"]
    assert cawg["trust_anchors"].count("BEGIN CERTIFICATE") == 1
    assert cawg["trusted_ica_issuers"] == ["did:web:ica.example", "did:web:other.example"]
    # identity anchors never widen the claim signers' anchors
    assert settings.anchors_pem() == Settings().anchors_pem()


def test_the_shipped_interim_list_grants_legacy_trust_and_the_setting_turns_it_off(
    fixtures_dir, monkeypatch
):
    from labeler.config import EngineConfig

    # Photoshop generative fill, signed by Adobe: its root is on the interim list only
    data = (fixtures_dir / "ocsp.jpg").read_bytes()
    shipped = provenance.read_credentials(data, "image/jpeg", Settings())
    assert shipped.state == "trusted_legacy" and shipped.trust_list == "legacy"
    # the labeler's settings carry the variable through (environment or aigc.toml)
    monkeypatch.setenv("AIGC_CONFIG", "none")
    monkeypatch.setenv("AIGC_TRUST_LIST_LEGACY", "none")
    off = Settings.from_env(EngineConfig.from_env().trust_environ())
    assert [t.kind for t in off.lists()].count("legacy") == 0
    assert provenance.read_credentials(data, "image/jpeg", off).state == "valid"
