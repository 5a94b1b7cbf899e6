"""`aigc policy explain | test | validate | facts`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labeler.policy import DEFAULT_CASES, DEFAULT_POLICY
from service.cli import app

AIGC = Path(sys.executable).with_name("aigc")


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, ["policy", *map(str, args)])

    return invoke


def _write(path: Path, data) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_explain_shows_decision_reasons_and_creator_answer(run, tmp_path):
    signals = _write(
        tmp_path / "s.json",
        {"match": {"matched": True, "entry_id": "bank-5", "category": "misleading_deepfake"}},
    )
    context = _write(tmp_path / "c.json", {"caption": "stembureau", "creator_disclosed_ai": False})
    result = run("explain", "--signals", signals, "--context", context)
    assert result.exit_code == 0, result.output
    assert "action        escalate" in result.output
    assert "distribution  reduced" in result.output
    assert "bank.match.misleading_deepfake [rule bank_escalate: escalate]" in result.output
    assert "sensitive_topic.elections" in result.output
    assert 'match.entry_id: "bank-5"' in result.output  # the analyst sees the entry
    creator = result.output.split("creator sees", 1)[1]
    assert "A person will review" in creator and "bank-5" not in creator


def test_explain_json_and_scan_rows(run, tmp_path):
    row = {
        "path": "x.jpg",
        "action": "none",
        "signals": {"credentials": {"present": True, "state": "valid", "ai_class": "ai_generated"}},
    }
    result = run("explain", "--signals", _write(tmp_path / "row.json", row), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["decision"]["action"] == "label"
    assert out["decision"]["reasons"][0]["code"] == "c2pa.ai_generated"
    assert out["creator"]["label_text"] == "AI-generated"


def test_explain_with_another_policy(run, tmp_path):
    text = (
        DEFAULT_POLICY.read_text(encoding="utf-8")
        .replace("known_aigc: label", "known_aigc: escalate")
        .replace('version: "2026.12-3"', 'version: "strict-1"')
        .replace("builtin:topics", str(DEFAULT_POLICY.parent / "topics"))
    )
    policy = _write(tmp_path / "strict.yaml", text)
    signals = _write(tmp_path / "s.json", {"match": {"matched": True, "category": "known_aigc"}})
    result = run("explain", "--signals", signals, "--policy", policy, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["decision"]["action"] == "escalate"
    assert json.loads(result.output)["decision"]["policy_version"] == "strict-1"


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", "not valid JSON"),
        ('{"colour": 1}', "unknown field"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_explain_bad_signals_is_a_usage_error(run, tmp_path, content, words):
    result = run("explain", "--signals", _write(tmp_path / "s.json", content))
    assert result.exit_code == 2
    assert words in result.output


def test_explain_missing_files_and_bad_policy(run, tmp_path):
    signals = _write(tmp_path / "s.json", {})
    assert run("explain", "--signals", tmp_path / "none.json").exit_code == 2
    bad = _write(tmp_path / "bad.yaml", 'version: "x"\nrules: []\n')
    result = run("explain", "--signals", signals, "--policy", bad)
    assert (
        result.exit_code == 2
        and "bad.yaml:2: rules: rules must be a non-empty list" in result.output
    )


def test_policy_test_runs_the_shipped_table(run):
    result = run("test")
    assert result.exit_code == 0, result.output
    assert "PASS  match against a misleading deepfake escalates" in result.output
    assert "0 failed (policy 2026.12-3" in result.output
    assert "no case fires" not in result.output


def test_policy_test_reports_failures_with_a_diff_and_exit_1(tmp_path):
    cases = _write(
        tmp_path / "cases.yaml",
        """cases:
  - name: right
    signals: {credentials: {present: true, state: valid, ai_class: ai_generated}}
    expect: {action: label}
  - name: wrong on purpose
    signals: {credentials: {present: true, state: valid, ai_class: ai_generated}}
    context: {creator_disclosed_ai: false}
    expect:
      action: escalate
      label: ai_edited
      reasons: [c2pa.ai_generated, watermark.detected]
