"""One JSON object per file, in path order: the decision, its reasons and every signal."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from .rows import public_row


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    for row in rows:
        out.write(json.dumps(public_row(row), default=str, ensure_ascii=False) + "\n")
