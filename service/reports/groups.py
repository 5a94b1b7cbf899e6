"""Near-duplicate groups of a batch: files whose PDQ hashes lie within the match radius.

The same radius as a bank match (`matching.DEFAULT_RADIUS`), so "these files
are one picture" means what a bank match means. Exact duplicates are folded
first (a campaign re-posts the same bytes), then the distinct codes go into
one `matching.HammingIndex` and are searched against it in chunks; every pair
found is merged in a union-find. Groups are connected components: A~B and
B~C put A, B and C together even when A and C are further apart, which is
what an analyst following one fake through its edits wants.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching import DEFAULT_RADIUS, HammingIndex

_CHUNK = 1024  # queries per search call: the index splits its answer per query in O(chunk^2)


def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        parent[i], i = root, parent[i]
    return root


def _codes(pdqs: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(distinct codes as (K, 32) bytes, code number of every row or -1)."""
    number: dict[str, int] = {}
    of_row = np.full(len(pdqs), -1, np.int64)
    for i, pdq in enumerate(pdqs):
        if not pdq or len(pdq) != 64:
            continue
        of_row[i] = number.setdefault(pdq.lower(), len(number))
    raw = bytes.fromhex("".join(number)) if number else b""
    return np.frombuffer(raw, np.uint8).reshape(-1, 32), of_row


def near_duplicate_groups(
    pdqs: Sequence[str | None], radius: int = DEFAULT_RADIUS
) -> list[list[int]]:
    """Groups of row numbers (two or more rows each), largest first.

    `pdqs` holds one 64-hex-digit PDQ per row, or None for rows without one
    (errors, videos without a first-frame hash); those are in no group.
    """
    codes, of_row = _codes(pdqs)
    k = len(codes)
    parent = np.arange(k, dtype=np.int64)
    if k > 1:
        index = HammingIndex(codes)
        for start in range(0, k, _CHUNK):
            found = index.search(codes[start : start + _CHUNK], radius)
            for q, (rows, _dist) in enumerate(found):
                a = start + q
                for b in rows.tolist():
                    if b != a:
                        ra, rb = _find(parent, a), _find(parent, int(b))
                        if ra != rb:
                            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, list[int]] = {}
    for row, code in enumerate(of_row.tolist()):
        if code >= 0:
            members.setdefault(_find(parent, code), []).append(row)
    groups = [rows for rows in members.values() if len(rows) > 1]
    groups.sort(key=lambda rows: (-len(rows), rows[0]))
    return groups


__all__ = ["near_duplicate_groups"]
