"""`aigc dev-ca create`, `aigc credentials sign` and `aigc credentials read`, in-process."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def test_dev_ca_sign_and_read_round_trip(tmp_path, photo_jpeg, monkeypatch):
    ca = tmp_path / "ca"
    made = runner.invoke(app, ["dev-ca", "create", str(ca)])
    assert made.exit_code == 0, made.output
    assert "DEV ONLY" in made.output
    again = runner.invoke(app, ["dev-ca", "create", str(ca)])
    assert again.exit_code == 2 and "--force" in again.output

    source, dest = tmp_path / "in.jpg", tmp_path / "out.jpg"
    source.write_bytes(photo_jpeg)
    signed = runner.invoke(
        app, ["credentials", "sign", str(source), str(dest), "--dev-ca", str(ca)]
    )
    assert signed.exit_code == 0, signed.output

    monkeypatch.setenv("AIGC_TRUST_ANCHORS", str(ca / "dev-root-ca.cert.pem"))
    read = runner.invoke(app, ["credentials", "read", "--json", str(dest), str(source)])
    assert read.exit_code == 0, read.output
    rows = [json.loads(line) for line in read.output.splitlines()]
    assert (rows[0]["state"], rows[0]["ai_class"]) == ("trusted", "ai_generated")
    assert (rows[1]["present"], rows[1]["status"]) == (False, "absent")


def test_read_reports_bad_files_per_file_and_exits_1(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"definitely not media")
    result = runner.invoke(app, ["credentials", "read", str(junk), str(tmp_path / "missing.jpg")])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "junk.bin: error: not a supported image or video container" in lines[0]
    assert "missing.jpg: error: No such file or directory" in lines[1]


def test_read_tree_detailed_and_trust_show(fixtures_dir):
    from typer.testing import CliRunner

    from service.cli import app

    runner = CliRunner()
    tree = runner.invoke(app, ["credentials", "read", "--tree", str(fixtures_dir / "ocsp.jpg")])
    assert tree.exit_code == 0, tree.output
    assert "componentOf: ocsp.jpg" in tree.output and "untrusted signer" in tree.output
    assert "action: c2pa.created (trainedAlgorithmicMedia, Adobe Firefly)" in tree.output
    bad = runner.invoke(app, ["credentials", "read", str(fixtures_dir / "XCA.jpg")])
    assert "invalid: the file's bytes changed after signing" in bad.output
    detailed = runner.invoke(
        app, ["credentials", "read", "--detailed", str(fixtures_dir / "C.jpg")]
    )
    assert detailed.exit_code == 0 and json.loads(detailed.output)["active_manifest"]
    crjson = runner.invoke(app, ["credentials", "read", "--crjson", str(fixtures_dir / "C.jpg")])
    assert crjson.exit_code == 0 and "@context" in json.loads(crjson.output)
    remote = runner.invoke(
        app, ["credentials", "read", "--detailed", str(fixtures_dir / "cloud.jpg")]
    )
    assert remote.exit_code == 1 and "remote" in remote.output and "not fetched" in remote.output
    shown = runner.invoke(app, ["trust", "show", "--json"])
    assert shown.exit_code == 0
    kinds = [row["kind"] for row in json.loads(shown.output)["lists"]]
    assert kinds[:2] == ["official", "tsa"]
