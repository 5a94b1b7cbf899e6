"""Trust settings: shipped lists, operator anchors, EKUs, replacement lists, the context cache."""

from __future__ import annotations

import pytest

import provenance
from provenance import Settings, sign, trust
from provenance.devca import C2PA_CLAIM_SIGNING


def test_shipped_lists_are_loaded_with_their_attribution():
    pem = Settings().anchors_pem()
    # 30 claim-signing CAs + 22 TSAs as copied from c2pa-org/conformance-public,
    # + the 18 roots of the interim (legacy) list from contentauth/verify-site
    assert pem.count("BEGIN CERTIFICATE") == 70
    assert Settings(legacy_list="").anchors_pem().count("BEGIN CERTIFICATE") == 52
    readme = (trust.DATA_DIR / "README.md").read_text()
    assert "CC BY 4.0" in readme and "conformance-public" in readme
    assert "verify-site" in readme and "Apache" in readme
    assert (trust.DATA_DIR / "LICENSE-CC-BY-4.0.txt").is_file()
    assert (trust.DATA_DIR / "LICENSE-APACHE-2.0-verify-site.txt").is_file()


def test_operator_anchors_from_a_file_or_a_folder(dev_ca, tmp_path):
    root = dev_ca.root_cert.read_text()
    folder = tmp_path / "anchors"
    folder.mkdir()
    (folder / "a.pem").write_text(root)
    (folder / "notes.txt").write_text("ignored: not a .pem")
    for anchors in ((str(dev_ca.root_cert),), (str(folder),)):
        assert Settings(operator_anchors=anchors).anchors_pem().count("BEGIN CERTIFICATE") == 71


def test_anchors_and_list_come_from_the_environment(dev_ca, tmp_path):
    other = tmp_path / "more.pem"
    other.write_text(dev_ca.root_cert.read_text())
    env = {
        "AIGC_TRUST_ANCHORS": f"{dev_ca.root_cert}:{other}",
        "AIGC_TRUST_LIST": str(tmp_path),
    }
    settings = Settings.from_env(env)
    assert settings.operator_anchors == (str(dev_ca.root_cert), str(other))
    assert settings.trust_list == str(tmp_path)


def test_a_private_key_in_an_anchor_file_is_never_passed_on(dev_ca, tmp_path):
    mixed = tmp_path / "mixed.pem"
    key = (dev_ca.folder / "dev-signer.DEV-ONLY-KEY.pem").read_text()
    mixed.write_text(key + dev_ca.root_cert.read_text())
    pem = Settings(operator_anchors=(str(mixed),)).anchors_pem()
    assert "PRIVATE KEY" not in pem


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: d / "missing.pem", "does not exist"),
        (lambda d: (d / "empty.pem").write_text("hello") and d / "empty.pem", "no PEM certificate"),
        (lambda d: d, "holds no .pem"),
    ],
)
def test_bad_anchor_config_is_a_typed_error(tmp_path, make, words):
    path = make(tmp_path)
    with pytest.raises(provenance.TrustConfigError, match=words):
        Settings(operator_anchors=(str(path),)).anchors_pem()


def test_a_newer_trust_list_replaces_the_shipped_one(dev_ca, signer, photo_jpeg, tmp_path):
    signed = sign(photo_jpeg, "image/jpeg", signer, digital_source_type="digitalCapture")
    # a "newer copy" of the list that happens to include our dev root
    (tmp_path / "C2PA-TRUST-LIST.pem").write_text(dev_ca.root_cert.read_text())
    replaced = Settings(trust_list=str(tmp_path))
    # the official lists are replaced; the interim list stays (its own setting)
    assert replaced.anchors_pem().count("BEGIN CERTIFICATE") == 1 + 18
    assert provenance.read_credentials(signed, "image/jpeg", replaced).state == "trusted"
    assert provenance.read_credentials(signed, "image/jpeg", Settings()).state == "valid"
    with pytest.raises(provenance.TrustConfigError):
        Settings(trust_list=str(tmp_path / "nothing-here")).anchors_pem()


def test_signers_with_only_the_c2pa_claim_signing_eku_need_trust_config(photo_jpeg, tmp_path):
    ca = provenance.create_dev_ca(tmp_path, name="claim-only", eku_oids=(C2PA_CLAIM_SIGNING,))
    signer = provenance.SignerCredentials.from_dev_ca(ca)
    signed = sign(photo_jpeg, "image/jpeg", signer, digital_source_type="digitalCapture")
    ok = Settings(operator_anchors=(str(ca.root_cert),))
    assert provenance.read_credentials(signed, "image/jpeg", ok).state == "trusted"
    # the SDK's implicit default (emailProtection only) refuses this conforming signer
    narrow = Settings(operator_anchors=(str(ca.root_cert),), ekus=("1.3.6.1.5.5.7.3.4",))
    report = provenance.read_credentials(signed, "image/jpeg", narrow)
    assert report.state == "invalid"


def test_the_context_is_built_once_per_settings(dev_ca):
    settings = Settings(operator_anchors=(str(dev_ca.root_cert),))
    assert trust.context_for(settings) is trust.context_for(Settings(**settings.__dict__))
    assert trust.context_for(settings) is not trust.context_for(Settings())


def test_default_ekus_cover_the_sdk_store_cfg():
    for oid in ("1.3.6.1.5.5.7.3.36", "1.3.6.1.4.1.62558.2.1", "1.3.6.1.5.5.7.3.4"):
        assert oid in provenance.DEFAULT_EKUS
    value = trust.sdk_settings(Settings())
    assert value["trust"]["trust_config"].split("\n") == list(provenance.DEFAULT_EKUS)


def test_dev_ca_files_are_named_as_dev_keys_and_private(dev_ca):
    keys = sorted(p.name for p in dev_ca.folder.iterdir() if "KEY" in p.name)
    assert keys == ["dev-root-ca.DEV-ONLY-KEY.pem", "dev-signer.DEV-ONLY-KEY.pem"]
    for name in keys:
        assert (dev_ca.folder / name).stat().st_mode & 0o077 == 0
    with pytest.raises(FileExistsError):
        provenance.create_dev_ca(dev_ca.folder)