""",
    )
    # a real subprocess: the console script, its exit code and its output
    proc = subprocess.run(
        [str(AIGC), "policy", "test", str(cases), "-q"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "PASS  right" not in out  # -q prints failures only
    assert "FAIL  wrong on purpose (line 5)" in out
    assert "action: expected 'escalate', got 'label'" in out
    assert "label: expected 'ai_edited', got 'ai_generated'" in out
    assert "- watermark.detected  (expected, missing)" in out
    assert "+ disclosure.contradicted  (unexpected)" in out
    assert "1 passed, 1 failed" in out
    assert "note: no case fires rule(s) bank_remove, bank_escalate, sensitive_topic," in out


def test_policy_test_bad_case_table(run, tmp_path):
    cases = _write(tmp_path / "c.yaml", "cases:\n  - name: a\n    expect: {acton: label}\n")
    result = run("test", cases)
    assert result.exit_code == 2
    assert "c.yaml:3: cases[0].expect.acton: unknown expectation 'acton'" in result.output
    bad_signals = _write(
        tmp_path / "d.yaml",
        "cases:\n  - name: a\n    signals: {wm: {}}\n    expect: {action: none}\n",
    )
    result = run("test", bad_signals)
    assert (
        result.exit_code == 2 and "d.yaml:3" in result.output and "unknown field" in result.output
    )


def test_validate_ok_and_invalid(run, tmp_path):
    result = run("validate", DEFAULT_POLICY)
    assert result.exit_code == 0, result.output
    assert "policy 2026.12-3" in result.output and "elections (" in result.output
    bad = DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        "then: {action: label, label: ai_edited", "then: {action: labels, label: ai_edited", 1
    )
    path = _write(tmp_path / "bad.yaml", bad)
    line = bad.splitlines().index(next(x for x in bad.splitlines() if "action: labels" in x)) + 1
    result = run("validate", path)
    assert result.exit_code == 1
    assert f"bad.yaml:{line}: rules[6].then.action: action 'labels' is not one of" in result.output


def test_facts_lists_the_vocabulary(run):
    result = run("facts")
    assert result.exit_code == 0
    assert "match.category_action" in result.output and "topics" in result.output


def test_shipped_case_table_is_the_default(run):
    assert DEFAULT_CASES.exists()
    assert run("test", DEFAULT_CASES, "--policy", DEFAULT_POLICY).exit_code == 0


def _scan(path: Path, env_policy: str | None, tmp_path: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "AIGC_DATABASE_URL": f"sqlite:///{tmp_path / 'scan.db'}"}
    env.pop("AIGC_POLICY_FILE", None)
    if env_policy:
        env["AIGC_POLICY_FILE"] = env_policy
    return subprocess.run(
        [str(AIGC), "scan", "--json", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_scan_uses_the_policy_named_by_the_environment(tmp_path):
    sample = Path(__file__).resolve().parents[2] / "samples" / "ai_generated_credentials.jpg"
    if not sample.exists():
        pytest.skip("samples/ not present")
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        'version: "2026.12-3"', 'version: "site-7"'
    )
    # this site escalates everything its credentials call AI-generated
    text = text.replace(
        "then: {action: label, label: ai_generated, label_source: credentials}",
        "then: {action: escalate, label: ai_generated, label_source: credentials}",
    )
    policy = _write(tmp_path / "site.yaml", text)
    proc = _scan(sample, str(policy), tmp_path)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout.splitlines()[0])
    assert (row["action"], row["policy_version"]) == ("escalate", "site-7")

    broken = _write(tmp_path / "broken.yaml", text.replace("rules:", "rulez:"))
    proc = _scan(sample, str(broken), tmp_path)
    assert proc.returncode == 2
    assert "broken.yaml" in proc.stderr and "unknown key 'rulez'" in proc.stderr
