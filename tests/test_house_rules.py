"""The size rules of ARCHITECTURE.md ("House rules"), checked over the shipped code.

Small modules named for what they hold and functions that fit on a screen:
above these sizes a module is doing two jobs and a function hides its steps.
Tests, benchmarks and migrations (generated, append-only) are exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("provenance", "watermark", "matching", "labeler", "service", "scripts")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _sources() -> list[Path]:
    files = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                files.append(path)
    return files


SOURCES = _sources()


def test_the_rules_see_the_code():
    assert len(SOURCES) > 100
    assert ROOT / "labeler" / "engine.py" in SOURCES


def _violations(path: Path, root: Path = ROOT) -> list[str]:
    text = path.read_text(encoding="utf-8")
    name = str(path.relative_to(root))
    found = []
    lines = text.count("\n") + 1
    if lines > MAX_MODULE_LINES:
        found.append(f"{name}: {lines} lines")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{name}:{node.lineno} {node.name}() {length} lines")
    return found


def test_no_module_or_function_over_the_limits():
    found = [v for path in SOURCES for v in _violations(path)]
    assert not found, (
        f"over {MAX_MODULE_LINES} lines a module, or {MAX_FUNCTION_LINES} a function: {found}"
    )


def test_the_check_catches_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    path = tmp_path / "probe.py"
    path.write_text(f"def long():\n{body}\n", encoding="utf-8")
    assert _violations(path, tmp_path) == [f"probe.py:1 long() {MAX_FUNCTION_LINES + 1} lines"]
