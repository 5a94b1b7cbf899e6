"""`aigc` as a user runs it: a real subprocess of this interpreter, output captured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_aigc(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )
